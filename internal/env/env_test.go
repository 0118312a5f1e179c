package env

import (
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	for v, o := range Registry {
		if !strings.HasPrefix(string(v), "DAGSTER_OIDC_") || o.Description == "" {
			t.Errorf("%s: prefix or description missing", v)
		}
	}
	l := Lookup(func(k string) (string, bool) {
		return map[string]string{"DAGSTER_OIDC_PROFILE": "prod"}[k], k == "DAGSTER_OIDC_PROFILE"
	})
	if got := l.Get(Profile); got != "prod" {
		t.Errorf("Get(Profile) = %q", got)
	}
	if got := l.Get(Config); got != "" {
		t.Errorf("Get(Config) = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("an unregistered variable did not panic")
		}
	}()
	l.Get("AWS_PROFILE")
}
