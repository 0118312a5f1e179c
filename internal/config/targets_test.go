package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProfileTargets(t *testing.T) {
	tests := []struct {
		name            string
		p               Profile
		roles, accounts []string
	}{
		{name: "no sections"},
		{name: "allow and deny rules", p: Profile{
			AWS: &AWS{Roles: []RoleRule{{RoleARN: "arn:a"}, {RoleARN: "arn:b", Deny: true}, {When: "true"}, {RoleARN: "arn:c"}}},
			GCP: &GCP{ServiceAccount: "plain@p", ServiceAccounts: []ServiceAccountRule{{ServiceAccount: "a@p"}, {Deny: true, ServiceAccount: "d@p"}}},
		}, roles: []string{"arn:a", "arn:c"}, accounts: []string{"a@p"}},
		{name: "plain service_account", p: Profile{GCP: &GCP{ServiceAccount: "plain@p"}}, accounts: []string{"plain@p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.roles, tt.p.RoleTargets()); diff != "" {
				t.Errorf("RoleTargets (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.accounts, tt.p.ServiceAccountTargets()); diff != "" {
				t.Errorf("ServiceAccountTargets (-want +got):\n%s", diff)
			}
		})
	}
}
