package sandbox

import (
	"errors"
	"testing"
)

// TestIssue16_19_NonLoopbackRefused: the sandbox hands out tokens to anyone,
// so Start refuses every address another machine could reach, before it
// listens.
func TestIssue16_19_NonLoopbackRefused(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"0.0.0.0:0", false},
		{":0", false},
		{"[::]:0", false},
		{"192.0.2.10:0", false},
		{"example.com:0", false},
		{"127.0.0.1", false}, // no port: not an address at all
		{"127.0.0.1:0", true},
		{"127.0.0.2:0", true},
		{"[::1]:0", true},
		{"localhost:0", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := checkLoopback(tt.addr)
			if tt.ok != (err == nil) {
				t.Fatalf("checkLoopback(%q) = %v", tt.addr, err)
			}
			if !tt.ok && tt.addr != "127.0.0.1" && !errors.Is(err, ErrNotLoopback) {
				t.Errorf("error %v is not ErrNotLoopback", err)
			}
		})
	}
	s, err := Start(t.Context(), Options{Addr: "0.0.0.0:0"})
	if err == nil {
		_ = s.Close()
		t.Fatal("Start listened on 0.0.0.0")
	}
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("Start: %v", err)
	}
}
