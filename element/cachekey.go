package element

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bstgo/bst/element/internal/sha256lanes"
	"github.com/bstgo/bst/loader/node"
)

// CoreArtifactVersion is BuildStream's BST_CORE_ARTIFACT_VERSION: it enters
// every key, so that artifacts of an incompatible core are never reused.
const CoreArtifactVersion = 11

// Keys are an element's cache keys (reference §5).
//
//   - Weak: changes when the element or the names of its build-scope
//     dependencies change, not when their content does (except for strict
//     dependencies and kinds that rebuild strictly).
//   - Strict: changes when anything in the build scope changes.
//   - Strong: the key of the artifact actually used. In strict mode it is the
//     strict key; in non-strict mode it is known once an artifact is found
//     or built, and is "" before.
//
// All are "" when a source of the element, or of something it builds
// with, has no reference yet.
type Keys struct {
	Weak, Strict, Strong string
}

// ArtifactVersioner is implemented by kinds whose artifact format changed,
// BuildStream's BST_ARTIFACT_VERSION (0 when not implemented).
type ArtifactVersioner interface {
	ArtifactVersion() int
}

// SandboxConfig is the parsed `sandbox:` configuration of an element.
type SandboxConfig struct {
	BuildOS, BuildArch   string
	BuildUID, BuildGID   *int
	RemoteAPIsSocketPath string
	RemoteAPIsACUpdate   bool
}

// KeyContext is what key computation needs beyond the elements.
type KeyContext struct {
	// Strict is the build plan's mode.
	Strict bool
	// FatalWarnings are the project's, by project name.
	FatalWarnings map[string][]string
	// Debug, when set, receives each key's preimage (BST_DEBUG_CACHEKEY).
	// Keys are then computed one at a time, in the order of the elements,
	// so that the output is the same every run.
	Debug io.Writer
}

// The key preimage.
//
// An element's key is the SHA-256 of its key dictionary written as
// BuildStream writes it (canonicalJSON: keys sorted, compact):
//
//	{"core-artifact-version": 11,
//	 "dependencies": [...],             the build scope, see below
//	 "element-base-key": {"build-root": %{build-root}},
//	 "element-plugin-key": the kind's Config.UniqueKey(),
//	 "element-plugin-name": kind,
//	 "element-plugin-version": BST_ARTIFACT_VERSION,
//	 "environment": {...},              only for kinds that run commands
//	 "fatal-warnings": [sorted],
//	 "public": public data,
//	 "sandbox": {...},                  only for kinds that run commands
//	 "sources": [{"directory"?, "key", "name"}, ...],
//	 "weak-cache-key": weak key}        strict key only
//
// "dependencies" lists every element of the build scope in staging order:
// [project, name] in the weak key (with the dependency's weak key for
// strict dependencies and kinds that rebuild strictly), [project, name,
// strict key] in the strict key.
//
// Everything but "dependencies" and "weak-cache-key" depends on the
// element alone, and the dictionary's keys sort so that "dependencies"
// comes second and "weak-cache-key" last. So the preimage is written as
// bytes, without building the dictionary: a fixed prefix, the dependency
// fragments (each dependency's encoded once, when its own keys are
// known), then the element's base, encoded once for both keys. The
// dictionary form is kept in keydict_test.go, which checks that both
// give the same bytes. A new input to the key goes into appendBase, at
// the place its name sorts to, and into that test.

// ComputeKeys computes the keys of elements, which must be in an order
// where every element comes after its dependencies (such as the order of
// Dependencies with ScopeAll). Source keys must be loaded already.
// Dependencies that are not in elements keep the keys they have, and
// count as inputs. ComputeKeys writes the elements' Keys, so nothing may
// read or write those meanwhile; calls to ComputeKeys run one at a time.
//
// Elements that do not depend on each other are computed in parallel,
// level by level (an element's level is above all its dependencies'),
// unless kc.Debug is set: keys are then computed one at a time, in the
// order of elements, so that the preimages are printed in that order.
func ComputeKeys(kc KeyContext, elements []*Element) {
	computing.Lock()
	defer computing.Unlock()
	g := newKeyGraph(kc, elements)
	defer g.mem.release()
	levels := g.levels()
	if kc.Debug == nil {
		for _, level := range levels {
			g.processLevel(level, true)
		}
		return
	}
	for _, level := range levels {
		g.processLevel(level, false)
	}
	w := g.workers[0]
	for i := range g.listed {
		w.computeKeysPrinted(int32(i))
	}
}

// keyGraph is the state of one ComputeKeys call: the elements with their
// dependencies as indexes, and what is known of each so far.
type keyGraph struct {
	kc    KeyContext
	id    uint64 // its number, in the keySlots of its elements
	nodes []keyNode
	// listed are the nodes of the elements to compute, in their order.
	// The nodes after them are the dependencies that are not listed,
	// whose keys are taken as they are.
	listed int

	fatal map[string][]byte // project -> its encoded fatal warnings

	workers []*keyWorker // one per processor

	// Each node's fragment, the piece of its reverse dependencies'
	// preimages that names it, is a record in frags, at 64 times
	// slots[i] (so that it spans as few cache lines as it can): a
	// 4-byte header, the head `["project","name"`, then `,"<strict
	// key>"]` once known. The header holds the head's length and, in its
	// top bit, whether the key is written. Everything read of a node for
	// each preimage naming it is in its record, to be read with one cache
	// miss: a key's preimage lists dozens of dependencies, and there are
	// hundreds of thousands of keys. A weak key, needed only for strict
	// dependencies, is read from the element.
	frags []byte
	slots []uint32

	// prefixes[prefixOf[i]] holds the hash states of the preimages'
	// start when node i is an element's first build dependency (see
	// prefixState); prefixOf[i] is -1 for the nodes that never are, nor
	// lead to one through their first runtime dependencies.
	prefixOf []int32
	prefixes []prefixState
	// pairs[{a, b}] numbers the states in pairStates of the preimages'
	// start when a and b are the first two build dependencies of more
	// than one element (see pairPrefix).
	pairs      map[[2]int32]int32
	pairStates []prefixState

	mem scratch // the arrays above that hold no pointers, released at the end
}

