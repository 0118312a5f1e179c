package credentials

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/awsconfig"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
	"github.com/dagster-oidc/dagster-oidc/internal/shellquote"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

// AWSRequest says which AWS credentials a caller wants.
type AWSRequest struct {
	// Role is the role ARN asked for; "" = the first the policy allows.
	Role string
	// Run is the Dagster run the credentials are for.
	Run policy.Run
}

// AWSResult is a set of AWS credentials and how they were obtained.
type AWSResult = Cached[cache.AWSEntry]

// awsDocument is the profile's cached AWS credentials document.
func awsDocument(a *config.AWS) exchange[cache.AWSEntry] {
	return exchange[cache.AWSEntry]{
		kind: cache.KindAWS, what: "AWS credentials", margin: a.RefreshMargin.D(),
		expiry: func(e cache.AWSEntry) time.Time { return e.Expiration },
		short:  "warning: STS issued credentials valid for %s, less than aws.refresh_margin %s; they will be exchanged again on every call",
	}
}

// awsSection returns the profile's aws section, or a usage error.
func (s *Service) awsSection() (*config.AWS, error) {
	a := s.Profile.AWS
	if a == nil {
		return nil, apperr.Usage(fmt.Errorf("profile %q has no aws section", s.Profile.Name), "add aws: {region: ..., roles: [...]} to the profile (see docs/aws.md)")
	}
	if err := awssts.ValidateDuration(a.Duration.D(), a.RefreshMargin.D()); err != nil {
		return nil, apperr.Usage(fmt.Errorf("profile %q: %w", s.Profile.Name, err), "")
	}
	return a, nil
}

// CheckAWS reports whether the profile can give AWS credentials at all.
func (s *Service) CheckAWS() error {
	_, err := s.awsSection()
	return err
}

// awsSlot is the entry of q in the profile's credentials document: per
// requested role, Dagster run and job, and the request settings, so that
// neither another run's session name nor an edited session policy is served
// from the cache.
func awsSlot(a *config.AWS, q AWSRequest) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{a.Policy, strings.Join(a.PolicyARNs, ","), a.SessionName, a.Duration.D().String(), a.Region, a.STSEndpoint}, "\x00")))
	return strings.Join([]string{q.Role, q.Run.Job, q.Run.ID, hex.EncodeToString(sum[:8])}, "\x00")
}

// AWSCredentials returns credentials for q: cached while they have more
// than aws.refresh_margin left, else from AssumeRoleWithWebIdentity with the
// role the policy chooses. A warm cache costs one store read.
func (s *Service) AWSCredentials(ctx context.Context, q AWSRequest) (*AWSResult, error) {
	a, err := s.awsSection()
	if err != nil {
		return nil, err
	}
	return cachedExchange(ctx, s, awsDocument(a), awsSlot(a, q), func(ctx context.Context, tok *session.Result) (cache.AWSEntry, error) {
		return s.assumeRole(ctx, a, q, tok)
	})
}

// assumeRole decides the role and exchanges tok for it; a token STS refuses
// as invalid is renewed once.
func (s *Service) assumeRole(ctx context.Context, a *config.AWS, q AWSRequest, tok *session.Result) (cache.AWSEntry, error) {
	claims := tok.Claims
	d, err := s.decide(awsRules(s.Profile), claims, q.Role, q.Run, "role")
	if err != nil {
		return cache.AWSEntry{}, err
	}
	name := s.sessionName(claims, q.Run)
	current := tok.Entry.IDToken
	creds, err := s.AWS.AssumeRoleWithWebIdentity(ctx, awssts.Request{
		RoleARN: d.Target, SessionName: name, Duration: a.Duration.D(), Policy: a.Policy, PolicyARNs: a.PolicyARNs,
	}, func(ctx context.Context, fresh bool) (string, error) {
		if !fresh {
			return current, nil
		}
		res, err := s.Tokens.Renew(ctx, current)
		if err != nil {
			return "", err
		}
		current = res.Entry.IDToken
		return current, nil
	})
	var expiry time.Time
	if err == nil {
		expiry = creds.Expiration
	}
	if err := s.exchanged(Record{Claims: claims, Role: d.Target, SessionName: name, Run: q.Run}, tok.Entry.Source, expiry, err); err != nil {
		return cache.AWSEntry{}, err
	}
	return cache.AWSEntry{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
		Expiration: creds.Expiration, RoleARN: d.Target, SessionName: name,
	}, nil
}

