package proc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScrubAWSEnv(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nothing to scrub", []string{"PATH=/bin", "HOME=/root"}, []string{"PATH=/bin", "HOME=/root"}},
		{
			"static keys and profile",
			[]string{"AWS_ACCESS_KEY_ID=AKIA", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t", "AWS_SECURITY_TOKEN=t",
				"AWS_PROFILE=p", "AWS_DEFAULT_PROFILE=p", "AWS_CREDENTIAL_EXPIRATION=2026-01-01T00:00:00Z", "PATH=/bin"},
			[]string{"PATH=/bin"},
		},
		{
			"IRSA web identity",
			[]string{"AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks/token", "AWS_ROLE_ARN=arn:aws:iam::1:role/r",
				"AWS_ROLE_SESSION_NAME=s", "AWS_REGION=us-east-1"},
			[]string{"AWS_REGION=us-east-1"},
		},
		{
			"container endpoint",
			[]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/creds", "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://x",
				"AWS_CONTAINER_AUTHORIZATION_TOKEN=a", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/f", "AWS_DEFAULT_REGION=eu-west-1"},
			[]string{"AWS_DEFAULT_REGION=eu-west-1"},
		},
		{
			"keeps config, endpoints and look-alikes",
			[]string{"AWS_CONFIG_FILE=/c", "AWS_ENDPOINT_URL_STS=http://127.0.0.1:1", "AWS_PROFILE_X=1", "MY_AWS_PROFILE=1", "aws_profile=lower"},
			[]string{"AWS_CONFIG_FILE=/c", "AWS_ENDPOINT_URL_STS=http://127.0.0.1:1", "AWS_PROFILE_X=1", "MY_AWS_PROFILE=1", "aws_profile=lower"},
		},
		{"duplicates and empty values", []string{"AWS_PROFILE=a", "AWS_PROFILE=", "AWS_PROFILE", "X=1"}, []string{"X=1"}},
		{"nil", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]string(nil), tt.in...)
			got := ScrubAWSEnv(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ScrubAWSEnv (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, tt.in); diff != "" {
				t.Errorf("input modified (-before +after):\n%s", diff)
			}
		})
	}
}

func TestSetEnv(t *testing.T) {
	tests := []struct {
		name       string
		in         []string
		key, value string
		want       []string
	}{
		{"append", []string{"A=1"}, "B", "2", []string{"A=1", "B=2"}},
		{"replace", []string{"B=old", "A=1"}, "B", "new", []string{"A=1", "B=new"}},
		{"replace duplicates", []string{"B=1", "A=1", "B=2"}, "B", "3", []string{"A=1", "B=3"}},
		{"value with equals", nil, "U", "http://127.0.0.1:1/p?a=b", []string{"U=http://127.0.0.1:1/p?a=b"}},
		{"prefix is not the key", []string{"BB=1"}, "B", "2", []string{"BB=1", "B=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SetEnv(tt.in, tt.key, tt.value)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SetEnv (-want +got):\n%s", diff)
			}
		})
	}
}
