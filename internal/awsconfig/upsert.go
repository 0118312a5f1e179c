package awsconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// UpsertProfile sets settings (e.g. credential_process, region) in the
// profile's section of the AWS config file at path and reports whether the
// file changed.
//
// The section is "[default]" for the profile "default" (an existing
// "[profile default]" is also recognised) and "[profile NAME]" otherwise; it
// is appended when absent. A key already in the section has its line
// replaced by "key = value"; a new key is added after the section's last
// key, in sorted order. Indented sub-settings (as under "s3 ="), comments,
// other keys and other sections are kept byte for byte, and so are CRLF
// line endings. A setting with an empty value is left as it is.
//
// When nothing changes the file is not written. Otherwise the new content is
// written to a temporary file in the same directory and renamed over path
// (through a symlink, the link's target is replaced), keeping an existing
// file's mode; a new file is created 0600 and a missing directory 0700.
func UpsertProfile(path, profile string, settings map[string]string) (changed bool, err error) {
	if err := validate(profile, settings); err != nil {
		return false, err
	}
	lower := make(map[string]string, len(settings))
	for k, v := range settings {
		lower[strings.ToLower(k)] = v
	}
	settings = lower
	target, err := resolve(path)
	if err != nil {
		return false, err
	}
	old, mode, err := read(target)
	if err != nil {
		return false, err
	}
	updated := upsert(old, profile, settings)
	if bytes.Equal(old, updated) {
		return false, nil
	}
	if err := writeAtomic(target, updated, mode); err != nil {
		return false, err
	}
	return true, nil
}

// validate refuses names and values that would corrupt the file.
func validate(profile string, settings map[string]string) error {
	if profile == "" || strings.ContainsAny(profile, "[]\r\n\t ") {
		return fmt.Errorf("could not write the AWS config: profile name %q must be non-empty, without spaces or brackets", profile)
	}
	for k, v := range settings {
		if k == "" || strings.ContainsFunc(k, func(r rune) bool {
			return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			return fmt.Errorf("could not write the AWS config: setting name %q must be letters, digits, _ or -", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("could not write the AWS config: the value of %s contains a line break", k)
		}
	}
	return nil
}

// resolve follows a symlink at path so that the rename replaces the file the
// user's link points to rather than the link.
func resolve(path string) (string, error) {
	target, err := filepath.EvalSymlinks(path)
	switch {
	case err == nil:
		return target, nil
	case errors.Is(err, fs.ErrNotExist):
		return path, nil
	default:
		return "", fmt.Errorf("could not resolve the AWS config path: %w", err)
	}
}

// read returns the file content and mode; an absent file is empty and 0600.
func read(path string) ([]byte, fs.FileMode, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("could not read the AWS config: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("could not read the AWS config: %w", err)
	}
	return data, info.Mode().Perm(), nil
}

// writeAtomic writes data next to path and renames it into place.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("could not create the AWS config directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("could not write the AWS config: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("could not write the AWS config: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("could not write the AWS config: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("could not write the AWS config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("could not write the AWS config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("could not write the AWS config: %w", err)
	}
	return nil
}

// upsert returns content with the profile's settings applied.
func upsert(content []byte, profile string, settings map[string]string) []byte {
	lines := splitLines(content)
	eol := "\n"
	if bytes.Contains(content, []byte("\r\n")) {
		eol = "\r\n"
	}
	keys := make([]string, 0, len(settings))
	for k, v := range settings {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return content
	}

	start, end := findSection(lines, profile)
	if start < 0 {
		return appendSection(content, profile, keys, settings, eol)
	}
	done := map[string]bool{}
	lastKey := start // the line after which new keys go
	for i := start + 1; i < end; i++ {
		key, ok := keyOf(lines[i])
		if !ok {
			if isContinuation(lines[i]) && lastKey == i-1 {
				lastKey = i
			}
			continue
		}
		lastKey = i
		v, want := settings[key]
		if !want || v == "" || done[key] {
			continue
		}
		done[key] = true
		lines[i] = key + " = " + v + lineEnding(lines[i], eol)
	}
	var added []string
	for _, k := range keys {
		if !done[k] {
			added = append(added, k+" = "+settings[k]+eol)
		}
	}
	if len(added) > 0 {
		if !strings.HasSuffix(lines[lastKey], "\n") {
			lines[lastKey] += eol // the section ended the file without a newline
		}
		rest := append(added, lines[lastKey+1:]...)
		lines = append(lines[:lastKey+1], rest...)
	}
	return []byte(strings.Join(lines, ""))
}

