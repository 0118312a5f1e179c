//go:build linux

// Command minimal is the least a warm-path-only binary would do, to show what
// a separate credential helper could reach (docs/performance.md): it links
// only yaml.v3, encoding/json, crypto/sha256 and crypto/hmac, no net/http,
// TLS, go-oidc, expr or cobra, and does the warm path's work in its simplest
// form: decode the real profiles file, read the real cached AWS entry,
// verify its frame's SHA-256, decode its envelope and credentials, print a
// credential_process document, and append one HMAC-chained line to a
// scratch log under an flock. It skips what the product adds on top (trust
// checks, validation, claims, the audit key, rotation), so it is a lower
// bound, not a substitute.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// profiles is the part of the profiles file the warm path needs; other keys
// are ignored.
type profiles struct {
	DefaultProfile string `yaml:"default_profile"`
	Profiles       map[string]struct {
		Environment string `yaml:"environment"`
		Issuer      string `yaml:"issuer"`
		AWS         struct {
			Region string `yaml:"region"`
			Roles  []struct {
				RoleARN string `yaml:"role_arn"`
				When    string `yaml:"when"`
			} `yaml:"roles"`
		} `yaml:"aws"`
	} `yaml:"profiles"`
}

// frame and envelope are the file store's two wrappers (internal/cache).
type frame struct {
	V      int    `json:"v"`
	SHA256 string `json:"sha256"`
	Len    int    `json:"len"`
	Data   []byte `json:"data"`
}

type envelope struct {
	Schema int             `json:"schema"`
	Kind   string          `json:"kind"`
	Data   json.RawMessage `json:"data"`
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: minimal CONFIG ENTRY SCRATCH_LOG")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(configPath, entryPath, logPath string) error {
	data, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	var cfg profiles
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return err
	}
	p, ok := cfg.Profiles[cfg.DefaultProfile]
	if !ok || len(p.AWS.Roles) == 0 {
		return errors.New("no default profile with an AWS role")
	}
	raw, err := os.ReadFile(entryPath)
	if err != nil {
		return err
	}
	var fr frame
	if err := json.Unmarshal(raw, &fr); err != nil {
		return err
	}
	if sum := sha256.Sum256(fr.Data); hex.EncodeToString(sum[:]) != fr.SHA256 || len(fr.Data) != fr.Len {
		return errors.New("cache frame does not verify")
	}
	var env envelope
	if err := json.Unmarshal(fr.Data, &env); err != nil {
		return err
	}
	var creds map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &creds); err != nil {
		return err
	}
	out, err := json.Marshal(struct {
		Version    int
		Expiration time.Time
		Entries    int
	}{1, time.Now().Add(time.Hour), len(creds)})
	if err != nil {
		return err
	}
	if _, err := os.Stdout.Write(append(out, '\n')); err != nil {
		return err
	}
	return appendChained(logPath, out)
}

// appendChained appends line with an HMAC over it and the log's last 64
// bytes, under an flock, the way the audit file sink continues its chain.
func appendChained(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	tail := make([]byte, min(fi.Size(), 64))
	if _, err := f.ReadAt(tail, fi.Size()-int64(len(tail))); err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte("minimal-bench-key"))
	mac.Write(tail)
	mac.Write(line)
	_, err = f.Write(append(bytes.TrimSpace(line), []byte(" "+hex.EncodeToString(mac.Sum(nil))+"\n")...))
	return err
}
