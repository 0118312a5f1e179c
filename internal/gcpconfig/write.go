package gcpconfig

import (
	"fmt"

	"github.com/dagster-oidc/dagster-oidc/internal/atomicfile"
)

// Write stores data at path atomically with mode 0600, creating missing
// parent directories with mode 0700.
func Write(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("could not write the gcp credential configuration %s: %w", path, err)
	}
	return nil
}
