package env

import (
	"strings"
	"testing"
	"time"
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

// TestIssue16_8_HTTPTimeout: DAGSTER_OIDC_HTTP_TIMEOUT is a duration in
// 1s..10m; banana, 0 and -1s are refused by name.
func TestIssue16_8_HTTPTimeout(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		wantErr string
	}{
		{value: "", want: 30 * time.Second},
		{value: "10s", want: 10 * time.Second},
		{value: "banana", wantErr: `DAGSTER_OIDC_HTTP_TIMEOUT="banana" is not a duration (use e.g. 10s, 1m)`},
		{value: "0", wantErr: "DAGSTER_OIDC_HTTP_TIMEOUT=0 is outside 1s..10m0s"},
		{value: "-1s", wantErr: "DAGSTER_OIDC_HTTP_TIMEOUT=-1s is outside 1s..10m0s"},
		{value: "1h", wantErr: "DAGSTER_OIDC_HTTP_TIMEOUT=1h is outside 1s..10m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			l := Lookup(func(k string) (string, bool) { return tt.value, k == string(HTTPTimeout) })
			got, err := l.Duration(HTTPTimeout)
			checkErr := l.Check()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || checkErr == nil || checkErr.Error() != tt.wantErr {
					t.Errorf("Duration = %v, %v; Check = %v; want %q", got, err, checkErr, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || checkErr != nil {
				t.Errorf("Duration = %v, %v; Check = %v; want %v", got, err, checkErr, tt.want)
			}
		})
	}
}
