package cache

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		kind string
		in   any
		out  func() any
	}{
		{KindToken, &TokenEntry{IDToken: "h.p.s", Expiry: at, Source: "device", Issuer: "https://id", ClientID: "cli", Subject: "u1", ObtainedAt: at.Add(-time.Hour)}, func() any { return &TokenEntry{} }},
		{KindRefresh, &RefreshEntry{RefreshToken: "rt", Issuer: "https://id", ClientID: "cli", UpdatedAt: at}, func() any { return &RefreshEntry{} }},
		{KindAWS, &AWSEntry{AccessKeyID: "ASIA", SecretAccessKey: "s", SessionToken: "t", Expiration: at, RoleARN: "arn:aws:iam::1:role/r", SessionName: "u1"}, func() any { return &AWSEntry{} }},
		{KindGCP, &GCPEntry{AccessToken: "ya29", Expiry: at, ServiceAccount: "sa@p.iam.gserviceaccount.com"}, func() any { return &GCPEntry{} }},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			data, err := Encode(tc.kind, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"schema":1,"kind":"` + tc.kind + `","data":{`; !strings.HasPrefix(string(data), want) {
				t.Errorf("Encode = %s, want prefix %s", data, want)
			}
			out := tc.out()
			if err := Decode(data, tc.kind, out); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.in, out); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeFormat(t *testing.T) {
	data, err := Encode(KindRefresh, RefreshEntry{RefreshToken: "rt", Issuer: "https://id", ClientID: "cli", UpdatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":1,"kind":"refresh","data":{"refresh_token":"rt","issuer":"https://id","client_id":"cli","updated_at":"2026-03-01T12:00:00Z"}}`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
	if _, err := Encode(KindToken, func() {}); err == nil || !strings.Contains(err.Error(), "could not encode token entry") {
		t.Errorf("Encode(func) error = %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{"empty", ``, "token entry is not a versioned envelope"},
		{"garbage", `\x00garbage`, "token entry is not a versioned envelope"},
		{"pre-envelope raw entry", `{"id_token":"h.p.s"}`, "token entry has no schema version"},
		{"future schema", `{"schema":2,"kind":"token","data":{}}`, "token entry has schema version 2, this dagster-oidc reads 1"},
		{"wrong kind", `{"schema":1,"kind":"aws","data":{}}`, `entry kind is "aws", want "token"`},
		{"no data", `{"schema":1,"kind":"token"}`, "token entry has no data"},
		{"null data", `{"schema":1,"kind":"token","data":null}`, "token entry has no data"},
		{"data of the wrong shape", `{"schema":1,"kind":"token","data":{"expiry":42}}`, "token entry data does not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e TokenEntry
			err := Decode([]byte(tc.data), KindToken, &e)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error = %v, want ErrCorrupt saying %q", err, tc.want)
			}
		})
	}
}
