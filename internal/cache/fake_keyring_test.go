package cache

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// fakeKeyring is an in-memory Keyring that can mimic a platform's item size
// limit, fail after a number of writes, or block every call.
type fakeKeyring struct {
	mu    sync.Mutex
	items map[[2]string]string

	// maxSize, when > 0, rejects larger secrets with ErrTooBig (Windows:
	// 2,560 bytes).
	maxSize int
	// dying, when true, lets setsLeft more Sets succeed and fails every
	// Set after them, as a backend that goes away mid-write.
	dying    bool
	setsLeft int
	// block, when non-nil, makes calls wait until it is closed: every call,
	// or only those of blockOp ("get", "set", "delete") when it is set.
	block   chan struct{}
	blockOp string
	// onGet, when set, runs before each Get (outside the mutex).
	onGet func(user string)
	// deleteAllCalls counts DeleteAll calls.
	deleteAllCalls int
}

var errBackendDown = errors.New("backend went away")

func newFakeKeyring() *fakeKeyring { return &fakeKeyring{items: map[[2]string]string{}} }

func (f *fakeKeyring) wait(op string) {
	if f.block != nil && (f.blockOp == "" || f.blockOp == op) {
		<-f.block
	}
}

func (f *fakeKeyring) Get(service, user string) (string, error) {
	f.wait("get")
	if f.onGet != nil {
		f.onGet(user)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[[2]string{service, user}]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

func (f *fakeKeyring) Set(service, user, password string) error {
	f.wait("set")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxSize > 0 && len(password) > f.maxSize {
		return fmt.Errorf("%w: %d bytes", ErrTooBig, len(password))
	}
	if f.dying {
		if f.setsLeft == 0 {
			return errBackendDown
		}
		f.setsLeft--
	}
	f.items[[2]string{service, user}] = password
	return nil
}

func (f *fakeKeyring) Delete(service, user string) error {
	f.wait("delete")
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{service, user}
	if _, ok := f.items[k]; !ok {
		return ErrNotFound
	}
	delete(f.items, k)
	return nil
}

func (f *fakeKeyring) DeleteAll(service string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteAllCalls++
	for k := range f.items {
		if k[0] == service {
			delete(f.items, k)
		}
	}
	return nil
}

// users lists the item names of service, sorted.
func (f *fakeKeyring) users(service string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.items {
		if k[0] == service {
			out = append(out, k[1])
		}
	}
	sort.Strings(out)
	return out
}

// put writes an item directly, bypassing limits, to tamper with a store.
func (f *fakeKeyring) put(service, user, password string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[[2]string{service, user}] = password
}

func (f *fakeKeyring) chunkUsers(service, key string) []string {
	var out []string
	for _, u := range f.users(service) {
		if strings.HasPrefix(u, key+"#") {
			out = append(out, u)
		}
	}
	return out
}
