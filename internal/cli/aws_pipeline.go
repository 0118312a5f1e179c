package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
)

// awsDoc is the cached document of a profile's AWS credentials: one entry
// per (requested role, Dagster job), so that logout removes them all at once.
type awsDoc struct {
	Entries map[string]cache.AWSEntry `json:"entries"`
}

// awsRequest says which credentials a command wants.
type awsRequest struct {
	Role string // --role; "" = the first the policy allows
	Run  policy.Run
}

// slot is the entry of q in the profile's credentials document: per
// requested role, Dagster run and job, and the request settings, so that
// neither another run's session name nor an edited session policy is served
// from the cache.
func (r *resolved) slot(q awsRequest) string {
	a := r.p.AWS
	sum := sha256.Sum256([]byte(strings.Join([]string{a.Policy, strings.Join(a.PolicyARNs, ","), a.SessionName, a.Duration.D().String(), a.Region, a.STSEndpoint}, "\x00")))
	return strings.Join([]string{q.Role, q.Run.Job, q.Run.ID, hex.EncodeToString(sum[:8])}, "\x00")
}

// awsResult is the credentials and how they were obtained.
type awsResult struct {
	Entry     cache.AWSEntry
	FromCache bool
	Decision  *policy.Decision
}

func (r *resolved) awsConfig() (*awsConfig, error) {
	a := r.p.AWS
	if a == nil {
		return nil, apperr.Usage(fmt.Errorf("profile %q has no aws section", r.p.Name), "add aws: {region: ..., roles: [...]} to the profile (see docs/aws.md)")
	}
	margin := a.RefreshMargin.D()
	if err := awssts.ValidateDuration(a.Duration.D(), margin); err != nil {
		return nil, apperr.Usage(fmt.Errorf("profile %q: %w", r.p.Name, err), "")
	}
	return &awsConfig{margin: margin}, nil
}

type awsConfig struct{ margin time.Duration }

func (r *resolved) awsDocKey() string { return r.mgr.Key(cache.KindAWS) }

func (r *resolved) readAWSDoc() awsDoc {
	return awsDoc{Entries: readEntries[cache.AWSEntry](r, r.awsDocKey(), cache.KindAWS, "AWS credentials")}
}

// readEntries reads a profile's credentials document from the file store;
// an unreadable one is discarded with a warning and reads as empty.
func readEntries[E any](r *resolved, key, kind, what string) map[string]E {
	var doc struct {
		Entries map[string]E `json:"entries"`
	}
	data, err := r.mgr.Fast.Get(key)
	if err == nil {
		err = cache.Decode(data, kind, &doc)
		if errors.Is(err, cache.ErrCorrupt) {
			_ = r.mgr.Fast.Delete(key)
			fmt.Fprintf(r.f.IO.ErrOut, "warning: discarded unreadable cached %s (%v)\n", what, err)
		}
	}
	if err != nil || doc.Entries == nil {
		return map[string]E{}
	}
	return doc.Entries
}

// cachedAWS is the hot path: one file read, no token, no policy, no network.
func (r *resolved) cachedAWS(q awsRequest, margin time.Duration) (*cache.AWSEntry, bool) {
	doc := r.readAWSDoc()
	e, ok := doc.Entries[r.slot(q)]
	if !ok || !e.Expiration.After(r.f.Clock.Now().Add(margin)) {
		return nil, false
	}
	return &e, true
}

