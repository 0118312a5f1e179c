package awssts

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// CheckEndpoint checks an STS endpoint URL as configuration: https, or http
// on a loopback host only (MinIO, the sandbox), and never a link-local or
// cloud metadata host, where a web identity token would be sent to whatever
// answers on the instance.
func CheckEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("STS endpoint %q is not an http(s) URL", endpoint)
	}
	host := strings.ToLower(u.Hostname())
	if metadataHost(host) {
		return fmt.Errorf("STS endpoint %q is a link-local or metadata address; the token would go to the instance metadata service", endpoint)
	}
	if err := safehttp.CheckURL(endpoint); err != nil {
		return err
	}
	if u.User != nil {
		return fmt.Errorf("STS endpoint %q carries credentials in its URL", endpoint)
	}
	return nil
}

// metadataHost reports whether host is link-local (169.254.0.0/16, fe80::/10,
// which hold the AWS, Azure and GCP metadata services), the EC2 IPv6
// metadata address or a metadata host name.
func metadataHost(host string) bool {
	switch strings.TrimSuffix(host, ".") {
	case "metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal":
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	return ip.IsLinkLocalUnicast() || ip.Equal(net.ParseIP("fd00:ec2::254"))
}

// CheckRoleARN checks the shape of a role ARN: arn:aws:iam::ACCOUNT:role/NAME
// with a 12-digit account in AWS partitions; other partitions (MinIO's
// arn:minio:iam:::role/ID) may leave the account empty. It catches typos
// before STS answers with a less specific ValidationError.
func CheckRoleARN(arn string) error {
	partition, account, name, ok := parseRoleARN(arn)
	if !ok || strings.HasSuffix(name, "/") {
		return fmt.Errorf("%q is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", arn)
	}
	if strings.HasPrefix(partition, "aws") && len(account) != 12 {
		return fmt.Errorf("%q: the account %q is not 12 digits (arn:aws:iam::ACCOUNT:role/NAME)", arn, account)
	}
	return nil
}

// parseRoleARN splits an IAM role ARN,
// ^arn:([a-z][a-z0-9-]*):iam:([a-z0-9-]*):([0-9]*):role/([\w+=,.@/-]+)$: a
// partition, an optional region (MinIO puts one there), an account, "role/"
// and a name of IAM's characters, optionally under a path. A loop, not that
// regular expression: config validation runs it at every start of the warm
// path (docs/performance.md); a test keeps the two equal.
func parseRoleARN(arn string) (partition, account, name string, ok bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "iam" || !strings.HasPrefix(f[5], "role/") {
		return "", "", "", false
	}
	partition, region, account, name := f[1], f[3], f[4], f[5][len("role/"):]
	if partition == "" || partition[0] < 'a' || partition[0] > 'z' || !allBytes(partition, isRegionByte) ||
		!allBytes(region, isRegionByte) || !allBytes(account, isDigit) || name == "" || !allBytes(name, isRoleNameByte) {
		return "", "", "", false
	}
	return partition, account, name, true
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isRegionByte: [a-z0-9-].
func isRegionByte(c byte) bool { return c >= 'a' && c <= 'z' || isDigit(c) || c == '-' }

// isRoleNameByte: [\w+=,.@/-], \w being [0-9A-Za-z_].
func isRoleNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || strings.IndexByte("_+=,.@/-", c) >= 0
}

// CheckSessionNameTemplate checks a session_name template: every "{{"
// closed by "}}" and naming a known variable (see SessionName).
func CheckSessionNameTemplate(template string) error {
	rest := template
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			if strings.Contains(rest, "}}") {
				return fmt.Errorf("session name template %q has a \"}}\" without \"{{\"", template)
			}
			return nil
		}
		end := strings.Index(rest[open+2:], "}}")
		if end < 0 {
			return fmt.Errorf("session name template %q has an unterminated \"{{\"", template)
		}
		name := strings.TrimSpace(rest[open+2 : open+2+end])
		if !slices.Contains(sessionNameVars, name) {
			return fmt.Errorf("session name template %q uses unknown variable %q (one of %s)", template, name, strings.Join(sessionNameVars, ", "))
		}
		rest = rest[open+2+end+2:]
	}
}

// sessionNameVars lists the template variables for messages.
var sessionNameVars = []string{VarRunID, VarJob, VarEmail, VarSubject, VarUsername, VarProfile}

// CheckRegion checks that region is a region name (lower-case letters,
// digits and "-"), so it cannot redirect the STS host name.
func CheckRegion(region string) error {
	for _, r := range region {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return fmt.Errorf("AWS region %q is not a region name", region)
		}
	}
	return nil
}