// keyNode is one element of a keyGraph.
type keyNode struct {
	e       *Element
	compute bool // computed here; false for external dependencies
	level   int32
	// buildDeps and runDeps are the direct build and runtime dependencies,
	// in order; strictDeps those declared strict.
	buildDeps, runDeps, strictDeps []int32
	// run is the run scope: the runtime dependencies, recursively, in
	// staging order, then the element itself. Its array may go on past
	// its end with the scope of the node that extended it, which set
	// extended (atomically: nodes of one level are processed in parallel).
	run      []int32
	extended uint32
	// sharesStart is set when the preimages may start with a shared
	// prefixState (see sharedStart).
	sharesStart bool
}

// The header of a fragment record.
const (
	fragHeader = 4
	fragKeyed  = 1 << 31 // the key is written; the rest is the head's length
)

// computing serializes ComputeKeys: an element's keySlot names the node
// of the one graph computing with it.
var (
	computing sync.Mutex
	graphs    uint64 // graphs made so far, under computing: never wraps
)

// keySlot is an element's node in the keyGraph numbered graph.
type keySlot struct {
	graph uint64
	node  int32
}

// keyEndLen is the length of a fragment's key part, `,"<key>"]`.
const keyEndLen = len(`,"`) + 64 + len(`"]`)

func newKeyGraph(kc KeyContext, elements []*Element) *keyGraph {
	graphs++
	g := &keyGraph{kc: kc, fatal: map[string][]byte{}, id: graphs}
	g.nodes = make([]keyNode, 0, len(elements))
	// The nodes of the dependencies will be depIdx[depOff[i]+k] for the
	// k-th of node i. Adding a node reads what else is needed of its
	// element here, as it is in cache now: this loop is serial, and
	// reading 100k elements twice costs.
	depOff := make([]int, 1, len(elements)+1)
	project := ""
	add := func(e *Element, compute bool) int32 {
		i := int32(len(g.nodes))
		e.keySlot = keySlot{graph: g.id, node: i}
		g.nodes = append(g.nodes, keyNode{e: e, compute: compute})
		depOff = append(depOff, depOff[i]+len(e.Deps))
		if p := e.Project; p != project || i == 0 {
			project = p
			if _, ok := g.fatal[p]; !ok {
				fw := append([]string(nil), kc.FatalWarnings[p]...)
				sort.Strings(fw)
				g.fatal[p] = appendJSON(nil, fw)
			}
		}
		return i
	}
	for _, e := range elements {
		if _, dup := g.index(e); !dup {
			add(e, true)
		}
	}
	g.listed = len(g.nodes)
	g.workers = make([]*keyWorker, runtime.GOMAXPROCS(0))
	for k := range g.workers {
		g.workers[k] = &keyWorker{g: g, public: map[*node.Node][]byte{}, envs: map[envIdentity][]byte{}}
	}
	// The dependencies' nodes are looked up on all processors.
	// Dependencies not listed join as external nodes after, one at a
	// time: only partial graphs have them.
	depIdx := scratchSlice[int32](&g.mem, depOff[len(g.nodes)])
	var missing atomic.Bool
	forChunks(g.workers, len(g.nodes), 1024, func(_ *keyWorker, lo, hi int) {
		for i := lo; i < hi; i++ {
			for k, d := range g.nodes[i].e.Deps {
				x, ok := g.index(d.Element)
				if !ok {
					x = -1
					missing.Store(true)
				}
				depIdx[depOff[i]+k] = x
			}
		}
	})
	if missing.Load() {
		for i := 0; i < len(g.nodes); i++ {
			deps := g.nodes[i].e.Deps
			if i >= g.listed {
				depIdx = slices.Grow(depIdx, len(deps))[:depOff[i+1]]
			}
			for k, d := range deps {
				at := depOff[i] + k
				if i < g.listed && depIdx[at] >= 0 {
					continue
				}
				x, ok := g.index(d.Element)
				if !ok {
					x = add(d.Element, false)
				}
				depIdx[at] = x
			}
		}
	}
	for _, w := range g.workers {
		w.stamp = scratchSlice[uint32](&g.mem, len(g.nodes))
	}
	// Link the dependencies and size the fragments, on all processors:
	// this reads every element once, from all over memory.
	g.slots = scratchSlice[uint32](&g.mem, len(g.nodes)+1)
	forChunks(g.workers, len(g.nodes), 256, func(w *keyWorker, lo, hi int) {
		// The chunk's lists share one allocation rather than one each.
		total := 0
		for i := lo; i < hi; i++ {
			for _, d := range g.nodes[i].e.Deps {
				for _, listed := range [3]bool{d.Type&DepBuild != 0, d.Type&DepRuntime != 0, d.Strict} {
					if listed {
						total++
					}
				}
			}
		}
		slab := make([]int32, 0, total)
		for i := lo; i < hi; i++ {
			n := &g.nodes[i]
			lists := slab[len(slab):len(slab):cap(slab)]
			idx := depIdx[depOff[i]:depOff[i+1]]
			for k, d := range n.e.Deps {
				if d.Type&DepBuild != 0 {
					lists = append(lists, idx[k])
				}
			}
			nb := len(lists)
			for k, d := range n.e.Deps {
				if d.Type&DepRuntime != 0 {
					lists = append(lists, idx[k])
				}
			}
			nr := len(lists)
			for k, d := range n.e.Deps {
				if d.Strict {
					lists = append(lists, idx[k])
				}
			}
			n.buildDeps, n.runDeps, n.strictDeps = lists[:nb:nb], lists[nb:nr:nr], lists[nr:len(lists):len(lists)]
			n.sharesStart = i < g.listed && nb > 0 && len(n.strictDeps) == 0 && !n.e.Plugin.Flags().StrictRebuild
			slab = slab[:len(slab)+len(lists)]
			w.base = appendHead(w.base[:0], n.e)
			g.slots[i+1] = uint32((fragHeader + len(w.base) + keyEndLen + 63) / 64) // a size, for now
		}
	})
	for i := range g.nodes {
		g.slots[i+1] += g.slots[i]
	}
	g.frags = scratchSlice[byte](&g.mem, 64*int(g.slots[len(g.nodes)]))
	forChunks(g.workers, len(g.nodes), 256, func(_ *keyWorker, lo, hi int) {
		for i := lo; i < hi; i++ {
			off := 64 * int(g.slots[i])
			head := appendHead(g.frags[off+fragHeader:off+fragHeader], g.nodes[i].e)
			binary.LittleEndian.PutUint32(g.frags[off:], uint32(len(head)))
		}
	})
	g.placePrefixes()
	g.placePairs()
	return g
}

