package cache

import (
	"strings"
	"testing"
)

func TestKeyString(t *testing.T) {
	base := Key{Kind: KindRefresh, Profile: "dev", Environment: "dev", Issuer: "https://id.example.com", ClientID: "dagster-cli"}
	got := base.String()
	// Stability across releases: a changed key orphans every user's cache.
	const want = "refresh.dev."
	if !strings.HasPrefix(got, want) || len(got) != len(want)+32 {
		t.Fatalf("String() = %q, want %s + 32 hex digits", got, want)
	}
	if again := base.String(); again != got {
		t.Errorf("String() not stable: %q then %q", got, again)
	}
	if safeName(got) != got {
		t.Errorf("key %q is not file-name safe", got)
	}

	variants := map[string]Key{
		"kind":             {Kind: KindToken, Profile: "dev", Environment: "dev", Issuer: base.Issuer, ClientID: base.ClientID},
		"profile":          {Kind: KindRefresh, Profile: "other", Environment: "dev", Issuer: base.Issuer, ClientID: base.ClientID},
		"environment":      {Kind: KindRefresh, Profile: "dev", Environment: "prod", Issuer: base.Issuer, ClientID: base.ClientID},
		"no environment":   {Kind: KindRefresh, Profile: "dev", Issuer: base.Issuer, ClientID: base.ClientID},
		"issuer":           {Kind: KindRefresh, Profile: "dev", Environment: "dev", Issuer: base.Issuer + "/", ClientID: base.ClientID},
		"client":           {Kind: KindRefresh, Profile: "dev", Environment: "dev", Issuer: base.Issuer, ClientID: "other"},
		"extra":            {Kind: KindRefresh, Profile: "dev", Environment: "dev", Issuer: base.Issuer, ClientID: base.ClientID, Extra: []string{"arn:aws:iam::1:role/r"}},
		"field boundaries": {Kind: KindRefresh, Profile: "de", Environment: "vdev", Issuer: base.Issuer, ClientID: base.ClientID},
	}
	seen := map[string]string{got: "base"}
	for name, k := range variants {
		s := k.String()
		if prev, dup := seen[s]; dup {
			t.Errorf("%s and %s share the key %s", name, prev, s)
		}
		seen[s] = name
	}

	for _, tc := range []struct {
		name string
		key  Key
		want string
	}{
		{"empty kind and environment", Key{}, "entry.noenv."},
		{"unsafe characters", Key{Kind: "AWS Creds", Environment: "Prod/EU:1"}, "aws_creds.prod_eu_1."},
		{"long environment", Key{Kind: "token", Environment: strings.Repeat("x", 100)}, "token." + strings.Repeat("x", 24) + "."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.key.String()
			if !strings.HasPrefix(s, tc.want) {
				t.Errorf("String() = %q, want prefix %q", s, tc.want)
			}
			if !isSafe(s) {
				t.Errorf("String() = %q is not safe", s)
			}
		})
	}
}
