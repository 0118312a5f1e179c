package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Chain record names: the first line of a trail, the first line of a file
// after rotation, and the checkpoint sent to syslog.
const (
	EventGenesis    = "audit_genesis"
	EventContinued  = "audit_continued"
	EventCheckpoint = "audit_checkpoint"
)

// GenesisPrev is the "prev" of a genesis record.
var GenesisPrev = strings.Repeat("0", sha256.Size*2)

// macLen is the length of a chain MAC in hex.
const macLen = sha256.Size * 2

// Key labels: one installation key, a derived key per use, so a value
// computed for one purpose never doubles as another.
const (
	labelChain   = "dagster-oidc audit chain v2"
	labelSession = "dagster-oidc session name v2"
)

// deriveKey returns HMAC-SHA256(key, label), or nil without a key.
func deriveKey(key []byte, label string) []byte {
	if len(key) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// lineMAC is the chain MAC of a record's body: HMAC-SHA256(chain key, body),
// hex.
func lineMAC(chainKey, body []byte) string {
	m := hmac.New(sha256.New, chainKey)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// A chained line ends with its trailer:
//
//	…,"seq":N,"prev":"<64 hex>","mac":"<64 hex>"}
//
// seq is the line's 1-based position in the chain (counted across
// rotations), prev the MAC of the line before (GenesisPrev for a genesis
// record) and mac the MAC of the line without its "mac" member (the body).
const (
	prevOpen = `"prev":"`
	macOpen  = `","mac":"`
	// trailerLen is len(`,"prev":"` + 64 + `","mac":"` + 64 + `"}`).
	trailerLen = 1 + len(prevOpen) + macLen + len(macOpen) + macLen + 2
)

// trailer is what a chained line says about its place in the chain.
type trailer struct {
	seq       int64
	prev, mac string
	// body is the line without its "mac" member: the bytes mac covers.
	body []byte
}

// parseTrailer reads the trailer of line, byte by byte (it runs on every
// write, in a process that starts for one credential). ok is false for a
// line without one: a schema 1 line, or a damaged one.
func parseTrailer(line []byte) (t trailer, ok bool) {
	n := len(line)
	if n < trailerLen+len(`{"seq":1`) || !bytes.HasSuffix(line, []byte(`"}`)) {
		return t, false
	}
	tail := line[n-trailerLen:]
	if tail[0] != ',' || !bytes.HasPrefix(tail[1:], []byte(prevOpen)) {
		return t, false
	}
	prev := tail[1+len(prevOpen) : 1+len(prevOpen)+macLen]
	rest := tail[1+len(prevOpen)+macLen:]
	if !bytes.HasPrefix(rest, []byte(macOpen)) {
		return t, false
	}
	mac := rest[len(macOpen) : len(macOpen)+macLen]
	if !isLowerHex(prev) || !isLowerHex(mac) {
		return t, false
	}
	head := line[:n-trailerLen]
	i := len(head)
	for i > 0 && head[i-1] >= '0' && head[i-1] <= '9' {
		i--
	}
	digits := head[i:]
	if len(digits) == 0 || len(digits) > 18 || digits[0] == '0' || !bytes.HasSuffix(head[:i], []byte(`"seq":`)) {
		return t, false
	}
	j := i - len(`"seq":`)
	if j < 1 || (head[j-1] != ',' && head[j-1] != '{') {
		return t, false
	}
	seq, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return t, false
	}
	cut := n - len(macOpen) - macLen - 2
	body := make([]byte, 0, cut+2)
	body = append(append(body, line[:cut]...), '"', '}')
	return trailer{seq: seq, prev: string(prev), mac: string(mac), body: body}, true
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// chainLine appends seq, prev and mac to line, a JSON object, and returns
// the line and its MAC.
func chainLine(chainKey, line []byte, seq int64, prev string) ([]byte, string) {
	body := make([]byte, 0, len(line)+trailerLen+24)
	body = append(body, line[:len(line)-1]...)
	if len(line) > 2 {
		body = append(body, ',')
	}
	body = append(body, `"seq":`...)
	body = strconv.AppendInt(body, seq, 10)
	body = append(body, ',')
	body = append(body, prevOpen...)
	body = append(body, prev...)
	body = append(body, `"}`...)
	mac := lineMAC(chainKey, body)
	out := append(body[:len(body)-1], macOpen[1:]...)
	out = append(out, mac...)
	return append(out, `"}`...), mac
}

// chainRecord is the line of a genesis, continuation or checkpoint record
// before its trailer.
func chainRecord(event, time string) []byte {
	b := make([]byte, 0, 80)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, SchemaVersion, 10)
	b = append(b, `,"time":"`...)
	b = append(b, time...)
	b = append(b, `","event":"`...)
	b = append(b, event...)
	return append(b, `"}`...)
}

// Checkpoint is a chain position sent off-host: the trail's line Seq had
// MAC Head when the checkpoint was sent.
type Checkpoint struct {
	// Time is when the checkpoint was sent (RFC 3339).
	Time string `json:"time"`
	// Seq is the line's position in the chain.
	Seq int64 `json:"seq"`
	// Head is the line's MAC.
	Head string `json:"head"`
}

// checkpointLine is the syslog message of a checkpoint.
func checkpointLine(time string, seq int64, head string) []byte {
	b := chainRecord(EventCheckpoint, time)
	b = append(b[:len(b)-1], `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"head":"`...)
	b = append(b, head...)
	return append(b, `"}`...)
}