// placePrefixes gives a prefixState to each node that starts the build
// scope of an element to compute, and to those that start the run scopes
// of those (see prefix): only they are ever used, and a dense array of
// them is touched less than one for every node.
func (g *keyGraph) placePrefixes() {
	g.prefixOf = scratchSlice[int32](&g.mem, len(g.nodes))
	for i := range g.prefixOf {
		g.prefixOf[i] = -1
	}
	count := int32(0)
	for i := range g.listed {
		if len(g.nodes[i].buildDeps) == 0 {
			continue
		}
		for b := g.nodes[i].buildDeps[0]; g.prefixOf[b] < 0; {
			g.prefixOf[b] = count
			count++
			rd := g.nodes[b].runDeps
			if len(rd) == 0 {
				break
			}
			b = rd[0]
		}
	}
	g.prefixes = scratchSlice[prefixState](&g.mem, int(count))
}

// placePairs gives a prefixState to each pair of first two build
// dependencies that several elements share, such as a base system and a
// toolchain: the second one's run scope, often large, is then hashed once
// for all of them too. The pairs are counted by sorting them, which for
// the common case, few shared pairs, allocates little.
func (g *keyGraph) placePairs() {
	var all []uint64
	for i := range g.listed {
		if n := &g.nodes[i]; n.sharesStart && len(n.buildDeps) >= 2 {
			all = append(all, uint64(uint32(n.buildDeps[0]))<<32|uint64(uint32(n.buildDeps[1])))
		}
	}
	slices.Sort(all)
	for k := 0; k < len(all); {
		j := k + 1
		for j < len(all) && all[j] == all[k] {
			j++
		}
		if j-k > 1 {
			if g.pairs == nil {
				g.pairs = map[[2]int32]int32{}
			}
			g.pairs[[2]int32{int32(all[k] >> 32), int32(uint32(all[k]))}] = int32(len(g.pairs))
		}
		k = j
	}
	g.pairStates = scratchSlice[prefixState](&g.mem, len(g.pairs))
}

// pairPrefix returns the prefixState of the pair numbered k, build
// dependencies a then b: first's states, a's prefixState, continued with
// the nodes of b's run scope that a's does not hold. It hashes it on first
// use.
func (g *keyGraph) pairPrefix(w *keyWorker, k, a, b int32, first *prefixState) *prefixState {
	p := &g.pairStates[k]
	p.once.Do(func() {
		p.covers = 2
		w.gen++
		for _, x := range g.nodes[a].run {
			w.stamp[x] = w.gen
		}
		weak, strict := w.weak[:0], w.strict[:0]
		for _, x := range g.nodes[b].run {
			if w.stamp[x] == w.gen {
				continue
			}
			w.stamp[x] = w.gen
			ok, head, frag := g.fragment(x)
			if !ok {
				return
			}
			weak = append(append(append(weak, ','), head...), ']')
			strict = append(append(strict, ','), frag...)
		}
		p.ok = true
		p.weak, p.strict = first.weak, first.strict
		p.weak.Write(weak)
		p.strict.Write(strict)
		w.weak, w.strict = weak, strict
	})
	return p
}

