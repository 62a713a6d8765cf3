package scheduler

import (
	"reflect"
	"testing"

	"github.com/bstgo/bst/element"
)

// TestRemoteCommand pins the REAPI Command of a batch: the local batch
// script, the first command's environment and working directory relative
// to the input root, sorted output paths, and the platform of the
// element's sandbox configuration, sorted by name.
func TestRemoteCommand(t *testing.T) {
	uid := 1000
	e := &element.Element{Name: "hello.bst", SandboxConfig: element.SandboxConfig{
		BuildOS: "linux", BuildArch: "x86-64", BuildUID: &uid, RemoteAPIsSocketPath: "/run/reapi"}}
	env := []element.Variable{{Name: "PATH", Value: "/usr/bin:/bin"}, {Name: "A", Value: "1"}}
	spec := element.RunSpec{Commands: []element.Command{
		{Args: []string{"sh", "-c", "-e", "make"}, Cwd: "/buildstream/demo/hello.bst", Env: env, Label: "make"},
		{Args: []string{"sh", "-c", "-e", "make install"}, Cwd: "/buildstream/demo/hello.bst", Env: env, Label: "make install"},
	}}
	cmd := remoteCommand(e, spec, []string{"buildstream/demo/hello.bst", "buildstream-install"})
	if want := []string{"sh", "-c", "-e", batchScript(spec.Commands)}; !reflect.DeepEqual(cmd.Arguments, want) {
		t.Errorf("arguments %q, want %q", cmd.Arguments, want)
	}
	if cmd.WorkingDirectory != "buildstream/demo/hello.bst" {
		t.Errorf("working directory %q", cmd.WorkingDirectory)
	}
	if len(cmd.EnvironmentVariables) != 2 || cmd.EnvironmentVariables[0].Name != "PATH" || cmd.EnvironmentVariables[1].Value != "1" {
		t.Errorf("environment %v: the element's order is kept", cmd.EnvironmentVariables)
	}
	if want := []string{"buildstream-install", "buildstream/demo/hello.bst"}; !reflect.DeepEqual(cmd.OutputPaths, want) {
		t.Errorf("output paths %q, want %q", cmd.OutputPaths, want)
	}
	var props []string
	for _, p := range cmd.Platform.GetProperties() {
		props = append(props, p.Name+"="+p.Value)
	}
	if want := []string{"ISA=x86-64", "OSFamily=linux", "remoteApisSocketPath=run/reapi", "unixUID=1000"}; !reflect.DeepEqual(props, want) {
		t.Errorf("platform %q, want %q", props, want)
	}
}

// TestRemoteCommandNetwork: a batch that asks for the network says so
// with BuildStream's network=on property.
func TestRemoteCommandNetwork(t *testing.T) {
	e := &element.Element{Name: "net.bst"}
	spec := element.RunSpec{Network: true, Commands: []element.Command{{Args: []string{"true"}, Cwd: "/"}}}
	props := remoteCommand(e, spec, nil).Platform.GetProperties()
	if len(props) != 1 || props[0].Name != "network" || props[0].Value != "on" {
		t.Errorf("platform %v, want network=on", props)
	}
}

// TestOutputPath: output paths are relative to the working directory,
// as REAPI asks, with ".." to leave it and "." for itself.
func TestOutputPath(t *testing.T) {
	for _, c := range []struct{ cwd, p, want string }{
		{"/buildstream/demo/hello.bst", "/buildstream-install", "../../../buildstream-install"},
		{"/buildstream/demo/hello.bst", "/buildstream/demo/hello.bst", "."},
		{"/buildstream/demo/hello.bst", "/buildstream/demo/hello.bst/sub", "sub"},
		{"/buildstream/demo/hello.bst", "/", "../../.."},
		{"/", "/", "."},
		{"/", "/buildstream-install", "buildstream-install"},
		{"", "/buildstream-install/", "buildstream-install"},
	} {
		if got := outputPath(c.cwd, c.p); got != c.want {
			t.Errorf("outputPath(%q, %q) = %q, want %q", c.cwd, c.p, got, c.want)
		}
	}
}
