package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/dagster-oidc/dagster-oidc/internal/readfile"
)

// fileSource reads a JWT from a file on every call: kubernetes (a projected
// service-account token), web-identity-file (AWS_WEB_IDENTITY_TOKEN_FILE, EKS
// IRSA), azure-file (AZURE_FEDERATED_TOKEN_FILE) and file (any path).
//
// The kubelet swaps projected tokens atomically through a ..data symlink, so
// the file is opened by path each time and no descriptor is kept.
type fileSource struct {
	name string
	// envVar names the variable holding the path; path overrides it when set.
	envVar string
	path   string
	o      WorkloadOptions
}

// Name returns the source's name.
func (s *fileSource) Name() string { return s.name }

// Interactive returns false: no human is needed.
func (s *fileSource) Interactive() bool { return false }

// Token reads and checks the token file.
func (s *fileSource) Token(ctx context.Context) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, where := s.path, "file "+s.path
	if path == "" {
		v, ok := s.o.lookup(s.envVar)
		if !ok {
			return nil, workloadFail(s.name, "variable "+s.envVar, s.envVar, CauseUnset, fmt.Errorf("%s is not set", s.envVar))
		}
		path, where = v, fmt.Sprintf("file %s from %s", v, s.envVar)
	}
	data, err := s.o.ReadFile(path)
	if err != nil {
		return nil, workloadFail(s.name, where, s.envVar, CauseUnreadable, fmt.Errorf("could not read the token file: %w", err))
	}
	tok, err := workloadToken(s.name, string(data), s.o)
	if err != nil {
		return nil, workloadFail(s.name, where, s.envVar, CauseFailed, err)
	}
	return tok, nil
}

// errWorkloadTooLarge is returned for files and bodies over workloadMaxBody.
var errWorkloadTooLarge = errors.New("larger than 1 MiB")

// workloadReadFile reads the regular file at path, at most workloadMaxBody
// bytes; a named pipe or device is refused rather than waited on.
func workloadReadFile(path string) ([]byte, error) {
	data, err := readfile.Regular(path, workloadMaxBody)
	if errors.Is(err, readfile.ErrTooLarge) {
		return nil, errWorkloadTooLarge
	}
	return data, err
}