// appendHead appends `["project","name"`, the head of e's fragments.
func appendHead(b []byte, e *Element) []byte {
	return appendJSONString(append(appendJSONString(append(b, '['), e.Project), ','), e.Name)
}

// forChunks calls fn for chunks [lo, hi) of [0, n), on as many goroutines
// as there are workers (fewer when n is small), each with its own worker.
func forChunks(workers []*keyWorker, n, chunk int, fn func(w *keyWorker, lo, hi int)) {
	k := min(len(workers), (n+chunk-1)/chunk)
	if k <= 1 {
		if n > 0 {
			fn(workers[0], 0, n)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range workers[:k] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= n {
					return
				}
				fn(w, start, min(start+chunk, n))
			}
		}()
	}
	wg.Wait()
}

// index returns e's node, if it has one.
func (g *keyGraph) index(e *Element) (int32, bool) {
	if e.keySlot.graph != g.id {
		return 0, false
	}
	return e.keySlot.node, true
}

// fragment returns node i's record: whether its key is known, its head
// `["project","name"` and, when known, `["project","name","<strict
// key>"]`.
func (g *keyGraph) fragment(i int32) (ok bool, head, strict []byte) {
	off := 64 * int(g.slots[i])
	h := binary.LittleEndian.Uint32(g.frags[off:])
	n := int(h &^ fragKeyed)
	rec := g.frags[off+fragHeader:]
	return h&fragKeyed != 0, rec[:n:n], rec[: n+keyEndLen : n+keyEndLen]
}

// touch reads up to three cache lines, a fragment's usual size, of the
// record of each node of xs, and returns a sum of what it read. Copying
// the records one after the other, each copy waits on its header for the
// length; these reads do not, so the processor fetches them all at once:
// about 8% of the keys' time at 100,000 elements.
func (g *keyGraph) touch(xs []int32) byte {
	var sum byte
	for _, x := range xs {
		// Only the record's own lines: the next one may be a node
		// whose keys another worker is writing.
		off, end := 64*int(g.slots[x]), 64*int(g.slots[x+1])
		sum += g.frags[off]
		if off+64 < end {
			sum += g.frags[off+64]
		}
		if off+128 < end {
			sum += g.frags[off+128]
		}
	}
	return sum
}

// setKeys records node i's keys in its fragment. Keys are 64 hex digits:
// an external dependency with anything else counts as having no keys.
func (g *keyGraph) setKeys(i int32, k Keys) {
	if len(k.Weak) != 64 || len(k.Strict) != 64 {
		return
	}
	off := 64 * int(g.slots[i])
	h := binary.LittleEndian.Uint32(g.frags[off:])
	end := off + fragHeader + int(h)
	appendKeyEnd(g.frags[end:end], k.Strict)
	binary.LittleEndian.PutUint32(g.frags[off:], h|fragKeyed)
}

// levels groups the nodes by level: a node's dependencies are all in
// earlier groups. Each group is in the order of the nodes.
func (g *keyGraph) levels() [][]int32 {
	const inProgress = -1
	var levelOf func(i int32) int32
	levelOf = func(i int32) int32 {
		n := &g.nodes[i]
		if n.level != 0 {
			if n.level == inProgress {
				// A cycle, which the loader refuses: cut it here.
				return 0
			}
			return n.level
		}
		n.level = inProgress
		lv := int32(1)
		for _, list := range [2][]int32{n.buildDeps, n.runDeps} {
			for _, d := range list {
				lv = max(lv, levelOf(d)+1)
			}
		}
		g.nodes[i].level = lv
		return lv
	}
	var out [][]int32
	for i := range g.nodes {
		lv := levelOf(int32(i))
		for int(lv) > len(out) {
			out = append(out, nil)
		}
		out[lv-1] = append(out[lv-1], int32(i))
	}
	return out
}

// processLevel processes the nodes of one level (see process), on all
// processors when there are enough of them.
func (g *keyGraph) processLevel(level []int32, keys bool) {
	forChunks(g.workers, len(level), 32, func(w *keyWorker, lo, hi int) {
		chunk := level[lo:hi]
		for _, i := range chunk {
			w.process(i)
		}
		if keys {
			w.computeKeys(chunk)
		}
	})
}

// keyWorker holds the scratch space of one goroutine computing keys.
type keyWorker struct {
	g *keyGraph
	// stamp[i] == gen marks node i as already listed in the scope being
	// merged.
	stamp []uint32
	sink  byte // what touch read, for it not to be left out
	gen   uint32
	scope []int32 // the part of a build scope being copied
	// Buffers reused from one element to the next.
	weak, strict, base []byte
	env                []Variable
	// Encodings of what elements share, each encoded once per worker.
	public map[*node.Node][]byte  // public data trees
	envs   map[envIdentity][]byte // environments
	// The environment encoded last.
	lastEnv    envIdentity
	lastEnvEnc []byte
	// The preimages of a chunk of elements, hashed together, and what
	// is being computed for each.
	weakBatch, strictBatch sha256lanes.Batch
	pending                []pendingKeys
}

// pendingKeys is an element whose preimages are in a worker's batches.
type pendingKeys struct {
	node         int32
	weak, strict int // its messages in the batches
	weakKeyAt    int // where the strict preimage's weak key goes
}

