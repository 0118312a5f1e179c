package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

// CheckIssuers fetches each profile's discovery document and checks that
// its issuer matches the profile and that the endpoints the profile's flow
// needs exist; each profile that passes gets a line on w.
func CheckIssuers(ctx context.Context, cfg *config.File, hc *http.Client, clk clock.Clock, w io.Writer) error {
	var problems []string
	for _, name := range cfg.ProfileNames() {
		p := cfg.Profiles[name]
		if p.Issuer == "" {
			continue
		}
		d := &flow.Discovery{Issuer: p.Issuer, HTTP: hc, Clock: clk}
		m, err := d.Metadata(ctx)
		if err != nil {
			problems = append(problems, fmt.Sprintf("profile %s: %v", name, err))
			continue
		}
		var missing []string
		need := map[string]string{"token_endpoint": m.TokenURL, "jwks_uri": m.JWKSURL}
		switch p.Flow {
		case "device":
			need["device_authorization_endpoint"] = m.DeviceAuthURL
		case "browser":
			need["authorization_endpoint"] = m.AuthURL
		case "auto":
			if m.DeviceAuthURL == "" && m.AuthURL == "" {
				missing = append(missing, "device_authorization_endpoint or authorization_endpoint")
			}
		}
		if flow.IsWorkload(p.Flow) {
			need = map[string]string{"jwks_uri": m.JWKSURL}
		}
		for k, v := range need {
			if v == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("profile %s: the issuer's discovery document lacks %s, which flow %s needs", name, strings.Join(missing, ", "), p.Flow))
			continue
		}
		fmt.Fprintf(w, "profile %s: issuer %s matches its discovery document; endpoints for flow %s present\n", name, p.Issuer, p.Flow)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
