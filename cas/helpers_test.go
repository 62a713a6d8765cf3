package cas

import (
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

// encodeDir returns a serialized Directory holding one file, without the
// checks PutDirectory's callers rely on, to test what reading refuses.
func encodeDir(t testing.TB, name string, blob Digest) []byte {
	t.Helper()
	data, err := proto.Marshal(&repb.Directory{Files: []*repb.FileNode{{Name: name, Digest: blob.Proto()}}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mkfifo(p string) error { return unix.Mkfifo(p, 0o644) }
