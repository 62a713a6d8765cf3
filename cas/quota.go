package cas

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Limits bound the size of the local cache, as BuildStream's user
// configuration `cache:` section does.
type Limits struct {
	// Quota is the most the cache may hold, in bytes; 0 means no quota.
	Quota int64
	// Reserved is how much of the disk must stay free, in bytes.
	Reserved int64
	// LowWatermark is the fraction of the quota that expiry cleans down
	// to (0.8 by default).
	LowWatermark float64
}

var sizeRe = regexp.MustCompile(`^([0-9]+\.?[0-9]*)([KMGT%]?)$`)

// ParseSize reads a size as BuildStream does: "infinity" (returned as
// -1), a number of bytes with an optional K, M, G or T suffix (powers of
// 1024), or a percentage of volumeSize.
func ParseSize(s string, volumeSize int64) (int64, error) {
	if s == "infinity" {
		return -1, nil
	}
	m := sizeRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%s is not a valid data size", s)
	}
	if m[2] == "%" {
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil || f > 100 {
			return 0, fmt.Errorf("%s is not a valid percentage value", s)
		}
		return int64(float64(volumeSize) * f / 100), nil
	}
	num, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a valid data size", s)
	}
	n := int64(num)
	for range strings.IndexByte("KMGT", firstByte(m[2])) + 1 {
		n *= 1024
	}
	return n, nil
}

func firstByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}

// ParsePercentage reads "80%" as 0.8.
func ParsePercentage(s string) (float64, error) {
	num, ok := strings.CutSuffix(s, "%")
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f < 0 || f > 100 {
		return 0, fmt.Errorf("%s is not a valid percentage: write it as a %% of the cache quota, such as 80%%", s)
	}
	return f / 100, nil
}

// VolumeSize returns the total and available bytes of the file system
// holding dir.
func VolumeSize(dir string) (total, avail int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}

// Quota tracks the store's size against its Limits. A nil *Quota means no
// limits.
type Quota struct {
	limits Limits

	mu    sync.Mutex
	usage int64 // bytes, once known
	known bool
}

func (q *Quota) added(n int64) {
	if q == nil {
		return
	}
	q.mu.Lock()
	if q.known {
		q.usage += n
	}
	q.mu.Unlock()
}

// SetLimits makes the store keep itself within l; refs in spaces added
// with AddRefSpace keep their objects alive.
func (s *LocalStore) SetLimits(l Limits) {
	if l.LowWatermark <= 0 || l.LowWatermark > 1 {
		l.LowWatermark = 0.8
	}
	s.quota = &Quota{limits: l}
}

// Ref is one entry of a RefSpace.
type Ref struct {
	Name     string
	LastUsed time.Time
}

// A RefSpace is a set of refs that keep objects alive: the artifact refs,
// later the source refs. Expiry removes the least recently used refs and
// then the objects no ref keeps.
type RefSpace interface {
	// Refs lists every ref.
	Refs() ([]Ref, error)
	// Objects calls fn for every object the ref keeps alive.
	Objects(ctx context.Context, ref string, seen map[Digest]bool, fn func(Digest)) error
	// Remove deletes the ref.
	Remove(ref string) error
}

// AddRefSpace registers refs that keep objects alive.
func (s *LocalStore) AddRefSpace(rs RefSpace) { s.spaces = append(s.spaces, rs) }

// Usage returns the bytes the store's objects take on disk, and the
// staged roots' directories (their files are the objects).
func (s *LocalStore) Usage() (int64, error) {
	total := s.stagedUsage()
	err := filepath.WalkDir(s.objects, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += diskSize(info)
			}
		}
		return nil
	})
	return total, err
}

func diskSize(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}

// ExpiryResult says what an expiry removed.
type ExpiryResult struct {
	Refs    int
	Objects int
	Bytes   int64
}

// MaybeExpire expires least recently used refs when the store is over its
// quota, or the disk has less free space than reserved: down to the low
// watermark of the quota. keep names refs that must stay (the ones the
// running command needs). It does nothing without limits.
func (s *LocalStore) MaybeExpire(ctx context.Context, keep func(space RefSpace, ref string) bool) (ExpiryResult, error) {
	q := s.quota
	if q == nil {
		return ExpiryResult{}, nil
	}
	total, avail, err := VolumeSize(s.objects)
	if err != nil {
		return ExpiryResult{}, fmt.Errorf("local cache: %w", err)
	}
	_ = total
	q.mu.Lock()
	lowDisk := q.limits.Reserved > 0 && avail < q.limits.Reserved
	needUsage := q.limits.Quota > 0 || lowDisk
	if needUsage && !q.known {
		q.mu.Unlock()
		u, err := s.Usage()
		if err != nil {
			return ExpiryResult{}, fmt.Errorf("local cache: measuring: %w", err)
		}
		q.mu.Lock()
		q.usage, q.known = u, true
	}
	usage := q.usage
	high := int64(-1)
	if q.limits.Quota > 0 {
		high = q.limits.Quota
	}
	if q.limits.Reserved > 0 {
		if h := usage + avail - q.limits.Reserved; high < 0 || h < high {
			high = max(h, 0)
		}
	}
	low := int64(float64(high) * q.limits.LowWatermark)
	q.mu.Unlock()
	if high < 0 || usage <= high {
		return ExpiryResult{}, nil
	}
	return s.Expire(ctx, low, keep)
}