// AWSRole decides the role and session name by policy alone, for SDKs that
// call STS themselves (exec --aws-mode token-file).
func (s *Service) AWSRole(ctx context.Context, q AWSRequest) (role, sessionName string, err error) {
	if _, err := s.awsSection(); err != nil {
		return "", "", err
	}
	tok, err := s.Tokens.Token(ctx)
	if err != nil {
		return "", "", err
	}
	d, err := s.decide(awsRules(s.Profile), tok.Claims, q.Role, q.Run, "role")
	if err != nil {
		return "", "", err
	}
	return d.Target, s.sessionName(tok.Claims, q.Run), nil
}

// sessionName expands the profile's session_name template for a run.
func (s *Service) sessionName(claims *flow.Claims, run policy.Run) string {
	vars := map[string]string{
		awssts.VarRunID: run.ID, awssts.VarJob: run.Job, awssts.VarEmail: claims.Email,
		awssts.VarSubject: claims.Subject, awssts.VarProfile: s.Profile.Name,
	}
	vars[awssts.VarUsername], _ = claims.All["preferred_username"].(string)
	name := awssts.SessionName(s.Profile.AWS.SessionName, vars)
	if name != run.ID { // a run id names no one
		s.Debug.Personal(name)
	}
	return name
}

// credentialHook is the program credential_process should start: the warm
// front (internal/warm) when it is installed next to exe, else exe.
func (s *Service) credentialHook(exe string) string {
	front := filepath.Join(filepath.Dir(exe), warm.FrontName+filepath.Ext(exe))
	if fi, err := s.w.deps.Stat(front); err == nil && fi.Mode().IsRegular() {
		return front
	}
	return exe
}

// AWSConfigureRequest says which AWS config profile to write.
type AWSConfigureRequest struct {
	// Executable and ConfigPath are this binary and the profiles file, as
	// the written credential_process command names them.
	Executable, ConfigPath string
	// Role pins --role in the command.
	Role string
	// AWSProfile is the AWS profile's name ("" = the profile's); File the
	// AWS config file ("" = $AWS_CONFIG_FILE, else ~/.aws/config).
	AWSProfile, File string
}

// AWSConfigured says which AWS profile was written where.
type AWSConfigured struct {
	Profile, Path string
	// Changed is false when the file already said the same.
	Changed bool
}

// ConfigureAWS writes (or updates) the AWS config profile whose
// credential_process is this binary's credential-process for the profile,
// keeping every other line.
func (s *Service) ConfigureAWS(q AWSConfigureRequest) (*AWSConfigured, error) {
	a, err := s.awsSection()
	if err != nil {
		return nil, err
	}
	p := s.Profile
	args := []string{shellquote.Arg(s.credentialHook(q.Executable)), "aws", "credential-process", "--profile", shellquote.Arg(p.Name), "--config", shellquote.Arg(q.ConfigPath)}
	if q.Role != "" {
		args = append(args, "--role", shellquote.Arg(q.Role))
	}
	settings := map[string]string{"credential_process": strings.Join(args, " ")}
	if a.Region != "" {
		settings["region"] = a.Region
	}
	res := &AWSConfigured{Profile: q.AWSProfile, Path: q.File}
	if res.Path == "" {
		if v, ok := s.w.deps.Env("AWS_CONFIG_FILE"); ok && v != "" {
			res.Path = v
		} else {
			res.Path = filepath.Join(s.w.deps.Home, ".aws", "config")
		}
	}
	if res.Profile == "" {
		res.Profile = p.Name
	}
	if res.Changed, err = awsconfig.UpsertProfile(res.Path, res.Profile, settings); err != nil {
		return nil, fmt.Errorf("could not update %s: %w", res.Path, err)
	}
	return res, nil
}
