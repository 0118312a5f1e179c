package credentials

import (
	"context"
	"errors"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// document is the cached document of one cloud's credentials of a profile:
// one entry per slot (requested target, Dagster run, exchange settings), so
// that logout removes them all at once.
type document[E any] struct {
	Entries map[string]E `json:"entries"`
}

// exchange describes one cloud for cachedExchange.
type exchange[E any] struct {
	// kind is the cache kind of the document; what names it in warnings.
	kind, what string
	// margin: an entry with less than this left is exchanged again.
	margin time.Duration
	// expiry returns an entry's expiry.
	expiry func(E) time.Time
	// short is the warning for credentials issued with less than margin
	// left; it gets the validity and the margin.
	short string
}

// Cached is a cloud credential and whether it came from the cache.
type Cached[E any] struct {
	Entry     E
	FromCache bool
}

// LockKind is the cache key kind of the lock held around the exchange of
// the cloud whose cached document is of kind (cache.KindAWS, cache.KindGCP);
// logout takes the same locks.
func LockKind(kind string) string { return kind + "-lock" }

// cachedExchange is the one routine both clouds use: serve the slot from
// the profile's document while it has more than the margin left; else, under
// the profile's lock of the cloud, read again (another process may have
// exchanged), get a verified token, mint with it, warn when what was issued
// is already within the margin, drop expired entries and write the
// document. The cache-hit path is one store read and nothing else.
func cachedExchange[E any](ctx context.Context, s *Service, x exchange[E], slot string, mint func(ctx context.Context, tok *session.Result) (E, error)) (*Cached[E], error) {
	key := s.Tokens.Key(x.kind)
	e, ok, err := lookup(s, x, key, slot)
	if err != nil {
		return nil, err
	}
	if ok {
		s.Debug.Printf("cache %s: %s served, valid until %s", key, x.what, x.expiry(e).UTC().Format(time.RFC3339))
		return &Cached[E]{Entry: e, FromCache: true}, nil
	}
	s.Debug.Printf("cache %s: no %s with more than %s left; exchanging", key, x.what, x.margin)
	unlock, err := s.Locker.Lock(ctx, s.Tokens.Key(LockKind(x.kind)))
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlock() }()
	if e, ok, err := lookup(s, x, key, slot); err != nil {
		return nil, err
	} else if ok {
		s.Debug.Printf("cache %s: another process stored fresh %s meanwhile", key, x.what)
		return &Cached[E]{Entry: e, FromCache: true}, nil
	}
	tok, err := s.Tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	e, err = mint(ctx, tok)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if left := x.expiry(e).Sub(now); left <= x.margin {
		s.warnf(x.short, left.Round(time.Second), x.margin)
	}
	doc, err := readDocument[E](s, key, x)
	if err != nil {
		return nil, err
	}
	for k, old := range doc.Entries {
		if !x.expiry(old).After(now) {
			delete(doc.Entries, k)
		}
	}
	doc.Entries[slot] = e
	if data, err := cache.Encode(x.kind, doc); err == nil {
		if err := s.Store.Set(key, data); err != nil {
			s.warnf("warning: could not cache the %s: %v", x.what, err)
		}
	}
	return &Cached[E]{Entry: e}, nil
}

// lookup returns the slot's entry when it has more than the margin left.
func lookup[E any](s *Service, x exchange[E], key, slot string) (E, bool, error) {
	var zero E
	doc, err := readDocument[E](s, key, x)
	if err != nil {
		return zero, false, err
	}
	e, ok := doc.Entries[slot]
	if !ok || !x.expiry(e).After(s.Clock.Now().Add(x.margin)) {
		return zero, false, nil
	}
	return e, true, nil
}

// readDocument reads a credentials document; an unreadable one is
// discarded with a warning and reads as empty. An entry another user could
// have written is refused (cache.ErrUntrusted, issue 15.1), not replaced
// in silence.
func readDocument[E any](s *Service, key string, x exchange[E]) (document[E], error) {
	var doc document[E]
	data, err := s.Store.Get(key)
	if errors.Is(err, cache.ErrUntrusted) {
		return doc, err
	}
	if err == nil {
		err = cache.Decode(data, x.kind, &doc)
		if errors.Is(err, cache.ErrCorrupt) {
			_ = s.Store.Delete(key)
			s.warnf("warning: discarded unreadable cached %s (%v)", x.what, err)
		}
	}
	if err != nil || doc.Entries == nil {
		doc.Entries = map[string]E{}
	}
	return doc, nil
}

// exchanged records the outcome of an exchange of a token from source for
// the audit trail and returns err with the hint that fits it and the
// source: the one place an exchange failure gets its advice, for both
// clouds.
func (s *Service) exchanged(rec Record, source string, expiry time.Time, err error) error {
	err = withExchangeHint(err, source)
	rec.Event, rec.Outcome, rec.Err = "exchange", outcomeOf(err), err
	if err == nil {
		rec.Expiry = expiry
	}
	s.record(rec)
	return err
}
