package proc

import "strings"

// ScrubbedAWSVars are removed from the child's environment by ScrubAWSEnv.
// Each of them makes an AWS SDK pick a credential source ahead of the
// container endpoint that `exec` serves (specs.md §1.5, §1.6):
//   - static keys come first in every chain;
//   - AWS_PROFILE and its legacy alias AWS_DEFAULT_PROFILE (still honoured by
//     botocore) select a profile whose keys or credential_process win over
//     the container provider;
//   - the web-identity trio (injected by EKS IRSA) wins over the container
//     provider in both SDKs;
//   - AWS_CONTAINER_CREDENTIALS_RELATIVE_URI takes precedence over FULL_URI,
//     and a stale FULL_URI / authorization token / token file would point at
//     another endpoint (exec sets fresh ones after scrubbing);
//   - AWS_CREDENTIAL_EXPIRATION describes keys that are no longer there.
//
// Region, endpoint and config-file variables are kept.
var ScrubbedAWSVars = []string{
	"AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",
	"AWS_SECURITY_TOKEN", // legacy alias of AWS_SESSION_TOKEN read by boto
	"AWS_CREDENTIAL_EXPIRATION",
	"AWS_PROFILE",
	"AWS_DEFAULT_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_ROLE_ARN",
	"AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
}

// ScrubAWSEnv returns a copy of env without the variables listed in
// ScrubbedAWSVars. env is not modified.
func ScrubAWSEnv(env []string) []string { return Unset(env, ScrubbedAWSVars...) }

// Unset returns a copy of env without the variables named by keys. env is
// not modified.
func Unset(env []string, keys ...string) []string {
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		drop[k] = true
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if drop[envKey(kv)] {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// SetEnv returns a copy of env in which key is set to value: every earlier
// entry for key is removed and "key=value" is appended. env is not modified.
func SetEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if envKey(kv) == key {
			continue
		}
		out = append(out, kv)
	}
	return append(out, key+"="+value)
}

// envKey returns the name part of a "KEY=value" entry.
func envKey(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k
}
