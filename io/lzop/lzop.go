// Package lzop reads lzop (.lzo) files and their hadoop-lzo block indexes.
package lzop

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"hash/crc32"
	"io"
	"slices"

	lzo "github.com/anchore/go-lzo"
)

// Magic is the nine-byte signature that starts every lzop file.
const Magic = "\x89LZO\x00\r\n\x1a\n"

// MaxBlockSize is the largest uncompressed block size accepted. lzop itself
// refuses blocks over 64 MiB; its default block size is 256 KiB.
const MaxBlockSize = 64 << 20

// Compression methods recorded in the header. All three are LZO1X streams
// and decode with the same decompressor.
const (
	MethodLZO1X1   = 1 // lzop -1 .. -6 (default -3)
	MethodLZO1X115 = 2 // lzop -2 (LZO1X-1(15))
	MethodLZO1X999 = 3 // lzop -7 .. -9
)

// Header flags, as defined by lzop's source (conf.h).
const (
	FlagAdler32D    = 0x00000001 // adler32 of each block's uncompressed data
	FlagAdler32C    = 0x00000002 // adler32 of each block's compressed data
	FlagStdin       = 0x00000004
	FlagStdout      = 0x00000008
	FlagNameDefault = 0x00000010
	FlagDOSish      = 0x00000020
	FlagExtraField  = 0x00000040 // header carries an extra field
	FlagGMTDiff     = 0x00000080
	FlagCRC32D      = 0x00000100 // crc32 of each block's uncompressed data
	FlagCRC32C      = 0x00000200 // crc32 of each block's compressed data
	FlagMultipart   = 0x00000400
	FlagFilter      = 0x00000800 // header carries a filter (not supported)
	FlagHeaderCRC32 = 0x00001000 // header checksum is crc32, not adler32
	FlagPath        = 0x00002000

	flagReserved = 0x000fc000 // must be zero (lzop: F_RESERVED)
)

// Errors returned by this package wrap one of these sentinels, so that callers
// can test the kind of failure with errors.Is and still print a message that
// says where in the stream it happened.
var (
	// ErrHeader means the input is not an lzop file or its header is damaged.
	ErrHeader = errors.New("lzop: invalid header")
	// ErrUnsupported means a valid header asks for a feature this package lacks.
	ErrUnsupported = errors.New("lzop: unsupported feature")
	// ErrChecksum means a header or block checksum did not match.
	ErrChecksum = errors.New("lzop: checksum mismatch")
	// ErrCorrupt means a block is malformed or does not decompress.
	ErrCorrupt = errors.New("lzop: corrupt block")
	// ErrTruncated means the input ended before the end-of-stream marker.
	ErrTruncated = errors.New("lzop: truncated input")
	// ErrIndex means an index is malformed or does not fit its file.
	ErrIndex = errors.New("lzop: invalid index")
)

// Header is the parsed lzop file header.
type Header struct {
	Version       uint16 // lzop version that wrote the file, e.g. 0x1040
	LibVersion    uint16 // LZO library version
	VersionNeeded uint16 // minimum lzop version to extract (0 before 0x0940)
	Method        uint8  // one of the Method constants
	Level         uint8  // compression level (0 before 0x0940)
	Flags         uint32 // Flag* bits
	Mode          uint32 // Unix file mode of the original file
	MTime         int64  // modification time of the original file, seconds
	Name          string // original file name, may be empty
	Size          int64  // header length in bytes, magic included
}

// checksumCounts reports how many uncompressed-data and compressed-data
// checksums each block header carries.
func (h *Header) checksumCounts() (d, c int) {
	if h.Flags&FlagAdler32D != 0 {
		d++
	}
	if h.Flags&FlagCRC32D != 0 {
		d++
	}
	if h.Flags&FlagAdler32C != 0 {
		c++
	}
	if h.Flags&FlagCRC32C != 0 {
		c++
	}
	return d, c
}

// headerReader reads header fields while computing both checksums lzop may
// use for them; the header flags say afterwards which one is stored.
type headerReader struct {
	r     io.Reader
	adler hash.Hash32
	crc   hash.Hash32
	n     int64
	buf   [8]byte
	err   error
}

func (h *headerReader) resetSums() {
	h.adler.Reset()
	h.crc.Reset()
}

