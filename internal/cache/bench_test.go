package cache

import (
	"strings"
	"testing"
	"time"
)

// benchToken is an ID token entry of a realistic size (about 1.2 KB of JWT).
func benchToken() TokenEntry {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return TokenEntry{
		IDToken: "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("eyJzdWIiOiJhbGljZSJ9", 40) + "." + strings.Repeat("c2lnbmF0dXJl", 28),
		Expiry:  now.Add(time.Hour), Source: "device", Issuer: "https://id.example.com", ClientID: "dagster-oidc",
		Subject: "alice", ObtainedAt: now,
	}
}

// benchAWSDoc has the shape of the CLI's cached AWS document: one entry
// per (role, job) slot.
type benchAWSDoc struct {
	Entries map[string]AWSEntry `json:"entries"`
}

// benchAWS is one cached slot, as after a first credential-process call.
func benchAWS() benchAWSDoc {
	return benchAWSDoc{Entries: map[string]AWSEntry{"\x00": {
		AccessKeyID: "ASIAEXAMPLEEXAMPLE00", SecretAccessKey: strings.Repeat("s", 40), SessionToken: strings.Repeat("t", 600),
		Expiration: time.Date(2026, 1, 2, 4, 4, 5, 0, time.UTC), RoleARN: "arn:aws:iam::000000000000:role/data-eng", SessionName: "alice",
	}}}
}

// BenchmarkFileStoreGetToken is the cache lookup of the warm `token`
// path: read the entry file, check its frame, decode the envelope.
func BenchmarkFileStoreGetToken(b *testing.B) {
	s := FileStore{Dir: b.TempDir()}
	data, err := Encode(KindToken, benchToken())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Set("token.dev.x", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		raw, err := s.Get("token.dev.x")
		if err != nil {
			b.Fatal(err)
		}
		var e TokenEntry
		if err := Decode(raw, KindToken, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileStoreGetAWS is the cache lookup of the warm
// `aws credential-process` path.
func BenchmarkFileStoreGetAWS(b *testing.B) {
	s := FileStore{Dir: b.TempDir()}
	data, err := Encode(KindAWS, benchAWS())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Set("aws.dev.x", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		raw, err := s.Get("aws.dev.x")
		if err != nil {
			b.Fatal(err)
		}
		var doc benchAWSDoc
		if err := Decode(raw, KindAWS, &doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyringStoreGetRefresh is a keyring lookup through the chunking
// store over an in-memory backend: the store's own cost, without D-Bus.
func BenchmarkKeyringStoreGetRefresh(b *testing.B) {
	s := &KeyringStore{Backend: newFakeKeyring(), Service: "bench"}
	data, err := Encode(KindRefresh, RefreshEntry{RefreshToken: strings.Repeat("r", 3000)})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Set("refresh.dev.x", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get("refresh.dev.x"); err != nil {
			b.Fatal(err)
		}
	}
}
