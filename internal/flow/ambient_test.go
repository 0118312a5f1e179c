package flow

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var wlUpdate = flag.Bool("update-workload", false, "rewrite testdata/workload/*.golden")

// wlPlatform is a machine set up in a temp dir: the files it has and its
// environment (paths in env are relative to the dir).
type wlPlatform struct {
	files   map[string]string // relative path -> content
	env     map[string]string
	k8sPath string // relative path of the pod's service-account token, "" for the default
}

func TestDetectAmbient(t *testing.T) {
	saToken := "var/run/secrets/kubernetes.io/serviceaccount/token"
	eksToken := "var/run/secrets/eks.amazonaws.com/serviceaccount/token"
	azureToken := "var/run/secrets/azure/tokens/azure-identity-token"
	dmi := "sys/class/dmi/id/product_name"
	github := map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   "https://pipelines.actions.githubusercontent.com/x/idtoken?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "secret-request-token",
	}
	tests := []struct {
		name       string
		platform   wlPlatform
		want       string
		wantReason map[string]string // candidate -> part of its reason
	}{
		{name: "github actions", platform: wlPlatform{env: github}, want: SourceGitHubActions,
			wantReason: map[string]string{SourceGitHubActions: "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are set"}},
		{name: "gitlab ci", platform: wlPlatform{env: map[string]string{"GITLAB_CI": "true", "GITLAB_OIDC_TOKEN": "x"}}, want: SourceGitLab,
			wantReason: map[string]string{SourceGitLab: "GITLAB_CI and GITLAB_OIDC_TOKEN are set", SourceGitHubActions: "ACTIONS_ID_TOKEN_REQUEST_URL is not set"}},
		{name: "eks irsa pod", want: SourceWebIdentityFile, platform: wlPlatform{
			files: map[string]string{eksToken: "t", saToken: "t"},
			env:   map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": eksToken, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"}},
			wantReason: map[string]string{SourceWebIdentityFile: "AWS_WEB_IDENTITY_TOKEN_FILE=", SourceKubernetes: "exists"}},
		{name: "azure workload identity pod", want: SourceAzureFile, platform: wlPlatform{
			files: map[string]string{azureToken: "t", saToken: "t"},
			env:   map[string]string{"AZURE_FEDERATED_TOKEN_FILE": azureToken, "AZURE_CLIENT_ID": "c"}},
			wantReason: map[string]string{SourceAzureFile: "AZURE_FEDERATED_TOKEN_FILE=", SourceWebIdentityFile: "AWS_WEB_IDENTITY_TOKEN_FILE is not set"}},
		{name: "plain kubernetes pod", want: SourceKubernetes, platform: wlPlatform{files: map[string]string{saToken: "t"}},
			wantReason: map[string]string{SourceGCPMetadata: "cannot be read"}},
		{name: "projected token at a configured path", want: SourceKubernetes,
			platform: wlPlatform{files: map[string]string{"var/run/secrets/tokens/dagster": "t"}, k8sPath: "var/run/secrets/tokens/dagster"}},
		{name: "gke pod", want: SourceKubernetes, platform: wlPlatform{files: map[string]string{saToken: "t", dmi: "Google\n"}},
			wantReason: map[string]string{SourceGCPMetadata: `says "Google"`}},
		{name: "gce vm", want: SourceGCPMetadata, platform: wlPlatform{files: map[string]string{dmi: "Google Compute Engine\n"}},
			wantReason: map[string]string{SourceKubernetes: "no service-account token at"}},
		{name: "metadata host override", want: SourceGCPMetadata, platform: wlPlatform{env: map[string]string{"GCE_METADATA_HOST": "127.0.0.1:8080"}},
			wantReason: map[string]string{SourceGCPMetadata: "GCE_METADATA_HOST=127.0.0.1:8080 is set"}},
		{name: "laptop", want: "", platform: wlPlatform{files: map[string]string{dmi: "20XW0055US\n"}},
			wantReason: map[string]string{SourceGCPMetadata: `says "20XW0055US"`}},
		{name: "self-hosted github runner in a gke pod", want: SourceGitHubActions,
			platform: wlPlatform{env: github, files: map[string]string{saToken: "t", dmi: "Google"}}},
		{name: "gitlab runner on gce", want: SourceGitLab,
			platform: wlPlatform{env: map[string]string{"GITLAB_CI": "true", "GITLAB_OIDC_TOKEN": "x"}, files: map[string]string{dmi: "Google"}}},
		{name: "irsa and azure both set", want: SourceWebIdentityFile, platform: wlPlatform{
			files: map[string]string{eksToken: "t", azureToken: "t"},
			env:   map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": eksToken, "AZURE_FEDERATED_TOKEN_FILE": azureToken}}},
		{name: "github job without id-token permission in a pod", want: SourceKubernetes,
			platform:   wlPlatform{env: map[string]string{"GITHUB_ACTIONS": "true"}, files: map[string]string{saToken: "t"}},
			wantReason: map[string]string{SourceGitHubActions: "permissions: id-token: write"}},
		{name: "gitlab without id_tokens", want: "",
			platform:   wlPlatform{env: map[string]string{"GITLAB_CI": "true"}},
			wantReason: map[string]string{SourceGitLab: "GITLAB_OIDC_TOKEN is not"}},
		{name: "irsa variable with a missing file is still chosen", want: SourceWebIdentityFile,
			platform:   wlPlatform{env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": eksToken}, files: map[string]string{saToken: "t"}},
			wantReason: map[string]string{SourceWebIdentityFile: "but the file cannot be read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, content := range tt.platform.files {
				p := filepath.Join(root, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				wlWriteFile(t, p, content)
			}
			env := map[string]string{}
			for k, v := range tt.platform.env {
				if strings.HasPrefix(v, "var/") {
					v = filepath.Join(root, v)
				}
				env[k] = v
			}
			o := wlOptions(t, env)
			o.Path = filepath.Join(root, saToken)
			if tt.platform.k8sPath != "" {
				o.Path = filepath.Join(root, tt.platform.k8sPath)
			}
			o.ReadFile = func(p string) ([]byte, error) {
				if p != gcpProductNamePath {
					t.Errorf("detection read %s", p)
				}
				return os.ReadFile(filepath.Join(root, dmi))
			}
			d := DetectAmbient(o, os.Stat)
			if d.Chosen != tt.want {
				t.Errorf("Chosen = %q, want %q\n%s", d.Chosen, tt.want, strings.Join(d.Explain(), "\n"))
			}
			var names []string
			for _, c := range d.Candidates {
				names = append(names, c.Name)
				if c.Reason == "" {
					t.Errorf("%s has no reason", c.Name)
				}
				if strings.Contains(c.Reason, "secret-request-token") {
					t.Errorf("%s reason leaks the request token", c.Name)
				}
				if want, ok := tt.wantReason[c.Name]; ok && !strings.Contains(c.Reason, want) {
					t.Errorf("%s reason %q does not contain %q", c.Name, c.Reason, want)
				}
			}
			if diff := cmp.Diff(WorkloadSourceNames()[:6], names); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDetectionExplain checks the lines `status` and `explain` print, with a
// stat and product name made up so that the golden files hold no temp paths.
func TestDetectionExplain(t *testing.T) {
	tests := []struct {
		golden string
		env    map[string]string
		files  []string
	}{
		{golden: "explain-eks.golden",
			env:   map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
			files: []string{"/var/run/secrets/eks.amazonaws.com/serviceaccount/token", DefaultKubernetesTokenPath}},
		{golden: "explain-none.golden", env: map[string]string{"GITHUB_ACTIONS": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			stat := func(p string) (os.FileInfo, error) {
				for _, f := range tt.files {
					if f == p {
						return wlFileInfo{name: filepath.Base(p)}, nil
					}
				}
				return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
			}
			o := wlOptions(t, tt.env)
			o.ReadFile = func(string) ([]byte, error) { return nil, errors.New("no dmi") }
			got := strings.Join(DetectAmbient(o, stat).Explain(), "\n") + "\n"
			path := filepath.Join("testdata", "workload", tt.golden)
			if *wlUpdate {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-workload)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Explain() (-want +got):\n%s", diff)
			}
		})
	}
}

// wlFileInfo is a regular file for a made-up stat.
type wlFileInfo struct{ name string }

func (f wlFileInfo) Name() string       { return f.name }
func (f wlFileInfo) Size() int64        { return 1 }
func (f wlFileInfo) Mode() fs.FileMode  { return 0o600 }
func (f wlFileInfo) ModTime() time.Time { return wlNow }
func (f wlFileInfo) IsDir() bool        { return false }
func (f wlFileInfo) Sys() any           { return nil }