func (h *headerReader) sum(useCRC bool) uint32 {
	if useCRC {
		return h.crc.Sum32()
	}
	return h.adler.Sum32()
}

func (h *headerReader) read(p []byte) {
	if h.err != nil {
		return
	}
	if _, err := io.ReadFull(h.r, p); err != nil {
		if endOfInput(err) {
			h.err = fmt.Errorf("%w: header ends at byte %d", ErrTruncated, h.n)
		} else {
			h.err = fmt.Errorf("lzop: reading header: %w", err)
		}
		return
	}
	h.n += int64(len(p))
	h.adler.Write(p)
	h.crc.Write(p)
}

func (h *headerReader) u8() uint8 {
	h.read(h.buf[:1])
	return h.buf[0]
}

func (h *headerReader) u16() uint16 {
	h.read(h.buf[:2])
	return binary.BigEndian.Uint16(h.buf[:2])
}

func (h *headerReader) u32() uint32 {
	h.read(h.buf[:4])
	return binary.BigEndian.Uint32(h.buf[:4])
}

// readHeader parses an lzop header from r, verifying its checksum.
func readHeader(r io.Reader) (Header, error) {
	var h Header
	var magic [len(Magic)]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		if endOfInput(err) {
			return h, fmt.Errorf("%w: file shorter than the lzop magic", ErrHeader)
		}
		return h, fmt.Errorf("lzop: reading magic: %w", err)
	}
	if string(magic[:]) != Magic {
		return h, fmt.Errorf("%w: bad magic % x", ErrHeader, magic[:])
	}
	hr := &headerReader{r: r, adler: adler32.New(), crc: crc32.NewIEEE(), n: int64(len(Magic))}
	h.Version = hr.u16()
	h.LibVersion = hr.u16()
	if h.Version >= 0x0940 {
		h.VersionNeeded = hr.u16()
	}
	h.Method = hr.u8()
	if h.Version >= 0x0940 {
		h.Level = hr.u8()
	}
	h.Flags = hr.u32()
	var filter uint32
	if h.Flags&FlagFilter != 0 {
		filter = hr.u32()
	}
	h.Mode = hr.u32()
	h.MTime = int64(hr.u32())
	if h.Version >= 0x0940 {
		h.MTime |= int64(hr.u32()) << 32
	}
	nameLen := hr.u8()
	var name [255]byte
	hr.read(name[:nameLen])
	if hr.err != nil {
		return h, hr.err
	}
	h.Name = string(name[:nameLen])
	useCRC := h.Flags&FlagHeaderCRC32 != 0
	want := hr.sum(useCRC)
	got := hr.u32()
	if hr.err != nil {
		return h, hr.err
	}
	if got != want {
		return h, fmt.Errorf("%w: header checksum %08x, computed %08x", ErrChecksum, got, want)
	}
	switch {
	case h.Version < 0x0900:
		return h, fmt.Errorf("%w: version %#04x predates lzop 0.90", ErrUnsupported, h.Version)
	case h.VersionNeeded > 0x1040:
		return h, fmt.Errorf("%w: file needs lzop version %#04x", ErrUnsupported, h.VersionNeeded)
	case h.Method < MethodLZO1X1 || h.Method > MethodLZO1X999:
		return h, fmt.Errorf("%w: compression method %d", ErrUnsupported, h.Method)
	case h.Flags&flagReserved != 0:
		return h, fmt.Errorf("%w: reserved flag bits %#08x set", ErrHeader, h.Flags&flagReserved)
	case h.Flags&FlagFilter != 0:
		return h, fmt.Errorf("%w: filter %d", ErrUnsupported, filter)
	case h.Flags&FlagMultipart != 0:
		return h, fmt.Errorf("%w: multipart archive", ErrUnsupported)
	}
	if h.Flags&FlagExtraField != 0 {
		hr.resetSums()
		n := hr.u32()
		if hr.err != nil {
			return h, hr.err
		}
		if n > 1<<20 {
			return h, fmt.Errorf("%w: extra field of %d bytes", ErrHeader, n)
		}
		for ; n > 0 && hr.err == nil; n-- {
			hr.u8()
		}
		want := hr.sum(useCRC)
		got := hr.u32()
		if hr.err != nil {
			return h, hr.err
		}
		if got != want {
			return h, fmt.Errorf("%w: extra field checksum %08x, computed %08x", ErrChecksum, got, want)
		}
	}
	h.Size = hr.n
	return h, nil
}

