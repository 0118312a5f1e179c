package output

import (
	"fmt"
	"io"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
)

// AuditVerified prints `audit verify`'s line for an intact trail of files
// (oldest first): how many lines, from where the chain starts and, when
// checkpoints were compared (read of them), how many matched.
func AuditVerified(w io.Writer, files []string, rep audit.Report, checkpoints bool, read int) error {
	start := "from its genesis record"
	if !rep.Genesis {
		start = fmt.Sprintf("from chain line %d (earlier lines rotated away)", rep.FirstSeq)
	}
	line := fmt.Sprintf("%s: %d lines in %d files, keyed chain intact %s", files[len(files)-1], rep.Lines, len(files), start)
	if checkpoints {
		line += fmt.Sprintf("; %d of %d checkpoints matched, %d older than the kept lines", rep.Checkpoints, read, rep.Rotated)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
