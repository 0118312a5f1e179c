package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// frameVersion is the version of the storage frame below. It is distinct
// from the entry schema of [Encode]: the frame says how bytes are laid out
// in a store, the schema says what the bytes mean.
const frameVersion = 1

// frame is what a store writes around a value: a file's whole content, or a
// keyring index item. A small value travels inline in Data; a large one sits
// in Chunks chunk items of generation Gen. SHA256 and Len cover the value, so
// a truncated file or a mismatched chunk is detected on read.
type frame struct {
	V      int    `json:"v"`
	Gen    uint64 `json:"gen,omitempty"`
	Chunks int    `json:"chunks"`
	SHA256 string `json:"sha256"`
	Len    int    `json:"len"`
	Data   []byte `json:"data,omitempty"`
}

func newFrame(value []byte) frame {
	sum := sha256.Sum256(value)
	return frame{V: frameVersion, SHA256: hex.EncodeToString(sum[:]), Len: len(value)}
}

// parseFrame decodes and sanity-checks a frame; every failure wraps ErrCorrupt.
func parseFrame(raw []byte) (frame, error) {
	var f frame
	if err := json.Unmarshal(raw, &f); err != nil {
		return frame{}, corruptf("unreadable frame: %v", err)
	}
	if f.V != frameVersion {
		return frame{}, corruptf("unsupported frame version %d (this dagster-oidc reads %d)", f.V, frameVersion)
	}
	if f.Chunks < 0 || f.Len < 0 || len(f.SHA256) != 2*sha256.Size {
		return frame{}, corruptf("malformed frame header")
	}
	if f.Chunks > 0 && len(f.Data) > 0 {
		return frame{}, corruptf("frame has both inline data and chunks")
	}
	return f, nil
}

// verify checks that value is the one the frame describes.
func (f frame) verify(value []byte) error {
	if len(value) != f.Len {
		return corruptf("length %d, want %d (truncated?)", len(value), f.Len)
	}
	sum := sha256.Sum256(value)
	if hex.EncodeToString(sum[:]) != f.SHA256 {
		return corruptf("sha256 mismatch")
	}
	return nil
}