// blockDecoder decodes the block stream that follows a header.
type blockDecoder struct {
	hdr      Header
	r        io.Reader // positioned at a block header
	pos      int64     // offset of r in the file
	src, dst []byte    // reused buffers
	scratch  [16]byte
}

// blockInfo describes one block header.
type blockInfo struct {
	offset  int64 // file offset of the block header
	dstLen  uint32
	srcLen  uint32
	dSums   [2]uint32
	cSums   [2]uint32
	dataOff int64 // file offset of the block's data
}

// next reads the next block header. It returns io.EOF at the end-of-stream
// marker.
func (d *blockDecoder) next() (blockInfo, error) {
	b := blockInfo{offset: d.pos}
	if _, err := io.ReadFull(d.r, d.scratch[:4]); err != nil {
		return b, d.truncated(err, "block header")
	}
	d.pos += 4
	b.dstLen = binary.BigEndian.Uint32(d.scratch[:4])
	if b.dstLen == 0 {
		return b, io.EOF
	}
	if b.dstLen > MaxBlockSize {
		return b, fmt.Errorf("%w: block at offset %d claims %d uncompressed bytes (max %d)", ErrCorrupt, b.offset, b.dstLen, MaxBlockSize)
	}
	if _, err := io.ReadFull(d.r, d.scratch[:4]); err != nil {
		return b, d.truncated(err, "block header")
	}
	d.pos += 4
	b.srcLen = binary.BigEndian.Uint32(d.scratch[:4])
	if b.srcLen == 0 || b.srcLen > b.dstLen {
		return b, fmt.Errorf("%w: block at offset %d has %d compressed bytes for %d uncompressed", ErrCorrupt, b.offset, b.srcLen, b.dstLen)
	}
	// LZO1X expands a byte to at most a few hundred: a small block that claims
	// a huge output is corrupt, and refusing it bounds allocation.
	if uint64(b.dstLen) > uint64(b.srcLen)*256+4096 {
		return b, fmt.Errorf("%w: block at offset %d claims %d bytes from %d compressed", ErrCorrupt, b.offset, b.dstLen, b.srcLen)
	}
	nd, nc := d.hdr.checksumCounts()
	if b.srcLen == b.dstLen {
		nc = 0 // stored block: lzop writes no compressed-data checksum
	}
	n := 4 * (nd + nc)
	if _, err := io.ReadFull(d.r, d.scratch[:n]); err != nil {
		return b, d.truncated(err, "block checksums")
	}
	d.pos += int64(n)
	for i := 0; i < nd; i++ {
		b.dSums[i] = binary.BigEndian.Uint32(d.scratch[4*i:])
	}
	for i := 0; i < nc; i++ {
		b.cSums[i] = binary.BigEndian.Uint32(d.scratch[4*(nd+i):])
	}
	b.dataOff = d.pos
	return b, nil
}

// endOfInput reports whether err, of an io.ReadFull, is the end of the
// input: io.EOF or io.ErrUnexpectedEOF themselves. An error that only wraps
// one comes from the reader below (a store whose connection was cut short)
// and is passed on as such, not taken for a truncated file.
func endOfInput(err error) bool { return err == io.EOF || err == io.ErrUnexpectedEOF }

func (d *blockDecoder) truncated(err error, what string) error {
	if endOfInput(err) {
		return fmt.Errorf("%w: %s at offset %d", ErrTruncated, what, d.pos)
	}
	return fmt.Errorf("lzop: reading %s at offset %d: %w", what, d.pos, err)
}

// skip moves past the data of block b without decoding it.
func (d *blockDecoder) skip(b blockInfo) error {
	n, err := io.CopyN(io.Discard, d.r, int64(b.srcLen))
	d.pos += n
	if err != nil {
		return d.truncated(err, "block data")
	}
	return nil
}

