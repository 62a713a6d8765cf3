package sha256lanes

// Batch hashes many messages, two at a time where it can. The messages
// are written into the batch's buffer, each between Begin and End, and
// hashed by Run; each may continue a State, whose bytes the batch puts in
// front of it.
//
//	b.Reset()
//	buf := b.Begin()
//	buf = append(buf, "message"...)
//	i := b.End(buf, nil)
//	b.Run()
//	sum := b.Sum(i)
type Batch struct {
	buf  []byte
	msgs []message
	open int // where the message begun last starts in buf
}

type message struct {
	from       *State // nil: the message starts here
	start, end int    // its bytes after from, in buf
	sum        [32]byte
}

const (
	// lead is the room left before a message for the bytes its State
	// holds back, trail the room after it for the padding.
	lead  = 64
	trail = 72
)

var zeros [lead + trail]byte

// Reset empties the batch, keeping its buffer.
func (b *Batch) Reset() {
	b.buf, b.msgs = b.buf[:0], b.msgs[:0]
}

// Begin starts a message: it returns the batch's buffer, for the caller
// to append the message to and pass to End.
func (b *Batch) Begin() []byte {
	b.buf = append(b.buf, zeros[:lead]...)
	b.open = len(b.buf)
	return b.buf
}

// End ends the message appended to buf since Begin, continuing from
// (nil when it is a whole message), and returns its index. from must not
// change until Run.
func (b *Batch) End(buf []byte, from *State) int {
	b.msgs = append(b.msgs, message{from: from, start: b.open, end: len(buf)})
	b.buf = append(buf, zeros[:trail]...)
	return len(b.msgs) - 1
}

// Len returns the size of the batch's buffer: its messages and the room
// around them.
func (b *Batch) Len() int { return len(b.buf) }

// Bytes returns message i as written, to change in place before Run.
func (b *Batch) Bytes(i int) []byte {
	m := &b.msgs[i]
	return b.buf[m.start:m.end:m.end]
}

// Sum returns the digest of message i; Run must have run since it ended.
func (b *Batch) Sum(i int) [32]byte { return b.msgs[i].sum }

// Run hashes the messages.
func (b *Batch) Run() {
	if !useLanes {
		for i := range b.msgs {
			m := &b.msgs[i]
			s := New()
			if m.from != nil {
				s = *m.from
			}
			s.Write(b.buf[m.start:m.end])
			m.sum = s.Sum()
		}
		return
	}
	var a, c lane
	next := 0
	for {
		if a.blocks == nil && next < len(b.msgs) {
			a.load(b, next)
			next++
		}
		if c.blocks == nil && next < len(b.msgs) {
			c.load(b, next)
			next++
		}
		switch {
		case a.blocks == nil && c.blocks == nil:
			return
		case c.blocks == nil:
			a.finish(b, len(a.blocks)/64)
		case a.blocks == nil:
			c.finish(b, len(c.blocks)/64)
		default:
			n := min(len(a.blocks), len(c.blocks)) / 64
			blocks2(&a.h, &c.h, &a.blocks[0], &c.blocks[0], n)
			a.advance(b, n)
			c.advance(b, n)
		}
	}
}

// lane is a message being hashed: its state and the blocks left.
type lane struct {
	msg    int
	h      [8]uint32
	blocks []byte
}

// load makes message i the lane's: the bytes its State holds back, the
// message, and the padding, as whole blocks.
func (l *lane) load(b *Batch, i int) {
	m := &b.msgs[i]
	l.msg, l.h = i, initial
	start, n := m.start, uint64(m.end-m.start)
	if m.from != nil {
		held := int(m.from.n % 64)
		start -= copy(b.buf[start-held:start], m.from.buf[:held])
		l.h, n = m.from.h, m.from.n+n
	}
	l.blocks = pad(b.buf[start:m.end:m.end+trail], n)
}

// finish hashes the lane's last n blocks alone.
func (l *lane) finish(b *Batch, n int) {
	blocks1(&l.h, &l.blocks[0], n)
	l.advance(b, n)
}

// advance drops n hashed blocks, recording the digest when none is left.
func (l *lane) advance(b *Batch, n int) {
	l.blocks = l.blocks[n*64:]
	if len(l.blocks) == 0 {
		b.msgs[l.msg].sum = digest(&l.h)
		l.blocks = nil
	}
}
