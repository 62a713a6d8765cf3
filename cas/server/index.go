package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
)

// index is a directory of small records (serialized messages) under
// hashed keys, for the action cache and the Remote Asset entries:
//
//	<dir>/<2 hex>/<62 hex>
//
// Records are written to a temporary file, synced and renamed into place.
type index struct {
	dir string
	tmp string
}

func openIndex(dir, tmp string) (*index, error) {
	for _, d := range []string{dir, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return &index{dir: dir, tmp: tmp}, nil
}

// indexKey hashes the parts of a key, each ended by a NUL so that no two
// lists of parts give the same key.
func indexKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (ix *index) path(key string) string { return filepath.Join(ix.dir, key[:2], key[2:]) }

// get reads the record of key into m and returns when it was written; a
// missing record is fs.ErrNotExist.
func (ix *index) get(key string, m proto.Message) (time.Time, error) {
	p := ix.path(key)
	data, err := os.ReadFile(p)
	if err != nil {
		return time.Time{}, err
	}
	info, err := os.Stat(p)
	if err != nil {
		return time.Time{}, err
	}
	if err := proto.Unmarshal(data, m); err != nil {
		os.Remove(p) // unreadable: as good as absent
		return time.Time{}, fs.ErrNotExist
	}
	return info.ModTime(), nil
}

// put records m under key.
func (ix *index) put(key string, m proto.Message) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return err
	}
	p := ix.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(ix.tmp, "rec-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("recording: %w", err)
	}
	return nil
}

// remove deletes the record of key.
func (ix *index) remove(key string) {
	if err := os.Remove(ix.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = err // an entry that stays is checked again when next asked for
	}
}

// count returns how many records there are (for tests and metrics).
func (ix *index) count() int {
	n := 0
	filepath.WalkDir(ix.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return nil
	})
	return n
}
