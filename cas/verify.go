package cas

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// VerifyReport is what Verify found.
type VerifyReport struct {
	Objects int // objects checked
	// Corrupt lists objects whose content does not match their name.
	Corrupt []string
	// Incomplete lists refs naming objects that are missing or corrupt.
	Incomplete []string
}

// OK reports whether nothing is wrong.
func (r VerifyReport) OK() bool { return len(r.Corrupt) == 0 && len(r.Incomplete) == 0 }

// Verify hashes every stored object and checks that every ref of the
// registered ref spaces names only objects that are stored and intact.
// It changes nothing.
func (s *LocalStore) Verify(ctx context.Context) (VerifyReport, error) {
	var r VerifyReport
	bad := map[Digest]bool{}
	subs, err := os.ReadDir(s.objects)
	if err != nil {
		return r, fmt.Errorf("local cache: %w", err)
	}
	for _, sub := range subs {
		dir := filepath.Join(s.objects, sub.Name())
		ents, err := os.ReadDir(dir)
		if err != nil {
			return r, fmt.Errorf("local cache: %w", err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return r, err
			}
			p := filepath.Join(dir, e.Name())
			r.Objects++
			got, err := fileDigest(p)
			if err != nil {
				return r, fmt.Errorf("local cache: %w", err)
			}
			want := sub.Name() + strings.TrimSuffix(e.Name(), ".x")
			if got.Hash() != want {
				r.Corrupt = append(r.Corrupt, p)
				if d, err := ParseDigest(want + "/" + strconv.FormatInt(got.Size(), 10)); err == nil {
					bad[d] = true
				}
			}
		}
	}
	for _, sp := range s.spaces {
		refs, err := sp.Refs()
		if err != nil {
			return r, err
		}
		for _, ref := range refs {
			complete := true
			err := sp.Objects(ctx, ref.Name, map[Digest]bool{}, func(d Digest) {
				if bad[d] || !s.Has(d) {
					complete = false
				}
			})
			var ce *CorruptError
			if errors.Is(err, ErrNotFound) || errors.As(err, &ce) {
				complete = false
			} else if err != nil {
				return r, err
			}
			if !complete {
				r.Incomplete = append(r.Incomplete, ref.Name)
			}
		}
	}
	return r, nil
}
