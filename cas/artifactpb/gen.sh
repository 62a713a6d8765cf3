#!/bin/sh
# Regenerates artifact.pb.go from artifact.proto. Needs protoc (Debian:
# protobuf-compiler) and protoc-gen-go of the google.golang.org/protobuf
# version in go.mod on PATH.
#
# artifact.proto imports REAPI's remote_execution.proto only for Digest and
# Command.EnvironmentVariable. Rather than fetching REAPI's whole import
# tree, protoc is given a minimal stand-in declaring just those messages
# under the real file name and package; the generated code refers to the
# real generated REAPI package, which registers the real file at run time.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/build/bazel/remote/execution/v2"
cat > "$tmp/build/bazel/remote/execution/v2/remote_execution.proto" <<'PROTO'
syntax = "proto3";
package build.bazel.remote.execution.v2;
option go_package = "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2;remoteexecution";
message Digest { string hash = 1; int64 size_bytes = 2; }
message Command { message EnvironmentVariable { string name = 1; string value = 2; } }
PROTO
protoc -I "$tmp" -I . --go_out=. --go_opt=paths=source_relative cas/artifactpb/artifact.proto