// process computes node i's run scope; its dependencies must have been
// processed. An external node's keys are the ones it has.
func (w *keyWorker) process(i int32) {
	n := &w.g.nodes[i]
	n.run = w.runScope(i)
	if !n.compute {
		w.g.setKeys(i, n.e.Keys)
	}
}

// computeKeys computes the keys of nodes, whose dependencies have their
// run scopes and keys, hashing their preimages together: first all weak
// keys, then all strict keys, which contain the weak ones. The batches
// are hashed whenever they hold batchBytes, so that they stay in the
// processor's cache from written to hashed.
func (w *keyWorker) computeKeys(nodes []int32) {
	g := w.g
	for _, i := range nodes {
		if !g.nodes[i].compute {
			continue
		}
		e := g.nodes[i].e
		e.Keys = Keys{}
		if !e.SourcesResolved() {
			continue
		}
		p := w.sharedStart(i)
		if p != nil && !p.ok {
			continue
		}
		if w.scopeBound(i, p) > streamEntries {
			w.computeKeysStreamed(i, p)
			continue
		}
		weak, strict := w.weakBatch.Begin(), w.strictBatch.Begin()
		strictStart := len(strict)
		var weakFrom, strictFrom *sha256lanes.State
		if p == nil {
			weak, strict = appendKeyPrefix(weak), appendKeyPrefix(strict)
		} else {
			weakFrom, strictFrom = &p.weak, &p.strict
		}
		weak, strict, ok := w.appendPreimages(i, p, weak, strict, nil)
		if !ok {
			continue // the batches drop what was begun
		}
		strict = appendWeakCacheKey(strict, unknownKey)
		pk := pendingKeys{node: i, weakKeyAt: len(strict) - strictStart - len(unknownKey) - len(`"}`)}
		pk.weak, pk.strict = w.weakBatch.End(weak, weakFrom), w.strictBatch.End(strict, strictFrom)
		w.pending = append(w.pending, pk)
		if w.weakBatch.Len()+w.strictBatch.Len() >= batchBytes {
			w.hashPending()
		}
	}
	w.hashPending()
}

// batchBytes is how much preimage a worker batches before hashing it.
const batchBytes = 256 << 10

// hashPending hashes the preimages in the batches and records the keys.
func (w *keyWorker) hashPending() {
	if len(w.pending) > 0 {
		w.hashBatches()
	}
	w.weakBatch.Reset()
	w.strictBatch.Reset()
	w.pending = w.pending[:0]
}

// hashBatches hashes the batches: the weak keys first, written into the
// strict preimages, then the strict keys.
func (w *keyWorker) hashBatches() {
	g := w.g
	w.weakBatch.Run()
	for _, pk := range w.pending {
		e := g.nodes[pk.node].e
		sum := w.weakBatch.Sum(pk.weak)
		hex.Encode(w.strictBatch.Bytes(pk.strict)[pk.weakKeyAt:], sum[:])
		e.Keys.Weak = hexKey(&sum)
	}
	w.strictBatch.Run()
	for _, pk := range w.pending {
		e := g.nodes[pk.node].e
		sum := w.strictBatch.Sum(pk.strict)
		e.Keys.Strict = hexKey(&sum)
		g.computed(pk.node)
	}
}

// streamEntries is the size of build scope past which an element's
// preimages are hashed as they are written rather than batched: a
// target that depends on a whole project (all.bst of the benchmarks) has
// preimages of megabytes, which a batch would hold whole. streamChunk is
// how much of a streamed preimage is written before it is hashed. Both
// are variables for the tests, which make everything stream.
var (
	streamEntries = 16384
	streamChunk   = 64 << 10
)

// streamed holds the hash states of preimages hashed as they are written.
type streamed struct{ weak, strict sha256lanes.State }

// scopeBound returns at most how many nodes node i's build scope adds
// after what p holds: the sum of the run scopes' sizes.
func (w *keyWorker) scopeBound(i int32, p *prefixState) int {
	deps := w.g.nodes[i].buildDeps
	if p != nil {
		deps = deps[p.covers:]
	}
	total := 0
	for _, b := range deps {
		total += len(w.g.nodes[b].run)
	}
	return total
}

// computeKeysStreamed computes node i's keys as computeKeys does, hashing
// the preimages every streamChunk bytes instead of batching them whole.
func (w *keyWorker) computeKeysStreamed(i int32, p *prefixState) {
	g := w.g
	e := g.nodes[i].e
	var st streamed
	weak, strict := w.weak[:0], w.strict[:0]
	if p == nil {
		st.weak, st.strict = sha256lanes.New(), sha256lanes.New()
		weak, strict = appendKeyPrefix(weak), appendKeyPrefix(strict)
	} else {
		st.weak, st.strict = p.weak, p.strict
	}
	weak, strict, ok := w.appendPreimages(i, p, weak, strict, &st)
	w.weak, w.strict = weak, strict
	if !ok {
		return
	}
	st.weak.Write(weak)
	sum := st.weak.Sum()
	e.Keys.Weak = hexKey(&sum)
	strict = appendWeakCacheKey(strict, e.Keys.Weak)
	st.strict.Write(strict)
	sum = st.strict.Sum()
	e.Keys.Strict = hexKey(&sum)
	g.computed(i)
	w.strict = strict
}

// appendWeakCacheKey ends a strict preimage with its weak key.
func appendWeakCacheKey(b []byte, weak string) []byte {
	b = append(b, `,"weak-cache-key":"`...)
	return append(append(b, weak...), `"}`...)
}

