package main

import (
	"os"

	"github.com/bstgo/bst/cas"
)

// remoteExecutor connects to the remote execution service configured
// for project: --remote-execution, or else the user configuration's
// projects.<project>.remote-execution, or else its remote-execution. It
// returns nil when none is configured. Without an execution-service,
// builds run locally and an action-cache-service only serves the
// remote-apis-socket of elements that ask for one.
func (a *app) remoteExecutor(project string) (*cas.Executor, error) {
	var cli *cas.RemoteExecSpec
	if a.remoteExecution != "" {
		cwd, _ := os.Getwd()
		spec, err := cas.RemoteExecSpecFromString(a.remoteExecution, cwd)
		if err != nil {
			return nil, &usageError{"invalid --remote-execution: " + err.Error()}
		}
		cli = spec
	}
	uc, err := a.userConfig()
	if err != nil {
		return nil, err
	}
	spec, err := cas.ResolveRemoteExec(uc.Node, project, cli)
	if err != nil || spec == nil {
		return nil, err
	}
	return cas.DialExecutor(*spec)
}
