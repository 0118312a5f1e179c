// Package runctx recognises a Dagster run worker command line and extracts
// the run it executes: run id, job name, code location and step, for policy
// rules (`run.job`), STS session names and audit lines.
//
// Dagster launchers start `dagster api execute_run '<json>'`,
// `dagster api resume_run '<json>'` or
// `dagster api execute_step --compressed-input-json <base64 zlib json>`
// (specs.md §5.1), the entry point possibly being
// `<python> -m dagster`. The JSON is a serialised ExecuteRunArgs,
// ResumeRunArgs or ExecuteStepArgs whose storage names kept the old
// `pipeline_*` spelling; both spellings are read. Parsing never fails:
// anything unrecognised leaves fields empty.
package runctx

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/ident"
)

// Commands of `dagster api` that run a job.
const (
	ExecuteRun  = "execute_run"
	ResumeRun   = "resume_run"
	ExecuteStep = "execute_step"
)

// Environment variables read by Parse.
const (
	// EnvRunJobName is set by the K8s, ECS, Docker and Celery-K8s launchers.
	EnvRunJobName = "DAGSTER_RUN_JOB_NAME"
	// EnvRunID is not set by the open-source launchers (specs.md §5.3) but
	// can be set with the Kubernetes downward API from the dagster/run-id
	// label.
	EnvRunID = "DAGSTER_RUN_ID"
	// EnvRunStepKey is set by the step launchers for step workers.
	EnvRunStepKey = "DAGSTER_RUN_STEP_KEY"
	// EnvCodeLocation is read for the code location name, which the run
	// worker's arguments do not carry; set it from the dagster/code-location
	// label with the downward API.
	EnvCodeLocation = "DAGSTER_CODE_LOCATION"
	// EnvCompressedStepArgs carries ExecuteStepArgs when the step launcher
	// passes them through the environment instead of argv.
	EnvCompressedStepArgs = "DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS"
	// EnvStepArgs is the uncompressed equivalent accepted by Dagster's CLI.
	EnvStepArgs = "DAGSTER_EXECUTE_STEP_ARGS"
)

// maxInflated bounds the decompressed size of a compressed argument.
const maxInflated = 16 << 20

// Run is what a run worker's command line says about its run. Every field
// may be empty.
type Run struct {
	// ID is the run id (a UUID).
	ID string
	// Job is the job name.
	Job string
	// Location is the code location name, when known.
	Location string
	// Step is the step key of an execute_step worker running one step.
	Step string
	// Command is ExecuteRun, ResumeRun, ExecuteStep or "".
	Command string
}

// Parse reads the run from a command line (the child's argv, program
// included) and the environment. Values from argv win over the
// environment. It never panics and never fails.
func Parse(args []string, env func(string) (string, bool)) Run {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	var r Run
	i := apiIndex(args)
	if i >= 0 {
		r.Command = args[i+1]
		if doc := payload(r.Command, args[i+2:], env); doc != nil {
			fromPayload(&r, doc)
		}
	}
	fill := func(dst *string, key string) {
		if *dst != "" {
			return
		}
		if v, ok := env(key); ok {
			*dst = clean(v)
		}
	}
	fill(&r.Job, EnvRunJobName)
	fill(&r.ID, EnvRunID)
	fill(&r.Location, EnvCodeLocation)
	if r.Command == ExecuteStep {
		fill(&r.Step, EnvRunStepKey)
	}
	r.ID = validID(r.ID)
	return r
}

// apiIndex finds `dagster api <command>` in args and returns the index of
// "api", or -1.
func apiIndex(args []string) int {
	for i := 1; i+1 < len(args); i++ {
		if args[i] != "api" || !isDagster(args[i-1]) {
			continue
		}
		switch args[i+1] {
		case ExecuteRun, ResumeRun, ExecuteStep:
			return i
		}
	}
	return -1
}

// isDagster reports whether an argv element names the dagster program or
// module (`dagster`, `/usr/local/bin/dagster`, `-m dagster`).
func isDagster(s string) bool {
	return filepath.Base(s) == "dagster"
}

// payload returns the decoded JSON document of the command, or nil.
func payload(command string, rest []string, env func(string) (string, bool)) map[string]any {
	var compressed, plain string
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--compressed-input-json" && j+1 < len(rest):
			compressed = rest[j+1]
			j++
		case strings.HasPrefix(a, "--compressed-input-json="):
			compressed = strings.TrimPrefix(a, "--compressed-input-json=")
		case strings.HasPrefix(a, "-"):
			// another option; Dagster's run commands take none
		case plain == "":
			plain = a
		}
	}
	if command == ExecuteStep {
		if compressed == "" && plain == "" {
			compressed, _ = env(EnvCompressedStepArgs)
		}
		if compressed == "" && plain == "" {
			plain, _ = env(EnvStepArgs)
		}
	}
	if plain != "" {
		if doc := decodeJSON([]byte(plain)); doc != nil {
			return doc
		}
	}
	if compressed != "" {
		return decodeJSON(inflate(compressed))
	}
	return nil
}

// inflate decodes base64 (standard or URL alphabet, padded or not) and
// zlib, bounded by maxInflated; nil on any error.
func inflate(s string) []byte {
	s = strings.TrimSpace(s)
	var raw []byte
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			raw = b
			break
		}
	}
	if raw == nil {
		return nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
	if err != nil || len(out) > maxInflated {
		return nil
	}
	return out
}

// decodeJSON returns the top-level object of b, or nil.
func decodeJSON(b []byte) map[string]any {
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil
	}
	return doc
}

// fromPayload fills r from a serialised *Args document.
func fromPayload(r *Run, doc map[string]any) {
	r.ID = clean(firstString(doc, "run_id", "pipeline_run_id"))
	origin, _ := firstValue(doc, "job_origin", "pipeline_origin").(map[string]any)
	if origin != nil {
		r.Job = clean(firstString(origin, "job_name", "pipeline_name"))
	}
	if r.Job == "" {
		// Some other shape: look for the name anywhere, origin first.
		r.Job = clean(findKey(origin, "job_name", "pipeline_name"))
		if r.Job == "" {
			r.Job = clean(findKey(doc, "job_name", "pipeline_name"))
		}
	}
	r.Location = clean(findKey(doc, "location_name", "code_location_name"))
	if steps, ok := doc["step_keys_to_execute"].([]any); ok && len(steps) == 1 {
		if s, ok := steps[0].(string); ok {
			r.Step = clean(s)
		}
	}
}

// firstValue returns the value of the first key present in m.
func firstValue(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			return v
		}
	}
	return nil
}

// firstString returns the first string value among keys in m.
func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// findKey searches v breadth-first (bounded) for a string under one of keys.
func findKey(v any, keys ...string) string {
	queue := []any{v}
	for visited := 0; len(queue) > 0 && visited < 10000; visited++ {
		cur := queue[0]
		queue = queue[1:]
		switch x := cur.(type) {
		case map[string]any:
			if s := firstString(x, keys...); s != "" {
				return s
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				queue = append(queue, x[k])
			}
		case []any:
			queue = append(queue, x...)
		}
	}
	return ""
}

// maxField bounds every extracted value; longer values are dropped.
const maxField = 256

// clean returns s when it is a plausible name: printable, no control
// characters, at most maxField bytes; otherwise "".
func clean(s string) string {
	if len(s) > maxField {
		return ""
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '\uFFFD' {
			return ""
		}
	}
	return s
}

// validID returns id when it looks like a run id (a UUID or a similar
// opaque id, see ident.Valid), otherwise "".
func validID(id string) string {
	if !ident.Valid(id) {
		return ""
	}
	return id
}