// computed records node i's keys, just computed: its strong key too in
// strict mode, and its fragment.
func (g *keyGraph) computed(i int32) {
	e := g.nodes[i].e
	if g.kc.Strict {
		e.Keys.Strong = e.Keys.Strict
	}
	g.setKeys(i, e.Keys)
}

// unknownKey holds a key's place until it is known.
var unknownKey = strings.Repeat("0", 64)

// hexKey returns a digest as a key, in hexadecimal.
func hexKey(sum *[sha256.Size]byte) string {
	// Encoded on the stack and copied once into the string.
	var digits [2 * sha256.Size]byte
	hex.Encode(digits[:], sum[:])
	return string(digits[:])
}

// computeKeysPrinted computes node i's keys as computeKeys does, one
// preimage at a time and in full, printing each.
func (w *keyWorker) computeKeysPrinted(i int32) {
	g := w.g
	e := g.nodes[i].e
	e.Keys = Keys{}
	if !e.SourcesResolved() {
		return
	}
	weak, strict, ok := w.appendPreimages(i, nil, appendKeyPrefix(w.weak[:0]), appendKeyPrefix(w.strict[:0]), nil)
	w.weak, w.strict = weak, strict
	if !ok {
		return
	}
	e.Keys.Weak = g.hashKey(e, "weak", weak)
	strict = appendWeakCacheKey(strict, e.Keys.Weak)
	e.Keys.Strict = g.hashKey(e, "strict", strict)
	g.computed(i)
	w.strict = strict
}

// sharedStart returns the prefixState node i's preimages start with, or
// nil when they are hashed whole. The first build dependency's run
// scope starts the list and is the same for every element with that
// first build dependency: its part of the preimages is hashed once,
// unless the weak key names some dependencies with their weak keys
// (strict dependencies, kinds that rebuild strictly: few). When the
// first two build dependencies are shared too, so is their part.
func (w *keyWorker) sharedStart(i int32) *prefixState {
	g := w.g
	n := &g.nodes[i]
	if !n.sharesStart {
		return nil
	}
	p := g.prefix(w, n.buildDeps[0])
	if len(g.pairs) > 0 && len(n.buildDeps) >= 2 && p.ok {
		a, b := n.buildDeps[0], n.buildDeps[1]
		if k, ok := g.pairs[[2]int32{a, b}]; ok {
			return g.pairPrefix(w, k, a, b, p)
		}
	}
	return p
}

// appendPreimages appends node i's weak and strict preimages, from their
// first dependency (or, when p is set, from the first one p does not
// hold) to the end of the weak one and up to "weak-cache-key" in the
// strict one. ok is false when a dependency has no keys.
func (w *keyWorker) appendPreimages(i int32, p *prefixState, weak, strict []byte, st *streamed) (_, _ []byte, ok bool) {
	g := w.g
	n := &g.nodes[i]
	e := n.e
	strictRebuild := e.Plugin.Flags().StrictRebuild
	// The build scope: the run scopes of the build dependencies, merged,
	// without the element itself.
	w.gen++
	first := true
	deps := n.buildDeps
	if p != nil {
		for _, b := range deps[:p.covers] {
			for _, x := range g.nodes[b].run {
				w.stamp[x] = w.gen
			}
		}
		first, deps = false, deps[p.covers:]
	}
	// First the nodes, then their fragments, whose addresses are then
	// known ahead (see touch).
	scope := w.scope[:0]
	for _, b := range deps {
		for _, x := range g.nodes[b].run {
			if x == i || w.stamp[x] == w.gen {
				continue
			}
			w.stamp[x] = w.gen
			scope = append(scope, x)
		}
	}
	w.scope = scope
	w.sink += g.touch(scope)
	for _, x := range scope {
		ok, head, frag := g.fragment(x)
		if !ok {
			return weak, strict, false
		}
		if !first {
			weak = append(weak, ',')
			strict = append(strict, ',')
		}
		first = false
		weak = append(weak, head...)
		if strictRebuild || slices.Contains(n.strictDeps, x) {
			weak = appendKeyEnd(weak, g.nodes[x].e.Keys.Weak)
		} else {
			weak = append(weak, ']')
		}
		strict = append(strict, frag...)
		if st != nil && len(strict) >= streamChunk {
			st.weak.Write(weak)
			st.strict.Write(strict)
			weak, strict = weak[:0], strict[:0]
		}
	}
	w.base = w.appendBase(append(w.base[:0], "],"...), e)
	weak = append(append(weak, w.base...), '}')
	strict = append(strict, w.base...)
	return weak, strict, true
}

// appendKeyPrefix opens a preimage, up to its first dependency.
func appendKeyPrefix(b []byte) []byte {
	b = append(b, `{"core-artifact-version":`...)
	b = strconv.AppendInt(b, CoreArtifactVersion, 10)
	return append(b, `,"dependencies":[`...)
}

// appendKeyEnd ends a dependency fragment with its key: `,"key"]`. Keys
// are hex digits, which need no escaping.
func appendKeyEnd(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ']')
}

// runSpare is the room a new run scope gets for the chain of nodes that
// will extend it in place (see runScope).
const runSpare = 8

