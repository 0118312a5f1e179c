package shellquote

import "testing"

func TestArg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"etl_daily", "etl_daily"},
		{"/usr/local/bin/dagster-oidc", "/usr/local/bin/dagster-oidc"},
		{"", "''"},
		{"my job", "'my job'"},
		{"it's", `'it'"'"'s'`},
		{"a;b", "'a;b'"},
		{"$HOME", "'$HOME'"},
	}
	for _, tt := range tests {
		if got := Arg(tt.in); got != tt.want {
			t.Errorf("Arg(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := Join("dagster-oidc", "explain", "--job", "my job"); got != "dagster-oidc explain --job 'my job'" {
		t.Errorf("Join = %s", got)
	}
}