// awsCredentials returns credentials for q: cached while they have more than
// the refresh margin left, else from AssumeRoleWithWebIdentity with the role
// the policy chooses.
func (r *resolved) awsCredentials(ctx context.Context, q awsRequest) (*awsResult, error) {
	ac, err := r.awsConfig()
	if err != nil {
		return nil, err
	}
	if e, ok := r.cachedAWS(q, ac.margin); ok {
		return &awsResult{Entry: *e, FromCache: true}, nil
	}
	unlock, err := cache.Lock(ctx, r.f.CacheDir(), r.mgr.Key("aws-lock"), lockWait)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlock() }()
	if e, ok := r.cachedAWS(q, ac.margin); ok {
		return &awsResult{Entry: *e, FromCache: true}, nil
	}
	tok, err := r.mgr.Token(ctx)
	if err != nil {
		return nil, err
	}
	claims := tok.Claims
	d, err := r.decide(awsRules(r.p), claims.All, q.Role, q.Run, "role")
	if err != nil {
		r.auditPolicyDenied(claims, q.Run, err)
		return nil, err
	}
	session := r.sessionName(claims, q.Run)
	a := r.p.AWS
	client := &awssts.Client{HTTP: r.f.HTTPClient(), Endpoint: a.STSEndpoint, Region: a.Region, Sleep: r.f.Sleep, Deadline: a.STSTimeout.D()}
	current := tok.Entry.IDToken
	creds, err := client.AssumeRoleWithWebIdentity(ctx, awssts.Request{
		RoleARN: d.Target, SessionName: session, Duration: a.Duration.D(), Policy: a.Policy, PolicyARNs: a.PolicyARNs,
	}, func(ctx context.Context, fresh bool) (string, error) {
		if !fresh {
			return current, nil
		}
		res, err := r.mgr.Renew(ctx, current)
		if err != nil {
			return "", err
		}
		current = res.Entry.IDToken
		return current, nil
	})
	if err != nil {
		r.auditExchange(claims, q.Run, d.Target, session, time.Time{}, err)
		return nil, err
	}
	e := cache.AWSEntry{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
		Expiration: creds.Expiration, RoleARN: d.Target, SessionName: session,
	}
	r.auditExchange(claims, q.Run, d.Target, session, creds.Expiration, nil)
	if left := time.Until(creds.Expiration); left <= ac.margin {
		fmt.Fprintf(r.f.IO.ErrOut, "warning: STS issued credentials valid for %s, less than aws.refresh_margin %s; they will be exchanged again on every call\n", left.Round(time.Second), ac.margin)
	}
	doc := r.readAWSDoc()
	now := r.f.Clock.Now()
	for k, old := range doc.Entries {
		if !old.Expiration.After(now) {
			delete(doc.Entries, k)
		}
	}
	doc.Entries[r.slot(q)] = e
	if data, err := cache.Encode(cache.KindAWS, doc); err == nil {
		if err := r.mgr.Fast.Set(r.awsDocKey(), data); err != nil {
			fmt.Fprintf(r.f.IO.ErrOut, "warning: could not cache the AWS credentials: %v\n", err)
		}
	}
	return &awsResult{Entry: e, Decision: d}, nil
}

// decide evaluates the rules; what names the target kind in messages.
func (r *resolved) decide(rules []policy.Rule, claims map[string]any, want string, run policy.Run, what string) (*policy.Decision, error) {
	d, err := policy.Evaluate(rules, policy.Input{Claims: claims, Run: run, Environment: r.p.Environment}, want)
	if err != nil {
		if apperr.KindOf(err) == apperr.KindDenied {
			return d, err
		}
		return d, apperr.Usage(fmt.Errorf("profile %q: %w", r.p.Name, err), "fix the rule, then run: dagster-oidc config validate")
	}
	if d.Target == "" {
		return d, apperr.Denied(fmt.Errorf("no %s rule of profile %q allows this identity", what, r.p.Name), "run: dagster-oidc explain --profile "+r.p.Name)
	}
	return d, nil
}

// sessionName expands the profile's session_name template for a run.
func (r *resolved) sessionName(claims *flow.Claims, run policy.Run) string {
	vars := map[string]string{
		awssts.VarRunID: run.ID, awssts.VarJob: run.Job, awssts.VarEmail: claims.Email,
		awssts.VarSubject: claims.Subject, awssts.VarProfile: r.p.Name,
	}
	vars[awssts.VarUsername], _ = claims.All["preferred_username"].(string)
	return awssts.SessionName(r.p.AWS.SessionName, vars)
}

// awsRoleDecision decides the role and session name by policy alone, for
// SDKs that call STS themselves (exec --aws-mode token-file).
func (r *resolved) awsRoleDecision(ctx context.Context, q awsRequest) (role, session string, err error) {
	if _, err := r.awsConfig(); err != nil {
		return "", "", err
	}
	tok, err := r.mgr.Token(ctx)
	if err != nil {
		return "", "", err
	}
	claims := tok.Claims
	d, err := r.decide(awsRules(r.p), claims.All, q.Role, q.Run, "role")
	if err != nil {
		r.auditPolicyDenied(claims, q.Run, err)
		return "", "", err
	}
	return d.Target, r.sessionName(claims, q.Run), nil
}
