package credentials

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/credserver"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/proc"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

// ChildRequest is what exec asks for the command it runs.
type ChildRequest struct {
	// AWS and GCP say which credentials to provide; both false means what
	// the profile has sections for.
	AWS, GCP bool
	// AWSMode is "server" (the loopback credential endpoint) or
	// "token-file" (a web-identity token file the SDK exchanges itself).
	AWSMode        string
	Role           string
	ServiceAccount string
	Run            runctx.Run
	// Environ is the environment the child starts from.
	Environ []string
	// TempDir is a private directory for the files the child reads.
	TempDir string
	// GCPCommand is the external_account executable's command line.
	GCPCommand []string
	// Identity asks for the child's identity (the token's subject).
	Identity bool
}

// Child is a prepared environment: the variables to run the command with,
// the identity it got, and what keeps its credentials fresh until Close.
type Child struct {
	Env      []string
	Identity *ExecIdentity
	closers  []func()
}

// Close stops the credential endpoint and the token file refresh.
func (c *Child) Close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// RunOf is the Dagster run context as the policy sees it.
func RunOf(r runctx.Run) policy.Run {
	return policy.Run{ID: r.ID, Job: r.Job, Location: r.Location}
}

// PrepareChild provides the credentials q asks for to a child process: the
// first exchange decides the role and proves it works, so a job no rule
// allows stops here, before the child starts; the returned Child then still
// says which identity it was for. Signals go to the child, so
// ctx should not be cancelled by them: the endpoint must outlive its shutdown.
func (s *Service) PrepareChild(ctx context.Context, q ChildRequest) (c *Child, err error) {
	p, run := s.Profile, q.Run
	if !q.AWS && !q.GCP {
		q.AWS, q.GCP = p.AWS != nil, p.GCP != nil
		if !q.AWS && !q.GCP {
			return nil, apperr.Usage(fmt.Errorf("profile %q has neither an aws nor a gcp section", p.Name), "add one (docs/aws.md, docs/gcp.md) or pass --aws/--gcp")
		}
	}
	c = &Child{Env: q.Environ, Identity: &ExecIdentity{Profile: p.Name, Environment: p.Environment, Source: s.FlowName(), Issuer: p.Issuer,
		RunID: run.ID, JobName: run.Job, Step: run.Step}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if k := p.ClientSecretEnv; k != "" {
		// The child needs credentials, never the OIDC client's secret.
		c.Env = proc.Unset(c.Env, k)
	}
	if run.ID != "" {
		c.Env = proc.SetEnv(c.Env, "DAGSTER_RUN_ID", run.ID)
	}
	if run.Job != "" {
		c.Env = proc.SetEnv(c.Env, "DAGSTER_RUN_JOB_NAME", run.Job)
	}
	prun := RunOf(run)
	if q.AWS {
		if err := s.childAWS(ctx, q, AWSRequest{Role: q.Role, Run: prun}, c); err != nil {
			return c, err
		}
	}
	if q.GCP {
		data, sa, err := s.externalAccount(ctx, ExternalAccountRequest{ServiceAccount: q.ServiceAccount, Command: q.GCPCommand, Run: prun})
		if err != nil {
			return c, err
		}
		path := filepath.Join(q.TempDir, "gcp-external-account.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return c, fmt.Errorf("could not write the external_account file: %w", err)
		}
		c.Env = proc.SetEnv(c.Env, "GOOGLE_APPLICATION_CREDENTIALS", path)
		c.Env = proc.SetEnv(c.Env, GCPEnvAllowExecutables, "1")
		c.Identity.GCP, c.Identity.GCPServiceAccount = true, sa
	}
	if q.Identity {
		// The token is cached by now; this only reads it for the subject.
		if tok, err := s.Tokens.Token(ctx); err == nil {
			c.Identity.subject(s, tok.Entry.Source, tok.Entry.Issuer, tok.Entry.Subject, tok.Entry.Expiry)
		}
	}
	return c, nil
}

// childAWS provides AWS credentials to the child in q.AWSMode.
func (s *Service) childAWS(ctx context.Context, q ChildRequest, aq AWSRequest, c *Child) error {
	id := c.Identity
	c.Env = proc.ScrubAWSEnv(c.Env)
	if reg := s.Profile.AWS.Region; reg != "" {
		c.Env = setDefault(c.Env, "AWS_REGION", reg)
		c.Env = setDefault(c.Env, "AWS_DEFAULT_REGION", reg)
	}
	if q.AWSMode == "server" {
		res, err := s.AWSCredentials(ctx, aq)
		if err != nil {
			return err
		}
		id.AWSRole, id.AWSSession, id.AWSExpiry = res.Entry.RoleARN, res.Entry.SessionName, res.Entry.Expiration
		serve := s.CredentialEndpoint(aq)
		srv, err := credserver.Start(ctx, func(ctx context.Context) (*credserver.Credentials, error) {
			res, err := serve(ctx)
			if err != nil {
				return nil, err
			}
			return &credserver.Credentials{
				AccessKeyID: res.Entry.AccessKeyID, SecretAccessKey: res.Entry.SecretAccessKey,
				SessionToken: res.Entry.SessionToken, Expiration: res.Entry.Expiration,
			}, nil
		}, credserver.Options{})
		if err != nil {
			return fmt.Errorf("could not start the credential endpoint: %w", err)
		}
		c.closers = append(c.closers, func() { _ = srv.Close() })
		c.Env = proc.SetEnv(c.Env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL())
		c.Env = proc.SetEnv(c.Env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", srv.AuthToken())
		return nil
	}
	// The SDK calls STS itself: decide the role by policy only.
	role, session, err := s.AWSRole(ctx, aq)
	if err != nil {
		return err
	}
	id.AWSRole, id.AWSSession = role, session
	path := filepath.Join(q.TempDir, "web-identity-token")
	stop, err := s.KeepTokenFile(ctx, path)
	if err != nil {
		return err
	}
	c.closers = append(c.closers, stop)
	c.Env = proc.SetEnv(c.Env, "AWS_WEB_IDENTITY_TOKEN_FILE", path)
	c.Env = proc.SetEnv(c.Env, "AWS_ROLE_ARN", role)
	c.Env = proc.SetEnv(c.Env, "AWS_ROLE_SESSION_NAME", session)
	return nil
}

// setDefault sets key unless env already has it.
func setDefault(env []string, key, value string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return env
		}
	}
	return append(env, key+"="+value)
}