// Expire removes least recently used refs, except those keep names, until
// the objects the remaining refs keep take at most target bytes, then
// removes every object no ref keeps that is older than this expiry.
func (s *LocalStore) Expire(ctx context.Context, target int64, keep func(space RefSpace, ref string) bool) (ExpiryResult, error) {
	unlock, err := s.lock.lockExclusive()
	if errors.Is(err, errBusy) {
		return ExpiryResult{}, nil // this process is storing something; expire later
	}
	if err != nil {
		return ExpiryResult{}, err
	}
	defer unlock()
	start := time.Now()

	type entry struct {
		space RefSpace
		ref   Ref
		objs  []Digest
	}
	var entries []*entry
	count := map[Digest]int{}
	for _, sp := range s.spaces {
		refs, err := sp.Refs()
		if err != nil {
			return ExpiryResult{}, err
		}
		for _, r := range refs {
			e := &entry{space: sp, ref: r}
			err := sp.Objects(ctx, r.Name, map[Digest]bool{}, func(d Digest) { e.objs = append(e.objs, d) })
			if err != nil && !errors.Is(err, ErrNotFound) {
				var ce *CorruptError
				if !errors.As(err, &ce) {
					return ExpiryResult{}, err
				}
			}
			for _, d := range e.objs {
				count[d]++
			}
			entries = append(entries, e)
		}
	}
	var live int64
	sizes := map[Digest]int64{}
	for d := range count {
		sz := s.objectDiskSize(d)
		sizes[d] = sz
		live += sz
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].ref.LastUsed.Before(entries[j].ref.LastUsed) })
	var res ExpiryResult
	for _, e := range entries {
		if live <= target {
			break
		}
		if keep != nil && keep(e.space, e.ref.Name) {
			continue
		}
		if err := e.space.Remove(e.ref.Name); err != nil {
			return res, err
		}
		res.Refs++
		for _, d := range e.objs {
			if count[d]--; count[d] == 0 {
				live -= sizes[d]
			}
		}
	}
	// Sweep what no remaining ref keeps.
	n, freed, linked, err := s.sweep(ctx, func(d Digest) bool { return count[d] > 0 }, start)
	res.Objects, res.Bytes = n, freed
	if linked {
		// Staged roots may link removed objects, keeping their data: none
		// is used again, and those no one uses go now.
		if berr := s.bumpStagedGeneration(); berr != nil && err == nil {
			err = berr
		}
		s.TrimStaged("")
	}
	if s.quota != nil {
		s.quota.mu.Lock()
		if s.quota.known {
			s.quota.usage = max(s.quota.usage-freed, 0)
		}
		s.quota.mu.Unlock()
	}
	return res, err
}

func (s *LocalStore) objectDiskSize(d Digest) int64 {
	var n int64
	for _, p := range []string{s.objectPath(d), s.objectPath(d) + ".x"} {
		if info, err := os.Lstat(p); err == nil {
			n += diskSize(info)
		}
	}
	return n
}

// sweep removes the objects live does not keep, except those created or
// linked since before (their inode changed after it), and stale temporary
// files. linked says whether a removed object had other links (a staged
// root's).
func (s *LocalStore) sweep(ctx context.Context, live func(Digest) bool, before time.Time) (n int, freed int64, linked bool, err error) {
	subs, err := os.ReadDir(s.objects)
	if err != nil {
		return 0, 0, false, fmt.Errorf("local cache: %w", err)
	}
	for _, sub := range subs {
		if err := ctx.Err(); err != nil {
			return n, freed, linked, err
		}
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		dir := filepath.Join(s.objects, sub.Name())
		ents, err := os.ReadDir(dir)
		if err != nil {
			return n, freed, linked, fmt.Errorf("local cache: %w", err)
		}
		for _, e := range ents {
			name := strings.TrimSuffix(e.Name(), ".x")
			info, err := e.Info()
			if err != nil {
				continue
			}
			d, err := ParseDigest(sub.Name() + name + "/" + strconv.FormatInt(info.Size(), 10))
			if err == nil && live(d) {
				continue
			}
			if st, ok := info.Sys().(*syscall.Stat_t); ok && time.Unix(st.Ctim.Unix()).After(before) {
				continue
			}
			if os.Remove(filepath.Join(dir, e.Name())) == nil {
				n++
				freed += diskSize(info)
				linked = linked || linkedElsewhere(info)
			}
		}
	}
	// Temporary files left by killed processes.
	if ents, err := os.ReadDir(s.tmp); err == nil {
		for _, e := range ents {
			info, err := e.Info()
			if st, ok := info.Sys().(*syscall.Stat_t); err == nil && ok && time.Unix(st.Ctim.Unix()).Before(before.Add(-time.Hour)) {
				os.Remove(filepath.Join(s.tmp, e.Name()))
			}
		}
	}
	return n, freed, linked, nil
}
