package source

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Compression names a stream compression.
type Compression string

// The compressions Decompress reads.
const (
	None  Compression = ""
	Gzip  Compression = "gz"
	Bzip2 Compression = "bz2"
	XZ    Compression = "xz"
	Zstd  Compression = "zst"
	Lzip  Compression = "lz"
)

// DetectCompression recognises a compressed stream by its first bytes.
func DetectCompression(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(head, []byte("BZh")):
		return Bzip2
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return XZ
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(head, []byte("LZIP")):
		return Lzip
	}
	return None
}

// Decompress returns a reader of r's content, decompressed according to
// its first bytes: gzip, bzip2, xz, zstd or lzip, or as it is. Everything
// is done in Go: no host tool is run.
func Decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	switch DetectCompression(head) {
	case Gzip:
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return z, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(br)), nil
	case XZ:
		z, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return io.NopCloser(z), nil
	case Zstd:
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<31))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return z.IOReadCloser(), nil
	case Lzip:
		return io.NopCloser(&lzipReader{br: br}), nil
	}
	return io.NopCloser(br), nil
}

// lzipReader decodes the lzip format: members of a 6-byte header ("LZIP",
// version 1, coded dictionary size), a raw LZMA stream (lc=3, lp=0, pb=2)
// ended by an end-of-stream marker, and a 20-byte trailer (CRC32 of the
// data, data size, member size), one after the other.
type lzipReader struct {
	br      *bufio.Reader
	member  io.Reader // the current member's decoder, nil between members
	crc     uint32
	size    uint64
	members int // members read completely
	done    bool
}

func (z *lzipReader) Read(p []byte) (int, error) {
	for {
		if z.done {
			return 0, io.EOF
		}
		if z.member == nil {
			if err := z.startMember(); err != nil {
				return 0, err
			}
			if z.done {
				return 0, io.EOF
			}
		}
		n, err := z.member.Read(p)
		z.crc = crc32.Update(z.crc, crc32.IEEETable, p[:n])
		z.size += uint64(n)
		if errors.Is(err, io.EOF) {
			if err := z.endMember(); err != nil {
				return n, err
			}
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// startMember reads a member header; at the end of the input (after at
// least one member) it marks the reader done.
func (z *lzipReader) startMember() error {
	head, err := z.br.Peek(6)
	if len(head) == 0 && errors.Is(err, io.EOF) && z.members > 0 {
		z.done = true
		return nil
	}
	if len(head) < 6 || !bytes.HasPrefix(head, []byte("LZIP")) {
		if z.members > 0 {
			z.done = true // trailing data after the last member is ignored, as lzip does
			return nil
		}
		return errors.New("lzip: not an lzip stream")
	}
	if head[4] != 1 {
		return fmt.Errorf("lzip: unsupported version %d", head[4])
	}
	ds := head[5]
	dict := uint32(1) << (ds & 0x1f)
	dict -= (dict / 16) * uint32(ds>>5)
	if ds&0x1f < 12 || ds&0x1f > 29 {
		return fmt.Errorf("lzip: invalid dictionary size")
	}
	z.br.Discard(6)
	// A classic .lzma header for the raw stream: properties, dictionary
	// size, unknown size (the stream ends with its marker).
	hdr := make([]byte, 13)
	hdr[0] = (2*5+0)*9 + 3
	binary.LittleEndian.PutUint32(hdr[1:], dict)
	binary.LittleEndian.PutUint64(hdr[5:], ^uint64(0))
	r, err := lzma.NewReader(&prefixedByteReader{prefix: hdr, br: z.br})
	if err != nil {
		return fmt.Errorf("lzip: %w", err)
	}
	z.member, z.crc, z.size = r, 0, 0
	return nil
}

func (z *lzipReader) endMember() error {
	var trailer [20]byte
	if _, err := io.ReadFull(z.br, trailer[:]); err != nil {
		return fmt.Errorf("lzip: truncated member trailer: %w", err)
	}
	if got := binary.LittleEndian.Uint32(trailer[0:]); got != z.crc {
		return fmt.Errorf("lzip: CRC mismatch: the data is corrupt")
	}
	if got := binary.LittleEndian.Uint64(trailer[4:]); got != z.size {
		return fmt.Errorf("lzip: size mismatch: the data is corrupt")
	}
	z.member = nil
	z.members++
	return nil
}

// prefixedByteReader serves prefix, then br: a byte reader, so the LZMA
// decoder reads exactly its stream and leaves the trailer in br.
type prefixedByteReader struct {
	prefix []byte
	br     *bufio.Reader
}

func (p *prefixedByteReader) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.br.Read(b)
}

func (p *prefixedByteReader) ReadByte() (byte, error) {
	if len(p.prefix) > 0 {
		c := p.prefix[0]
		p.prefix = p.prefix[1:]
		return c, nil
	}
	return p.br.ReadByte()
}

// WriteLzip compresses data in the lzip format (one member). Tests use it
// to make lzip archives without the host's lzip.
func WriteLzip(w io.Writer, data []byte) error {
	const dictLog = 20
	var buf bytes.Buffer
	lw, err := lzma.WriterConfig{
		Properties: &lzma.Properties{LC: 3, LP: 0, PB: 2},
		DictCap:    1 << dictLog,
		EOSMarker:  true,
	}.NewWriter(&buf)
	if err != nil {
		return err
	}
	if _, err := lw.Write(data); err != nil {
		return err
	}
	if err := lw.Close(); err != nil {
		return err
	}
	raw := buf.Bytes()[13:] // drop the classic header
	out := append([]byte("LZIP\x01"), dictLog)
	out = append(out, raw...)
	var trailer [20]byte
	binary.LittleEndian.PutUint32(trailer[0:], crc32.ChecksumIEEE(data))
	binary.LittleEndian.PutUint64(trailer[4:], uint64(len(data)))
	binary.LittleEndian.PutUint64(trailer[12:], uint64(6+len(raw)+20))
	out = append(out, trailer[:]...)
	_, err = w.Write(out)
	return err
}
