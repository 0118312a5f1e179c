package proc

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSignals records the channel Run subscribes so a test can deliver
// signals without signalling the test process.
type fakeSignals struct {
	mu      sync.Mutex
	ch      chan<- os.Signal
	sigs    []os.Signal
	stopped bool
}

func (f *fakeSignals) notify(c chan<- os.Signal, sig ...os.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ch, f.sigs = c, sig
}

func (f *fakeSignals) stop(chan<- os.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
}

func (f *fakeSignals) send(s os.Signal) {
	f.mu.Lock()
	ch := f.ch
	f.mu.Unlock()
	ch <- s
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{"success", "exit 0", 0},
		{"failure", "exit 1", 1},
		{"custom code", "exit 42", 42},
		{"killed by SIGKILL", "kill -KILL $$", 128 + 9},
		{"killed by SIGTERM", "kill -TERM $$", 128 + 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := &fakeSignals{}
			got, err := Run(context.Background(), Options{
				Path: "sh", Args: []string{"-c", tt.script},
				Notify: sigs.notify, Stop: sigs.stop,
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got != tt.want {
				t.Errorf("exit code = %d, want %d", got, tt.want)
			}
			if !sigs.stopped {
				t.Error("signal subscription was not stopped")
			}
		})
	}
}

func TestRunPassesArgvAndEnvUnchanged(t *testing.T) {
	args := []string{"-c", `printf '%s|' "$@"; printf '%s' "$ONLY"`, "argv0",
		`{"__class__": "ExecuteRunArgs", "x": "a b  'c' $HOME \"d\""}`, "", "  spaced  ", "ünï\tcode"}
	var out bytes.Buffer
	code, err := Run(context.Background(), Options{
		Path: "sh", Args: args, Env: []string{"ONLY=set"}, Stdout: &out,
		Notify: (&fakeSignals{}).notify, Stop: (&fakeSignals{}).stop,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	want := strings.Join(args[3:], "|") + "|set"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("child output (-want +got):\n%s", diff)
	}
}

func TestRunForwardsSignals(t *testing.T) {
	tests := []struct {
		name string
		sig  syscall.Signal
		trap string
		want int
	}{
		{"SIGTERM trapped", syscall.SIGTERM, "TERM", 7},
		{"SIGINT trapped", syscall.SIGINT, "INT", 7},
		{"SIGHUP untrapped kills", syscall.SIGHUP, "USR1", 128 + int(syscall.SIGHUP)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := &fakeSignals{}
			r, w := io.Pipe()
			script := `trap "exit 7" ` + tt.trap + `; echo ready; while :; do sleep 0.05; done`
			type result struct {
				code int
				err  error
			}
			res := make(chan result, 1)
			go func() {
				code, err := Run(context.Background(), Options{
					Path: "sh", Args: []string{"-c", script}, Stdout: w,
					Notify: sigs.notify, Stop: sigs.stop,
				})
				w.Close()
				res <- result{code, err}
			}()
			buf := make([]byte, len("ready\n"))
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatalf("child did not become ready: %v", err)
			}
			go io.Copy(io.Discard, r)
			if got := sigs.sigs; len(got) != len(DefaultSignals) {
				t.Errorf("subscribed to %v, want %v", got, DefaultSignals)
			}
			sigs.send(tt.sig)
			select {
			case got := <-res:
				if got.err != nil || got.code != tt.want {
					t.Errorf("Run = %d, %v; want %d", got.code, got.err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("child did not exit after the forwarded signal")
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		path string
	}{
		{"missing program", context.Background(), "definitely-not-a-program-dagster-oidc"},
		{"empty path", context.Background(), ""},
		{"cancelled before start", cancelled, "sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(tt.ctx, Options{Path: tt.path, Notify: (&fakeSignals{}).notify, Stop: (&fakeSignals{}).stop})
			if err == nil {
				t.Fatal("Run returned no error")
			}
		})
	}
}

func TestRunReportsPid(t *testing.T) {
	var pid int
	_, err := Run(context.Background(), Options{
		Path: "true", Started: func(p int) { pid = p },
		Notify: (&fakeSignals{}).notify, Stop: (&fakeSignals{}).stop,
	})
	if err != nil {
		t.Fatal(err)
	}
	if pid <= 0 {
		t.Errorf("Started got pid %d", pid)
	}
}
