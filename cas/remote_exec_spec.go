package cas

import (
	"github.com/bstgo/bst/loader/node"
)

// RemoteExecSpec is a `remote-execution` section of the user
// configuration (global, or under projects.<name>): where actions are
// executed, where their inputs and outputs are stored, and which action
// cache is asked first. A nil service is not configured.
type RemoteExecSpec struct {
	Execution   *RemoteSpec
	Storage     *RemoteSpec
	ActionCache *RemoteSpec
}

// Enabled reports whether builds run remotely: an execution service is
// configured.
func (s *RemoteExecSpec) Enabled() bool { return s != nil && s.Execution != nil }

// ParseRemoteExecSpec reads a `remote-execution` mapping, as BuildStream's
// RemoteExecutionSpec.new_from_node does. cacheStorage is the user
// configuration's `cache.storage-service`, used when the section has no
// storage-service of its own (nil: none).
func ParseRemoteExecSpec(n *node.Node, cacheStorage *RemoteSpec) (*RemoteExecSpec, error) {
	if n == nil {
		return nil, nil
	}
	if !n.IsMapping() {
		return nil, node.Errorf(n.Prov(), node.InvalidData, "'remote-execution' must be a mapping")
	}
	if err := n.ValidateKeys("execution-service", "storage-service", "action-cache-service"); err != nil {
		return nil, err
	}
	spec := &RemoteExecSpec{}
	for _, f := range []struct {
		key       string
		dst       **RemoteSpec
		allowPush bool
	}{
		{"execution-service", &spec.Execution, false},
		{"storage-service", &spec.Storage, false},
		{"action-cache-service", &spec.ActionCache, true},
	} {
		sn := n.Get(f.key)
		if sn == nil {
			continue
		}
		if !f.allowPush && sn.IsMapping() && sn.Has("push") {
			return nil, node.Errorf(sn.KeyProv("push"), node.InvalidData, "'push' is only allowed on the action-cache-service")
		}
		if sn.IsMapping() && sn.Has("type") {
			return nil, node.Errorf(sn.KeyProv("type"), node.InvalidData, "'type' is not allowed in a remote-execution service")
		}
		rs, err := ParseRemoteSpec(sn, "")
		if err != nil {
			return nil, err
		}
		rs.Type = RemoteStorage
		*f.dst = &rs
	}
	if spec.Storage == nil {
		if cacheStorage == nil {
			return nil, node.Errorf(n.Prov(), node.InvalidData,
				"'remote-execution' needs a 'storage-service' (or the user configuration's cache.storage-service)")
		}
		s := *cacheStorage
		spec.Storage = &s
	}
	if spec.Execution == nil && spec.ActionCache == nil {
		return nil, node.Errorf(n.Prov(), node.InvalidData,
			"'remote-execution' needs an 'execution-service' or an 'action-cache-service'")
	}
	return spec, nil
}

// RemoteExecSpecFromString makes the remote execution configuration of
// the command line option --remote-execution: one remote, in the syntax
// of --artifact-remote, serving execution, storage and the action cache,
// as a Buildbarn frontend or BuildGrid does.
func RemoteExecSpecFromString(s, cwd string) (*RemoteExecSpec, error) {
	rs, err := ParseRemoteSpecString(s, PurposePull, cwd)
	if err != nil {
		return nil, err
	}
	rs.Type = RemoteStorage
	a, b, c := rs, rs, rs
	return &RemoteExecSpec{Execution: &a, Storage: &b, ActionCache: &c}, nil
}

// ResolveRemoteExec decides the remote execution configuration of a
// project: the command line's (cli, when not nil), or else the user's
// projects.<project>.remote-execution, or else the user's global
// remote-execution. It returns nil when none is configured.
func ResolveRemoteExec(user *node.Node, project string, cli *RemoteExecSpec) (*RemoteExecSpec, error) {
	if cli != nil {
		return cli, nil
	}
	var cacheStorage *RemoteSpec
	if sn := user.Get("cache").Get("storage-service"); sn != nil {
		rs, err := ParseRemoteSpec(sn, "")
		if err != nil {
			return nil, err
		}
		rs.Type = RemoteStorage
		cacheStorage = &rs
	}
	if n := user.Get("projects").Get(project).Get("remote-execution"); n != nil {
		return ParseRemoteExecSpec(n, cacheStorage)
	}
	return ParseRemoteExecSpec(user.Get("remote-execution"), cacheStorage)
}
