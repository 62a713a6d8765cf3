// Package sandbox runs build commands in rootless libcontainer containers
// that hold nothing from the host.
//
// A Config is plain data: the root file system as a CAS Directory digest,
// writable directories (host directories the caller owns, such as
// %{build-root} and %{install-root}), extra bind mounts, the environment,
// working directory, command, uid/gid, network on or off and the standard
// streams. Config.Validate checks it with a list of named rules, in the
// manner of runc's configs/validate. Sandbox.Run stages the root from the
// CAS (hardlinks, shared by the commands of the same root), runs the
// command in a new container and returns its exit status:
//
//	sb, _ := sandbox.New(ctx, sandbox.Options{Stager: store, Dir: tmpDir})
//	defer sb.Close()
//	code, err := sb.Run(ctx, sandbox.Config{Root: root, Args: argv, ...})
//
// Each container has its own user namespace (the caller is uid 0 inside),
// mount, pid, ipc, uts and cgroup namespaces, and a network namespace with
// only lo unless Config.Network is set. The root is read-only, unless
// Config.RootWritable asks for a private overlay over it, whose changes
// Exec returns as a new root. Every mount a file can be written to is
// nosuid, the process has no_new_privs (so no setuid binary raises its
// ids), /dev holds null, zero, full, random, urandom and tty
// (bind-mounted from the host's nodes), and /tmp is an empty private
// tmpfs. Cancelling the context kills every process in
// the sandbox.
//
// The bst binary is its own container init: main calls MaybeInit first,
// and commands that create sandboxes call Seal once, so that the binary is
// re-executed from a sealed in-memory copy and no container can reach or
// modify it. See docs/sandbox.md.
package sandbox
