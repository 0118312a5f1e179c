package awssts

import (
	"regexp"
	"testing"
)

// roleARNPattern is what parseRoleARN documents.
var roleARNPattern = regexp.MustCompile(`^arn:([a-z][a-z0-9-]*):iam:([a-z0-9-]*):([0-9]*):role/([\w+=,.@/-]+)$`)

// checkAgainstPattern fails when parseRoleARN and the pattern disagree.
func checkAgainstPattern(t *testing.T, arn string) {
	t.Helper()
	partition, account, name, ok := parseRoleARN(arn)
	m := roleARNPattern.FindStringSubmatch(arn)
	if ok != (m != nil) {
		t.Fatalf("parseRoleARN(%q) ok = %v, the pattern matches: %v", arn, ok, m != nil)
	}
	if ok && (partition != m[1] || account != m[3] || name != m[4]) {
		t.Errorf("parseRoleARN(%q) = %q, %q, %q; the pattern: %q, %q, %q", arn, partition, account, name, m[1], m[3], m[4])
	}
}

func TestParseRoleARNMatchesPattern(t *testing.T) {
	for _, arn := range []string{
		"arn:aws:iam::123456789012:role/etl", "arn:aws:iam::123456789012:role/path/to/etl-daily_writer+=,.@",
		"arn:aws-us-gov:iam::123456789012:role/x", "arn:minio:iam:::role/abc", "arn:minio:iam:us-east-1::role/abc",
		"", "arn", "arn:aws:iam::123456789012:role/", "arn:aws:iam::123456789012:role", "arn:aws:iam::123456789012:user/x",
		"arn:Aws:iam::1:role/x", "arn:1aws:iam::1:role/x", "arn::iam::1:role/x", "arn:aws:sts::1:role/x",
		"arn:aws:iam:US:1:role/x", "arn:aws:iam::12a:role/x", "arn:aws:iam::1:role/x:y", "arn:aws:iam::1:role/x y",
		"arn:aws:iam::1:role/é", "xarn:aws:iam::1:role/x", "arn:aws:iam::1:role/x\n", "arn:aws:iam::1:role//",
	} {
		t.Run(arn, func(t *testing.T) { checkAgainstPattern(t, arn) })
	}
}

func FuzzParseRoleARNMatchesPattern(f *testing.F) {
	f.Add("arn:aws:iam::123456789012:role/etl")
	f.Add("arn:minio:iam:::role/abc")
	f.Add("arn:aws:iam::1:role/a:b")
	f.Fuzz(checkAgainstPattern)
}

func TestCheckRoleARN(t *testing.T) {
	for _, tc := range []struct {
		arn  string
		want string // "" for accepted
	}{
		{"arn:aws:iam::123456789012:role/etl", ""},
		{"arn:minio:iam:::role/abc", ""},
		{"arn:aws:iam::1234:role/etl", `"arn:aws:iam::1234:role/etl": the account "1234" is not 12 digits (arn:aws:iam::ACCOUNT:role/NAME)`},
		{"arn:aws:iam::123456789012:role/etl/", `"arn:aws:iam::123456789012:role/etl/" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`},
		{"etl", `"etl" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`},
	} {
		t.Run(tc.arn, func(t *testing.T) {
			err := CheckRoleARN(tc.arn)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("CheckRoleARN(%q) = %q, want %q", tc.arn, got, tc.want)
			}
		})
	}
}