// decode reads the data of block b and returns its uncompressed bytes, valid
// until the next call.
func (d *blockDecoder) decode(b blockInfo) ([]byte, error) {
	// Read the compressed bytes in steps so that a header that lies about
	// its size cannot make us allocate more than the input really holds.
	d.src = d.src[:0]
	for remaining := int(b.srcLen); remaining > 0; {
		step := min(remaining, 1<<20)
		d.src = slices.Grow(d.src, step)
		chunk := d.src[len(d.src) : len(d.src)+step]
		n, err := io.ReadFull(d.r, chunk)
		d.pos += int64(n)
		if err != nil {
			return nil, d.truncated(err, "block data")
		}
		d.src = d.src[:len(d.src)+n]
		remaining -= n
	}
	nd, nc := d.hdr.checksumCounts()
	stored := b.srcLen == b.dstLen
	if !stored {
		if err := d.verify(d.src, b.cSums[:nc], d.hdr.Flags&FlagAdler32C != 0, "compressed", b.offset); err != nil {
			return nil, err
		}
	}
	out := d.src
	if !stored {
		if cap(d.dst) < int(b.dstLen) {
			d.dst = make([]byte, b.dstLen)
		}
		d.dst = d.dst[:b.dstLen]
		n, err := decompress(d.src, d.dst)
		if err != nil {
			return nil, fmt.Errorf("%w: block at offset %d: %v", ErrCorrupt, b.offset, err)
		}
		if n != int(b.dstLen) {
			return nil, fmt.Errorf("%w: block at offset %d decompressed to %d bytes, header says %d", ErrCorrupt, b.offset, n, b.dstLen)
		}
		out = d.dst
	}
	if err := d.verify(out, b.dSums[:nd], d.hdr.Flags&FlagAdler32D != 0, "uncompressed", b.offset); err != nil {
		return nil, err
	}
	return out, nil
}

// verify checks p against sums, which hold the adler32 first (when hasAdler)
// and then the crc32, in the order lzop writes them.
func (d *blockDecoder) verify(p []byte, sums []uint32, hasAdler bool, what string, off int64) error {
	for i, want := range sums {
		var got uint32
		kind := "crc32"
		if i == 0 && hasAdler {
			got, kind = adler32.Checksum(p), "adler32"
		} else {
			got = crc32.ChecksumIEEE(p)
		}
		if got != want {
			return fmt.Errorf("%w: %s %s of block at offset %d is %08x, want %08x", ErrChecksum, what, kind, off, got, want)
		}
	}
	return nil
}

// decompress runs the LZO1X decompressor, turning any panic on hostile
// input into an error.
func decompress(src, dst []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("lzo decompressor panic: %v", r)
		}
	}()
	return lzo.Decompress(src, dst)
}

// Reader decompresses an lzop stream. It holds at most one block (and its
// compressed form) in memory.
type Reader struct {
	dec blockDecoder
	buf []byte // undelivered uncompressed bytes of the current block
	err error

	// For readers made by OpenRange: blocks whose header starts at or after
	// rangeEnd are past the range; inRange counts the uncompressed bytes of
	// the blocks before it.
	rangeEnd  int64
	inRange   int64
	rangeDone bool
}

// NewReader reads the lzop header from r and returns a Reader of the
// decompressed data. Errors wrap ErrHeader, ErrUnsupported, ErrChecksum or
// ErrTruncated; add the file name when reporting them.
func NewReader(r io.Reader) (*Reader, error) {
	if _, ok := r.(io.ByteReader); !ok {
		r = bufio.NewReaderSize(r, 64<<10)
	}
	h, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	return &Reader{dec: blockDecoder{hdr: h, r: r, pos: h.Size}, rangeEnd: -1}, nil
}

// Header returns the file's header.
func (z *Reader) Header() Header { return z.dec.hdr }

// Read implements io.Reader. It returns io.EOF after the end-of-stream
// marker; input that ends before it yields an error wrapping ErrTruncated.
func (z *Reader) Read(p []byte) (int, error) {
	for len(z.buf) == 0 {
		if z.err != nil {
			return 0, z.err
		}
		b, err := z.dec.next()
		if err != nil {
			z.err = err
			z.rangeDone = true
			continue
		}
		if b.offset >= z.rangeEnd && z.rangeEnd >= 0 {
			z.rangeDone = true
		}
		z.buf, z.err = z.dec.decode(b)
		if !z.rangeDone {
			z.inRange += int64(len(z.buf))
		}
	}
	n := copy(p, z.buf)
	z.buf = z.buf[n:]
	return n, nil
}
