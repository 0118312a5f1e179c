// Package cache stores tokens and cloud credentials between dagster-oidc runs.
//
// A [Store] maps a key (usually [Key.String]) to bytes. Four stores exist:
// [KeyringStore] (the OS keyring through a [Keyring] such as oskeyring.Keyring,
// with values split into chunks small enough for macOS and Windows),
// [FileStore] (one 0600 file per key in a 0700 directory), [MemoryStore] and
// [NoneStore]. [Select] picks one for a profile's `cache:` mode.
//
// Values are versioned entries made with [Encode] and read with [Decode].
// [Lock] serialises dagster-oidc processes that would otherwise refresh the
// same rotating refresh token at the same time (specs.md §3.4).
//
// The package never imports cobra or the config package: callers pass plain
// values in and get errors out. docs/cache.md describes what lives where.
package cache
