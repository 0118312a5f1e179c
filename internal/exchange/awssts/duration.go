package awssts

import (
	"fmt"
	"time"
)

// Session duration limits and the refresh windows they interact with
// (specs §1.1, §1.2).
const (
	// MinDuration is STS's minimum DurationSeconds (900 s).
	MinDuration = 15 * time.Minute
	// MaxDuration is STS's maximum DurationSeconds (43200 s); the role's
	// MaxSessionDuration may be lower, and STS then refuses the call.
	MaxDuration = 12 * time.Hour
	// DefaultDuration is what STS grants when no duration is sent.
	DefaultDuration = time.Hour

	// AdvisoryRefreshWindow is botocore's advisory refresh timeout: with
	// less than this left, boto3 asks for new credentials on next use.
	AdvisoryRefreshWindow = 15 * time.Minute
	// MandatoryRefreshWindow is botocore's mandatory refresh timeout: with
	// less than this left, boto3 blocks on a refresh and fails if the
	// refreshed credentials are still inside this window.
	MandatoryRefreshWindow = 10 * time.Minute
	// DefaultRefreshMargin is the suggested margin: cached credentials with
	// less than this left are replaced before they are handed out, so boto3
	// never receives credentials it would immediately try to refresh.
	DefaultRefreshMargin = AdvisoryRefreshWindow
	// MinUsableLifetime is how long credentials must stay usable between
	// being handed out and being refreshed (requested duration minus the
	// refresh margin); less would call STS on nearly every use.
	MinUsableLifetime = 30 * time.Second
)

// ValidateDuration checks a requested session duration and the refresh
// margin used with it. A requested duration of zero means STS's default of
// one hour.
//
// The duration must be whole seconds in 900 s..43200 s. The margin must not
// be negative and must leave at least MinUsableLifetime of the duration
// usable. A margin below AdvisoryRefreshWindow works but makes botocore call
// credential_process again on its next use of the credentials (see
// MarginAdvice); exec's credential endpoint uses short margins on purpose.
func ValidateDuration(requested, refreshMargin time.Duration) error {
	if requested == 0 {
		requested = DefaultDuration
	}
	if err := validDuration(requested); err != nil {
		return err
	}
	if refreshMargin < 0 {
		return fmt.Errorf("refresh margin %s is negative", refreshMargin)
	}
	if usable := requested - refreshMargin; usable < MinUsableLifetime {
		return fmt.Errorf("session duration %s minus the refresh margin %s leaves %s of use, less than %s; ask for a duration of at least %s",
			requested, refreshMargin, usable, MinUsableLifetime, refreshMargin+MinUsableLifetime)
	}
	return nil
}

// validDuration checks a non-zero DurationSeconds against STS's limits.
func validDuration(d time.Duration) error {
	if d%time.Second != 0 {
		return fmt.Errorf("session duration %s must be a whole number of seconds", d)
	}
	if d < MinDuration || d > MaxDuration {
		return fmt.Errorf("session duration %s is outside STS's limits of %s to %s", d, MinDuration, MaxDuration)
	}
	return nil
}

// MarginAdvice returns a one-line advice when margin is below botocore's
// advisory refresh window (boto3 then asks for credentials again on its next
// use), or "" when it is not.
func MarginAdvice(refreshMargin time.Duration) string {
	if refreshMargin >= AdvisoryRefreshWindow {
		return ""
	}
	return fmt.Sprintf("aws.refresh_margin %s is below botocore's %s advisory refresh window: boto3 will run credential_process again on its next use of credentials with less than %s left", refreshMargin, AdvisoryRefreshWindow, AdvisoryRefreshWindow)
}
