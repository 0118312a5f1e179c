package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// gcpMetadataHost is the metadata server's link-local address; GCE_METADATA_HOST
// (host[:port]) overrides it, as in cloud.google.com/go/compute/metadata.
const gcpMetadataHost = "169.254.169.254"

// gcpMetadataTimeout is the default time one request may take: the server is
// on the link, so a slow answer means there is none.
const gcpMetadataTimeout = 3 * time.Second

// gcpMetadataSource asks the GCE/GKE metadata server for an identity token of
// the default service account (specs.md §4). format=full adds the
// google.compute_engine claims.
type gcpMetadataSource struct {
	o WorkloadOptions
}

// Name returns "gcp-metadata".
func (s *gcpMetadataSource) Name() string { return SourceGCPMetadata }

// Interactive returns false: no human is needed.
func (s *gcpMetadataSource) Interactive() bool { return false }

// Token fetches an identity token for the configured audience.
func (s *gcpMetadataSource) Token(ctx context.Context) (*Token, error) {
	host := gcpMetadataHost
	where := "metadata server " + host
	if v, ok := s.o.lookup(envGCEMetadataHost); ok {
		host = v
		where = fmt.Sprintf("metadata server %s from %s", v, envGCEMetadataHost)
	}
	fail := func(c WorkloadCause, err error) (*Token, error) {
		return nil, workloadFail(SourceGCPMetadata, where, "", c, err)
	}
	timeout := s.o.Timeout
	if timeout <= 0 {
		timeout = gcpMetadataTimeout
	}
	u := url.URL{
		Scheme:   "http",
		Host:     host,
		Path:     "/computeMetadata/v1/instance/service-accounts/default/identity",
		RawQuery: url.Values{"audience": {s.o.Audience}, "format": {"full"}}.Encode(),
	}
	header := http.Header{"Metadata-Flavor": {"Google"}}
	status, body, err := workloadGet(ctx, s.o.HTTP, timeout, u.String(), header)
	if err != nil {
		if ctx.Err() != nil {
			return fail(CauseFailed, ctx.Err())
		}
		return fail(CauseUnreachable, err)
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotFound:
		return fail(CauseNoIdentity, errors.New("the server answered 404 Not Found: no service account is attached"))
	default:
		return fail(CauseFailed, fmt.Errorf("the server answered %d %s", status, http.StatusText(status)))
	}
	tok, err := workloadToken(SourceGCPMetadata, string(body), s.o)
	if err != nil {
		return fail(CauseFailed, err)
	}
	return tok, nil
}
