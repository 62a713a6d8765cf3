package cas

import (
	"strings"
	"testing"
)

func TestResolveRemoteExec(t *testing.T) {
	user := parseYAML(t, "buildstream.conf", `
cache:
  storage-service:
    url: grpc://cas.example.com:8980
remote-execution:
  execution-service:
    url: grpcs://exec.example.com:8981
    instance-name: fuse
    auth:
      server-cert: /certs/ca.crt
  action-cache-service:
    url: grpc://ac.example.com:8982
    push: true
projects:
  other:
    remote-execution:
      execution-service:
        url: grpc://other:1
      storage-service:
        url: grpc://other:2
`)
	spec, err := ResolveRemoteExec(user, "demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Enabled() || spec.Execution.URL != "grpcs://exec.example.com:8981" || spec.Execution.InstanceName != "fuse" ||
		spec.Execution.ServerCert != "/certs/ca.crt" {
		t.Errorf("execution service: %+v", spec.Execution)
	}
	if spec.Storage.URL != "grpc://cas.example.com:8980" {
		t.Errorf("storage falls back on cache.storage-service: %+v", spec.Storage)
	}
	if !spec.ActionCache.Push {
		t.Errorf("action cache push: %+v", spec.ActionCache)
	}
	other, err := ResolveRemoteExec(user, "other", nil)
	if err != nil || other.Execution.URL != "grpc://other:1" || other.Storage.URL != "grpc://other:2" || other.ActionCache != nil {
		t.Errorf("per-project section: %+v, %v", other, err)
	}
	cli, err := RemoteExecSpecFromString("url=grpc://cli:3,instance-name=x", "/")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ResolveRemoteExec(user, "demo", cli)
	if got.Execution.URL != "grpc://cli:3" || got.Storage.InstanceName != "x" || got.ActionCache.URL != "grpc://cli:3" {
		t.Errorf("the command line wins: %+v", got)
	}
	none, err := ResolveRemoteExec(parseYAML(t, "c", "scheduler: {}\n"), "demo", nil)
	if err != nil || none.Enabled() {
		t.Errorf("no section: %+v, %v", none, err)
	}
}

func TestParseRemoteExecSpecErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"remote-execution:\n  execution-service:\n    url: grpc://a:1\n", "storage-service"},
		{"remote-execution:\n  storage-service:\n    url: grpc://a:1\n", "execution-service"},
		{"remote-execution:\n  execution-service:\n    url: grpc://a:1\n    push: true\n  storage-service:\n    url: grpc://a:1\n", "'push' is only allowed"},
		{"remote-execution:\n  execution-service:\n    url: grpc://a:1\n  storage-service:\n    url: grpc://a:1\n  bogus: 1\n", "bogus"},
		{"remote-execution:\n  execution-service:\n    url: ftp://a:1\n  storage-service:\n    url: grpc://a:1\n", "scheme"},
	} {
		_, err := ResolveRemoteExec(parseYAML(t, "buildstream.conf", tc.conf), "demo", nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.conf, err, tc.want)
		}
	}
}