// appendSection adds a new section at the end, after one blank line.
func appendSection(content []byte, profile string, keys []string, settings map[string]string, eol string) []byte {
	var b bytes.Buffer
	b.Write(content)
	if len(bytes.TrimSpace(content)) > 0 {
		if !bytes.HasSuffix(content, []byte("\n")) {
			b.WriteString(eol)
		}
		if !endsWithBlankLine(content) {
			b.WriteString(eol)
		}
	}
	b.WriteString("[" + sectionName(profile) + "]" + eol)
	for _, k := range keys {
		b.WriteString(k + " = " + settings[k] + eol)
	}
	return b.Bytes()
}

// endsWithBlankLine reports whether content ends with an empty line.
func endsWithBlankLine(content []byte) bool {
	trimmed := bytes.TrimRight(content, " \t")
	return bytes.HasSuffix(trimmed, []byte("\n\n")) || bytes.HasSuffix(trimmed, []byte("\n\r\n"))
}

// sectionName is the header text for profile.
func sectionName(profile string) string {
	if profile == "default" {
		return "default"
	}
	return "profile " + profile
}

// findSection returns the header line of the profile's section and the
// index of the next section header (or len(lines)); start is -1 when
// absent. Header names are compared as botocore does: "profile" and the
// name separated by any whitespace.
func findSection(lines []string, profile string) (start, end int) {
	start = -1
	for i, l := range lines {
		name, ok := headerOf(l)
		if !ok {
			continue
		}
		if start >= 0 {
			return start, i
		}
		fields := strings.Fields(name)
		switch {
		case len(fields) == 2 && fields[0] == "profile" && fields[1] == profile:
			start = i
		case len(fields) == 1 && profile == "default" && fields[0] == "default":
			start = i
		}
	}
	return start, len(lines)
}

// splitLines splits after each "\n", keeping the line endings, so joining
// the result gives back the input exactly.
func splitLines(content []byte) []string {
	if len(content) == 0 {
		return nil
	}
	return strings.SplitAfter(string(content), "\n")[:countLines(content)]
}

func countLines(content []byte) int {
	n := bytes.Count(content, []byte("\n"))
	if !bytes.HasSuffix(content, []byte("\n")) {
		n++
	}
	return n
}

// headerOf returns the name inside a "[name]" line.
func headerOf(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if len(t) < 2 || t[0] != '[' || t[len(t)-1] != ']' {
		return "", false
	}
	return strings.TrimSpace(t[1 : len(t)-1]), true
}

// keyOf returns the key of an unindented "key = value" line.
func keyOf(line string) (string, bool) {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return "", false
	}
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' || t[0] == ';' {
		return "", false
	}
	k, _, ok := strings.Cut(t, "=")
	if !ok {
		return "", false
	}
	// botocore's configparser folds option names to lower case.
	return strings.ToLower(strings.TrimSpace(k)), true
}

// isContinuation reports whether line is an indented sub-setting line.
func isContinuation(line string) bool {
	return (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && strings.TrimSpace(line) != ""
}

// lineEnding keeps the ending a replaced line had.
func lineEnding(line, eol string) string {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(line, "\n"):
		return "\n"
	}
	return "" // the last line of a file without a final newline
}
