package cli

// audit writes one record to the configured sinks.
func (r *resolved) audit(rec auditRecord) {}

// close flushes what the resolved profile opened (the audit sinks).
func (r *resolved) close() {}
