package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// scenario is one GraphQL request the benchmark repeats.
type scenario struct {
	Name string
	// File is the body under testdata.
	File string
	// check validates one answer (the request did what it should).
	check func(body []byte) error
}

var scenarios = []scenario{
	{Name: "runs page query (RunsFeedRootQuery)", File: "runs-feed-root.json", check: checkRunsFeed},
	{Name: "mutation (logTelemetry)", File: "log-telemetry.json", check: checkTelemetry},
}

func checkRunsFeed(body []byte) error {
	var r struct {
		Data struct {
			RunsFeedOrError struct {
				Results []struct{ ID string }
			}
		}
		Errors []any
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return err
	}
	if len(r.Errors) > 0 || len(r.Data.RunsFeedOrError.Results) == 0 {
		return fmt.Errorf("no runs in the answer: %.300s", body)
	}
	return nil
}

func checkTelemetry(body []byte) error {
	var r struct {
		Data struct {
			LogTelemetry struct{ Action string }
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return err
	}
	if r.Data.LogTelemetry.Action != "graphql_query_completed" {
		return fmt.Errorf("the mutation did not run: %.300s", body)
	}
	return nil
}

// wrkStats are one wrk run's figures (testdata/post.lua).
type wrkStats struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	StatusErrors  int64   `json:"status_errors"`
	Timeouts      int64   `json:"timeouts"`
	P50US         int64   `json:"p50_us"`
	P90US         int64   `json:"p90_us"`
	P99US         int64   `json:"p99_us"`
	MeanUS        float64 `json:"mean_us"`
	MaxUS         int64   `json:"max_us"`
	// Hist is wrk's latency histogram: [microseconds, count] pairs.
	Hist [][2]int64 `json:"hist"`
}

// RPS is the throughput of the run.
func (w wrkStats) RPS() float64 {
	if w.DurationUS <= 0 {
		return 0
	}
	return float64(w.Requests) / (float64(w.DurationUS) / 1e6)
}

func (w wrkStats) errors() int64 {
	return w.ConnectErrors + w.ReadErrors + w.WriteErrors + w.StatusErrors + w.Timeouts
}

// parseWrk finds the JSON line post.lua prints in wrk's output.
func parseWrk(out []byte) (wrkStats, error) {
	var w wrkStats
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20) // the histogram makes a long line
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, `{"requests":`) {
			err := json.Unmarshal([]byte(line), &w)
			return w, err
		}
	}
	return w, fmt.Errorf("no result line in wrk's output: %.500s", out)
}

// runResult is one wrk run of one contender on one scenario.
type runResult struct {
	Round     int      `json:"round"`
	Position  int      `json:"position"`
	Contender string   `json:"contender"`
	Scenario  string   `json:"scenario"`
	Load1     float64  `json:"load1"`
	Stats     wrkStats `json:"stats"`
	RPS       float64  `json:"rps"`
}

// wsResult is the RSS of one contender's process over idle graphql-ws
// connections.
type wsResult struct {
	Contender string  `json:"contender"`
	Process   string  `json:"process"`
	Open      int     `json:"open"`
	BeforeKiB int64   `json:"rss_before_kib"`
	AfterKiB  int64   `json:"rss_after_kib"`
	PerConnKB float64 `json:"per_connection_kib"`
}

// results are everything a run measured.
type results struct {
	Started     time.Time         `json:"started"`
	Finished    time.Time         `json:"finished"`
	UptimeStart string            `json:"uptime_start"`
	UptimeEnd   string            `json:"uptime_end"`
	CPU         string            `json:"cpu"`
	Go          string            `json:"go"`
	Versions    map[string]string `json:"versions"`
	Rounds      int               `json:"rounds"`
	Duration    string            `json:"duration"`
	Connections int               `json:"connections"`
	StubConns   int               `json:"stub_connections"`
	Contenders  []string          `json:"contenders"`
	Scenarios   []string          `json:"scenarios"`
	Runs        []runResult       `json:"runs"`
	WS          []wsResult        `json:"websockets"`
	Refusal     string            `json:"refusal_check"`
}

func uptime() string {
	b, _ := exec.Command("uptime").Output()
	return strings.TrimSpace(string(b))
}

func load1() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return ""
}

// rotate is order shifted left by n: every contender takes every position
// once in len(order) rounds.
func rotate[T any](order []T, n int) []T {
	k := n % len(order)
	return append(append([]T(nil), order[k:]...), order[:k]...)
}

