package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// EnvFormats are the formats AWSEnv writes, in the order help text lists
// them.
var EnvFormats = []string{"sh", "fish", "pwsh", "dotenv", "json"}

// envVar is one assignment, in output order.
type envVar struct{ name, value string }

// awsEnvVars lists the variables for c and region, in a fixed order.
func awsEnvVars(c AWSCredentials, region string) []envVar {
	vars := []envVar{
		{"AWS_ACCESS_KEY_ID", c.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", c.SecretAccessKey},
		{"AWS_SESSION_TOKEN", c.SessionToken},
		{"AWS_CREDENTIAL_EXPIRATION", c.expiration()},
	}
	if region != "" {
		vars = append(vars, envVar{"AWS_REGION", region}, envVar{"AWS_DEFAULT_REGION", region})
	}
	return vars
}

// AWSEnv writes the credentials as environment assignments for format:
//
//	sh      export NAME='value'       (POSIX sh, bash, zsh: eval "$(...)")
//	fish    set -gx NAME 'value';     (eval (...) or ... | source)
//	pwsh    $Env:NAME = 'value'       (... | Invoke-Expression)
//	dotenv  NAME=value                (docker --env-file, compose, python-dotenv)
//	json    {"NAME":"value",...}      (one object, one line)
//
// The variables are AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION (RFC 3339 UTC) and, when
// region is set, AWS_REGION and AWS_DEFAULT_REGION. Values are quoted so
// that no value can end its quotes early in the target shell. An unknown
// format is a usage error naming the allowed ones.
func AWSEnv(w io.Writer, format string, c AWSCredentials, region string) error {
	var line func(envVar) (string, error)
	switch format {
	case "sh":
		line = func(v envVar) (string, error) { return "export " + v.name + "=" + shQuote(v.value), nil }
	case "fish":
		line = func(v envVar) (string, error) { return "set -gx " + v.name + " " + fishQuote(v.value) + ";", nil }
	case "pwsh":
		line = func(v envVar) (string, error) { return "$Env:" + v.name + " = " + pwshQuote(v.value), nil }
	case "dotenv":
		line = func(v envVar) (string, error) {
			q, err := dotenvQuote(v.value)
			if err != nil {
				return "", fmt.Errorf("could not write %s in dotenv format: %w", v.name, err)
			}
			return v.name + "=" + q, nil
		}
	case "json":
	default:
		return apperr.Usage(fmt.Errorf("unknown env format %q", format),
			"use one of: "+strings.Join(EnvFormats, ", "))
	}
	if err := c.validate(); err != nil {
		return err
	}
	vars := awsEnvVars(c, region)
	for _, v := range vars {
		if strings.ContainsRune(v.value, 0) {
			return fmt.Errorf("could not write %s: it contains a NUL byte", v.name)
		}
	}
	var b strings.Builder
	if format == "json" {
		b.WriteByte('{')
		for i, v := range vars {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(v.name)
			val, _ := json.Marshal(v.value)
			b.Write(k)
			b.WriteByte(':')
			b.Write(termsafe.JSON(val))
		}
		b.WriteString("}\n")
	} else {
		for _, v := range vars {
			l, err := line(v)
			if err != nil {
				return err
			}
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("could not write the credentials: %w", err)
	}
	return nil
}

// shQuote single-quotes s for POSIX shells: nothing is special inside
// single quotes, and a quote inside the value closes the quotes, adds an
// escaped quote and reopens them.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote single-quotes s for fish, where \\ and \' are the only escapes
// inside single quotes.
func fishQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// pwshQuote single-quotes s for PowerShell (a verbatim string). PowerShell
// also treats the typographic quotes ‘ ’ ‚ ‛ as single quotes, so each of
// them is doubled like ' is.
func pwshQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201A', '\u201B':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// dotenvQuote writes s bare when it has only characters every dotenv reader
// keeps as they are (docker --env-file does no unquoting at all), else in
// single quotes, which docker compose and python-dotenv both read
// literally. A value that needs an escape inside single quotes (a quote, a
// backslash, a newline) has no portable dotenv form and is refused.
func dotenvQuote(s string) (string, error) {
	if dotenvBare(s) {
		return s, nil
	}
	if strings.ContainsAny(s, "'\\\n\r") {
		return "", fmt.Errorf("the value contains a quote, backslash or line break")
	}
	return "'" + s + "'", nil
}

func dotenvBare(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_-.:/+=@,%", r):
		default:
			return false
		}
	}
	return true
}
