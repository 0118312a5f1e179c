package runctx

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/ident"
)

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(b), "\n")
}

func compress(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParse(t *testing.T) {
	run := fixture(t, "execute_run.json")
	newNames := fixture(t, "execute_run_job_names.json")
	resume := fixture(t, "resume_run.json")
	step := fixture(t, "execute_step.json")
	stepB64 := fixture(t, "execute_step.b64") // produced by Python's zlib + base64, as Dagster does

	wantRun := Run{ID: "5f2c5a3e-8d1b-4c7a-9e0f-1a2b3c4d5e6f", Job: "etl_daily", Command: ExecuteRun}
	wantStep := Run{ID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", Job: "etl_daily", Step: "load_orders", Command: ExecuteStep}

	tests := []struct {
		name string
		args []string
		env  func(string) (string, bool)
		want Run
	}{
		{"execute_run", []string{"dagster", "api", "execute_run", run}, nil, wantRun},
		{"execute_run with job_* names", []string{"dagster", "api", "execute_run", newNames}, nil, wantRun},
		{"python -m dagster", []string{"/usr/local/bin/python", "-m", "dagster", "api", "execute_run", run}, nil, wantRun},
		{"absolute dagster path", []string{"/opt/venv/bin/dagster", "api", "execute_run", run}, nil, wantRun},
		{"resume_run", []string{"dagster", "api", "resume_run", resume}, nil,
			Run{ID: "0b7d2e1f-3c4a-4e5b-8f6a-7b8c9d0e1f2a", Job: "etl_hourly", Command: ResumeRun}},
		{"execute_step compressed argv", []string{"dagster", "api", "execute_step", "--compressed-input-json", stepB64}, nil, wantStep},
		{"execute_step compressed argv with equals", []string{"dagster", "api", "execute_step", "--compressed-input-json=" + compress(t, step)}, nil, wantStep},
		{"execute_step compressed env", []string{"dagster", "api", "execute_step"}, envOf(EnvCompressedStepArgs, stepB64), wantStep},
		{"execute_step plain env", []string{"dagster", "api", "execute_step"}, envOf(EnvStepArgs, step), wantStep},
		{"execute_step plain argv", []string{"dagster", "api", "execute_step", step}, nil, wantStep},
		{"execute_step step key from env", []string{"dagster", "api", "execute_step"}, envOf(EnvRunStepKey, "transform", EnvRunJobName, "etl_daily"),
			Run{Job: "etl_daily", Step: "transform", Command: ExecuteStep}},
		{"env only", []string{"dagster", "code-server", "start", "-m", "analytics"},
			envOf(EnvRunID, "5f2c5a3e-8d1b-4c7a-9e0f-1a2b3c4d5e6f", EnvRunJobName, "etl_daily", EnvCodeLocation, "analytics", EnvRunStepKey, "ignored"),
			Run{ID: "5f2c5a3e-8d1b-4c7a-9e0f-1a2b3c4d5e6f", Job: "etl_daily", Location: "analytics"}},
		{"argv wins over env", []string{"dagster", "api", "execute_run", run},
			envOf(EnvRunID, "00000000-0000-4000-8000-000000000000", EnvRunJobName, "other", EnvCodeLocation, "analytics"),
			Run{ID: wantRun.ID, Job: "etl_daily", Location: "analytics", Command: ExecuteRun}},
		{"location from a remote origin", []string{"dagster", "api", "execute_run",
			`{"__class__":"ExecuteRunArgs","pipeline_run_id":"r-1","pipeline_origin":{"__class__":"ExternalPipelineOrigin","pipeline_name":"j","external_repository_origin":{"repository_name":"__repository__","repository_location_origin":{"location_name":"analytics"}}}}`},
			nil, Run{ID: "r-1", Job: "j", Location: "analytics", Command: ExecuteRun}},
		{"job name deeper than expected", []string{"dagster", "api", "execute_run", `{"pipeline_run_id":"r-2","origin":{"wrapped":{"job_name":"deep"}}}`},
			nil, Run{ID: "r-2", Job: "deep", Command: ExecuteRun}},
		{"malformed json", []string{"dagster", "api", "execute_run", `{"pipeline_run_id":`}, nil, Run{Command: ExecuteRun}},
		{"json array", []string{"dagster", "api", "execute_run", `[1,2]`}, nil, Run{Command: ExecuteRun}},
		{"missing json", []string{"dagster", "api", "execute_run"}, nil, Run{Command: ExecuteRun}},
		{"bad base64", []string{"dagster", "api", "execute_step", "--compressed-input-json", "!!!"}, nil, Run{Command: ExecuteStep}},
		{"base64 but not zlib", []string{"dagster", "api", "execute_step", "--compressed-input-json", base64.StdEncoding.EncodeToString([]byte(step))}, nil, Run{Command: ExecuteStep}},
		{"wrong types", []string{"dagster", "api", "execute_run", `{"pipeline_run_id":5,"pipeline_origin":{"pipeline_name":["x"]}}`}, nil, Run{Command: ExecuteRun}},
		{"run id with spaces dropped", []string{"dagster", "api", "execute_run", `{"run_id":"a b","job_origin":{"job_name":"j"}}`}, nil, Run{Job: "j", Command: ExecuteRun}},
		{"job name with control characters dropped", []string{"dagster", "api", "execute_run", `{"run_id":"r","job_origin":{"job_name":"a\nb"}}`}, nil, Run{ID: "r", Command: ExecuteRun}},
		{"overlong job name dropped", []string{"dagster", "api", "execute_run", `{"run_id":"r","job_origin":{"job_name":"` + strings.Repeat("x", 300) + `"}}`}, nil, Run{ID: "r", Command: ExecuteRun}},
		{"api not after dagster", []string{"python", "api", "execute_run", run}, nil, Run{}},
		{"other dagster api command", []string{"dagster", "api", "grpc", "--port", "4000"}, nil, Run{}},
		{"not dagster", []string{"sh", "-c", "echo hi"}, nil, Run{}},
		{"empty argv", nil, nil, Run{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.args, tt.env)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInflateBounded(t *testing.T) {
	huge := compress(t, `{"run_id":"r","pad":"`+strings.Repeat("a", maxInflated)+`"}`)
	got := Parse([]string{"dagster", "api", "execute_step", "--compressed-input-json", huge}, nil)
	if diff := cmp.Diff(Run{Command: ExecuteStep}, got); diff != "" {
		t.Errorf("Parse of an oversized payload (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("dagster\x00api\x00execute_run\x00"+fixture(f, "execute_run.json"), "")
	f.Add("dagster\x00api\x00execute_step\x00--compressed-input-json\x00"+fixture(f, "execute_step.b64"), "")
	f.Add("python\x00-m\x00dagster\x00api\x00resume_run\x00{}", "etl")
	f.Add("dagster\x00api\x00execute_step", fixture(f, "execute_step.b64"))
	f.Fuzz(func(t *testing.T, argv, envValue string) {
		env := func(string) (string, bool) { return envValue, envValue != "" }
		r := Parse(strings.Split(argv, "\x00"), env)
		for _, v := range []string{r.ID, r.Job, r.Location, r.Step} {
			if len(v) > maxField || strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("unclean field %q in %+v", v, r)
			}
		}
		switch r.Command {
		case "", ExecuteRun, ResumeRun, ExecuteStep:
		default:
			t.Fatalf("unexpected command %q", r.Command)
		}
		if r.ID != "" && !ident.Valid(r.ID) {
			t.Fatalf("invalid run id %q", r.ID)
		}
	})
}