func benchmark(ctx context.Context, o *options, dir string, logf func(string, ...any)) (*results, error) {
	for _, f := range []string{o.CLI, o.OAuth2Proxy, filepath.Join(o.Venv, "bin", "dagster-webserver"), filepath.Join(o.BenchVenv, "bin", "dagster-authkit")} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%v (bench/proxy/run.sh builds and installs what is missing)", err)
		}
	}
	if _, err := exec.LookPath(o.Wrk); err != nil {
		return nil, fmt.Errorf("no wrk (Debian: apt-get install -y wrk): %v", err)
	}
	res := &results{Started: time.Now().UTC(), UptimeStart: uptime(), CPU: cpuModel(), Go: runtime.Version(),
		Rounds: o.Rounds, Duration: o.Duration.String(), Connections: o.Connections, StubConns: o.StubConns}
	s, err := start(ctx, o, dir, logf)
	if err != nil {
		return nil, err
	}
	defer s.close()
	res.Versions = s.versions
	for _, c := range s.contenders {
		res.Contenders = append(res.Contenders, c.Name)
	}
	for _, sc := range scenarios {
		res.Scenarios = append(res.Scenarios, sc.Name)
	}

	// Each contender answers each scenario correctly before it is timed.
	for _, sc := range scenarios {
		body, err := os.ReadFile(filepath.Join(o.Testdata, sc.File))
		if err != nil {
			return nil, err
		}
		for _, c := range s.contenders {
			answer, err := post(c, body)
			if err == nil {
				err = sc.check(answer)
			}
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", c.Name, sc.Name, err)
			}
		}
	}
	for _, name := range []string{cOIDC, cOIDCStub} {
		if c := s.get(name); c != nil {
			msg, err := checkRefusal(c)
			if err != nil {
				return nil, err
			}
			res.Refusal = msg
		}
	}

	// The header files wrk reads (cookies stay out of argv).
	headerFiles := map[string]string{}
	for i, c := range s.contenders {
		var b strings.Builder
		b.WriteString("Content-Type: application/json\nAccept: application/json\n")
		for k, vs := range c.Headers {
			for _, v := range vs {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
		f := filepath.Join(dir, fmt.Sprintf("headers-%d", i))
		if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		headerFiles[c.Name] = f
	}
	script, err := filepath.Abs(filepath.Join(o.Testdata, "post.lua"))
	if err != nil {
		return nil, err
	}
	wrk := func(c *contender, sc scenario, d time.Duration) (wrkStats, error) {
		body, _ := filepath.Abs(filepath.Join(o.Testdata, sc.File))
		rctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
		defer cancel()
		conns := o.Connections
		if baseline(c.Name) == cStub {
			conns = o.StubConns
		}
		cmd := exec.CommandContext(rctx, o.Wrk, "-t1", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(d.Seconds())),
			"--timeout", "10s", "-s", script, c.URL+"/graphql", "--", body, headerFiles[c.Name])
		out, err := cmd.CombinedOutput()
		if err != nil {
			return wrkStats{}, fmt.Errorf("wrk %s: %v\n%s", c.Name, err, out)
		}
		w, err := parseWrk(out)
		if err != nil {
			return w, err
		}
		// A wrong answer fails the run; so do socket errors (connections
		// closed under wrk) past 5% of the requests. Fewer are reported
		// (oauth2-proxy in front of the stub drops about 1–2% at c=1).
		if w.StatusErrors > 0 || w.Requests == 0 || w.errors()*20 > w.Requests {
			logs := ""
			if c.proc != nil {
				logs = tail(c.proc.logs.String(), 3000)
			}
			return w, fmt.Errorf("wrk %s, %s: %d requests, %d errors (connect %d, read %d, write %d, status %d, timeout %d)\n%s",
				c.Name, sc.Name, w.Requests, w.errors(), w.ConnectErrors, w.ReadErrors, w.WriteErrors, w.StatusErrors, w.Timeouts, logs)
		}
		return w, nil
	}

	logf("warm-up: 2 s per contender and scenario")
	for _, sc := range scenarios {
		for _, c := range s.contenders {
			if _, err := wrk(c, sc, 2*time.Second); err != nil {
				return nil, err
			}
		}
	}
	for r := 0; r < o.Rounds; r++ {
		order := rotate(s.contenders, r)
		for _, sc := range scenarios {
			for pos, c := range order {
				l := load1()
				w, err := wrk(c, sc, o.Duration)
				if err != nil {
					return nil, err
				}
				res.Runs = append(res.Runs, runResult{Round: r, Position: pos, Contender: c.Name, Scenario: sc.Name, Load1: l, Stats: w, RPS: w.RPS()})
				logf("round %d/%d %-20s %-38s p50 %6.2f ms  p99 %6.2f ms  %6.1f req/s  (load %.2f)",
					r+1, o.Rounds, c.Name, sc.Name, float64(w.P50US)/1000, float64(w.P99US)/1000, w.RPS(), l)
			}
		}
	}

	if o.WS > 0 {
		for _, c := range s.contenders {
			if c.proc == nil {
				continue
			}
			w, err := wsMemory(ctx, c, o.WS)
			if err != nil {
				return nil, err
			}
			res.WS = append(res.WS, w)
			logf("websockets: %s: %d open, RSS %d → %d KiB (%.1f KiB each)", c.Name, w.Open, w.BeforeKiB, w.AfterKiB, w.PerConnKB)
		}
	}
	res.Finished = time.Now().UTC()
	res.UptimeEnd = uptime()
	return res, nil
}