// runScope returns node i's run scope: the run scopes of its runtime
// dependencies merged, each element once, then i itself. It is what
// Dependencies([]*Element{e}, ScopeRun) lists: a depth-first post-order
// walk with a shared visited set skips an element only when an earlier,
// complete walk listed it and everything below it.
func (w *keyWorker) runScope(i int32) []int32 {
	n := &w.g.nodes[i]
	switch len(n.runDeps) {
	case 0:
		return append(make([]int32, 0, 1+runSpare), i)
	case 1:
		d := &w.g.nodes[n.runDeps[0]]
		r := d.run
		if slices.Contains(r, i) {
			break
		}
		// The first node to extend d's scope does it in place, when the
		// array has room: a chain of runtime dependencies then shares one
		// array rather than each link copying the whole chain below it.
		// The others copy: they cannot all have the slot after d's end.
		if len(r) < cap(r) && atomic.CompareAndSwapUint32(&d.extended, 0, 1) {
			return append(r, i)
		}
		out := make([]int32, len(r), len(r)+1+runSpare)
		copy(out, r)
		return append(out, i)
	}
	size := 1
	for _, d := range n.runDeps {
		size += len(w.g.nodes[d].run)
	}
	out := make([]int32, 0, size+runSpare)
	w.gen++
	for _, d := range n.runDeps {
		for _, x := range w.g.nodes[d].run {
			if x != i && w.stamp[x] != w.gen {
				w.stamp[x] = w.gen
				out = append(out, x)
			}
		}
	}
	return append(out, i)
}

// prefixState holds the SHA-256 states of the start of the preimages of
// the elements whose first build dependency is one node: the prefix and
// that node's run scope, as weak (names only) and strict fragments.
// Elements of a project share first build dependencies (a base system, a
// toolchain stack), so each such start is hashed once rather than once
// per element. ok is false when a fragment has no key.
type prefixState struct {
	once         sync.Once
	ok           bool
	covers       int // build dependencies whose run scopes it holds: 1 or 2
	weak, strict sha256lanes.State
}

// prefix returns node b's prefixState, hashing it on first use. The
// nodes of b's run scope all have their keys when b does.
//
// A run scope starts with the whole run scope of the first runtime
// dependency (see runScope), so b's states continue that dependency's:
// along a chain of runtime dependencies each state costs the hashing of
// what the chain adds, not of the whole scope again.
func (g *keyGraph) prefix(w *keyWorker, b int32) *prefixState {
	p := &g.prefixes[g.prefixOf[b]]
	p.once.Do(func() {
		p.covers = 1
		run := g.nodes[b].run
		var from *prefixState
		start := 0
		if rd := g.nodes[b].runDeps; len(rd) > 0 {
			// First, as it reuses the worker's buffers.
			if q, r := g.prefix(w, rd[0]), g.nodes[rd[0]].run; q.ok && len(r) < len(run) && slices.Equal(r, run[:len(r)]) {
				from, start = q, len(r)
			}
		}
		for _, x := range run[start:] {
			if ok, _, _ := g.fragment(x); !ok {
				return
			}
		}
		p.ok = true
		weak, strict := w.weak[:0], w.strict[:0]
		if from == nil {
			weak, strict = appendKeyPrefix(weak), appendKeyPrefix(strict)
			p.weak, p.strict = sha256lanes.New(), sha256lanes.New()
		} else {
			p.weak, p.strict = from.weak, from.strict
		}
		for k, x := range run[start:] {
			if k > 0 || from != nil {
				weak = append(weak, ',')
				strict = append(strict, ',')
			}
			_, head, frag := g.fragment(x)
			weak = append(append(weak, head...), ']')
			strict = append(strict, frag...)
		}
		p.weak.Write(weak)
		p.strict.Write(strict)
		w.weak, w.strict = weak, strict
	})
	return p
}

// hashKey returns the hex SHA-256 of a preimage, printing it when
// debugging.
func (g *keyGraph) hashKey(e *Element, which string, pre []byte) string {
	sum := sha256.Sum256(pre)
	key := hexKey(&sum)
	if g.kc.Debug != nil {
		fmt.Fprintf(g.kc.Debug, "[cachekey] %s %s %s\n%s\n", e.FullName, which, key, pre)
	}
	return key
}

// appendBase appends the part of e's preimage that does not depend on its
// dependencies, from "element-base-key" to "sources", without braces; env
// is scratch space.
func (w *keyWorker) appendBase(b []byte, e *Element) []byte {
	br, _ := e.Variables.Get("build-root")
	b = append(b, `"element-base-key":{"build-root":`...)
	b = appendJSONString(b, br)
	b = append(b, `},"element-plugin-key":`...)
	switch c := e.KindConfig.(type) {
	case nil:
		b = append(b, "null"...)
	case KeyAppender:
		b = c.AppendUniqueKey(b)
	default:
		b = appendJSON(b, c.UniqueKey())
	}
	b = append(b, `,"element-plugin-name":`...)
	b = appendJSONString(b, e.Kind)
	version := 0
	if av, ok := e.Plugin.(ArtifactVersioner); ok {
		version = av.ArtifactVersion()
	}
	b = append(b, `,"element-plugin-version":`...)
	b = strconv.AppendInt(b, int64(version), 10)
	runs := e.RunsCommands()
	if runs {
		b = append(b, `,"environment":`...)
		b = w.appendEnvironment(b, e)
	}
	b = append(b, `,"fatal-warnings":`...)
	b = append(b, w.g.fatal[e.Project]...)
	b = append(b, `,"public":`...)
	b = w.appendPublic(b, e.Public)
	if runs {
		b = append(b, `,"sandbox":`...)
		b = e.SandboxConfig.appendKeyJSON(b)
	}
	b = append(b, `,"sources":[`...)
	for k, s := range e.Sources {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		if s.Directory != "" {
			b = append(b, `"directory":`...)
			b = appendJSONString(b, s.Directory)
			b = append(b, ',')
		}
		b = append(b, `"key":`...)
		b = appendJSON(b, s.Plugin.UniqueKey())
		b = append(b, `,"name":`...)
		b = appendJSONString(b, s.Kind)
		b = append(b, '}')
	}
	return append(b, ']')
}

// envIdentity names an environment by the lists it is made of: elements
// of a kind that set no environment of their own share them.
type envIdentity struct {
	env     *Variable
	n       int
	nocache *string
	nn      int
}

// appendEnvironment appends the environment that enters e's key, encoding
// each shared one once.
func (w *keyWorker) appendEnvironment(b []byte, e *Element) []byte {
	if len(e.Environment) == 0 {
		return appendEnvironment(b, e, &w.env)
	}
	id := envIdentity{env: &e.Environment[0], n: len(e.Environment), nn: len(e.EnvNoCache)}
	if len(e.EnvNoCache) > 0 {
		id.nocache = &e.EnvNoCache[0]
	}
	// Elements next to each other often share theirs.
	if id == w.lastEnv && w.lastEnvEnc != nil {
		return append(b, w.lastEnvEnc...)
	}
	enc, ok := w.envs[id]
	if !ok {
		if len(w.envs) >= sharedEncodings {
			// Most likely an element's own environment: not shared.
			return appendEnvironment(b, e, &w.env)
		}
		enc = appendEnvironment(nil, e, &w.env)
		w.envs[id] = enc
	}
	w.lastEnv, w.lastEnvEnc = id, enc
	return append(b, enc...)
}

// appendEnvironment appends the environment that enters e's key: every
// variable but those of environment-nocache, sorted by name.
func appendEnvironment(b []byte, e *Element, scratch *[]Variable) []byte {
	env := (*scratch)[:0]
	for _, v := range e.Environment {
		if !slices.Contains(e.EnvNoCache, v.Name) {
			env = append(env, v)
		}
	}
	slices.SortFunc(env, func(a, b Variable) int { return strings.Compare(a.Name, b.Name) })
	b = append(b, '{')
	for k, v := range env {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v.Name)
		b = append(b, ':')
		b = appendJSONString(b, v.Value)
	}
	*scratch = env
	return append(b, '}')
}

// appendKeyJSON appends the sandbox configuration as it enters cache keys.
func (s SandboxConfig) appendKeyJSON(b []byte) []byte {
	b = append(b, `{"build-arch":`...)
	b = appendJSONString(b, s.BuildArch)
	if s.BuildGID != nil {
		b = append(b, `,"build-gid":`...)
		b = strconv.AppendInt(b, int64(*s.BuildGID), 10)
	}
	b = append(b, `,"build-os":`...)
	b = appendJSONString(b, s.BuildOS)
	if s.BuildUID != nil {
		b = append(b, `,"build-uid":`...)
		b = strconv.AppendInt(b, int64(*s.BuildUID), 10)
	}
	if s.RemoteAPIsSocketPath != "" {
		b = append(b, `,"remote-apis-socket":{`...)
		if s.RemoteAPIsACUpdate {
			b = append(b, `"action-cache-enable-update":true,`...)
		}
		b = append(b, `"path":`...)
		b = appendJSONString(b, s.RemoteAPIsSocketPath)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendPublic appends the encoded public data. Elements that add no
// public data of their own share their kind's tree, which is encoded once.
func (w *keyWorker) appendPublic(b []byte, n *node.Node) []byte {
	enc, ok := w.public[n]
	if !ok {
		if len(w.public) >= sharedEncodings {
			return appendNodeJSON(b, n) // most likely an element's own
		}
		enc = appendNodeJSON(nil, n)
		w.public[n] = enc
	}
	return append(b, enc...)
}

// sharedEncodings bounds the encodings of shared environments and public
// data a worker keeps. The shared ones (a kind's, a project's) come first
// and are few; once a worker has this many, the rest are elements' own,
// which no other element uses: keeping them would only cost memory.
const sharedEncodings = 256

// SourcesResolved reports whether every source has a reference.
func (e *Element) SourcesResolved() bool {
	for _, s := range e.Sources {
		if !s.Plugin.Resolved() {
			return false
		}
	}
	return true
}

// RunsCommands reports whether the element runs commands in a sandbox,
// which brings its sandbox configuration and environment into its key.
func (e *Element) RunsCommands() bool {
	if rc, ok := e.KindConfig.(interface{ RunsCommands() bool }); ok {
		return rc.RunsCommands()
	}
	return e.Plugin.Flags().RunsCommands
}

// DisplayKey returns the key shown for the element: its strong key, or 64
// question marks when not known yet, and whether it is the strict key.
func (e *Element) DisplayKey() (full string, strict bool) {
	if e.Keys.Strong == "" {
		return strings.Repeat("?", 64), false
	}
	return e.Keys.Strong, e.Keys.Strong == e.Keys.Strict
}