func post(c *contender, body []byte) ([]byte, error) {
	req, _ := http.NewRequest("POST", c.URL+"/graphql", bytes.NewReader(body))
	for k, v := range c.Headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b.Bytes())
	}
	return b.Bytes(), nil
}

// checkRefusal shows that dagster-oidc proxy reads the GraphQL it passes:
// the same signed-in launcher is refused a mutation that needs admin.
func checkRefusal(c *contender) (string, error) {
	body := []byte(`{"operationName":"Wipe","query":"mutation Wipe { wipeAssets(assetPartitionRanges: []) { __typename } }","variables":{}}`)
	answer, err := post(c, body)
	if err != nil {
		return "", fmt.Errorf("refusal check: %w", err)
	}
	// The refusal comes as a GraphQL error, or (so the UI shows it) as the
	// field's PythonError; either way in the proxy's words.
	var r struct {
		Data struct {
			WipeAssets struct {
				Typename string `json:"__typename"`
				Message  string
			}
		}
		Errors []struct{ Message string }
	}
	_ = json.Unmarshal(answer, &r)
	msg := r.Data.WipeAssets.Message
	if len(r.Errors) > 0 {
		msg = r.Errors[0].Message
	}
	if !strings.HasPrefix(msg, "dagster-oidc: wipeAssets needs the admin role") {
		return "", fmt.Errorf("refusal check: the admin-only mutation was not refused: %.300s", answer)
	}
	return msg, nil
}

// wsMemory opens n idle graphql-ws connections (connection_init answered
// by connection_ack) through c and reads its process's RSS before and
// after.
func wsMemory(ctx context.Context, c *contender, n int) (wsResult, error) {
	res := wsResult{Contender: c.Name, Process: c.proc.name}
	before, err := rssKiB(c.proc.cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	res.BeforeKiB = before
	u := "ws" + strings.TrimPrefix(c.URL, "http") + "/graphql"
	var conns []*websocket.Conn
	defer func() {
		for _, k := range conns {
			k.CloseNow()
		}
	}()
	for i := 0; i < n; i++ {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		k, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPHeader: c.Headers.Clone(), Subprotocols: []string{"graphql-ws"}})
		if err != nil {
			cancel()
			if resp != nil {
				return res, fmt.Errorf("websocket %d through %s: %v (HTTP %d)", i, c.Name, err, resp.StatusCode)
			}
			return res, fmt.Errorf("websocket %d through %s: %v", i, c.Name, err)
		}
		conns = append(conns, k)
		if err := k.Write(dctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{}}`)); err != nil {
			cancel()
			return res, err
		}
		for {
			_, m, err := k.Read(dctx)
			if err != nil {
				cancel()
				return res, fmt.Errorf("websocket %d through %s: no connection_ack: %v", i, c.Name, err)
			}
			if bytes.Contains(m, []byte(`"connection_ack"`)) {
				break
			}
		}
		cancel()
	}
	res.Open = len(conns)
	// Let the relays settle (goroutines parked, buffers allocated).
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(3 * time.Second):
	}
	after, err := rssKiB(c.proc.cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	if res.Open == 0 {
		return res, errors.New("no websocket opened")
	}
	res.AfterKiB = after
	res.PerConnKB = float64(after-before) / float64(res.Open)
	return res, nil
}
