package lzop

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// The .lzo.index format written by hadoop-lzo's LzoIndexer (and by
// lzop-compatible indexers such as twitter/hadoop-lzo's DistributedLzoIndexer)
// is a bare sequence of big-endian int64 values: the file offset of each
// compressed block's header (its uncompressed-length field), in file order.
// There is no header, no count and no terminator. Debian's lzop package ships
// no indexer; BuildIndex computes the same offsets.

// maxIndexEntries bounds ReadIndex: 2^27 entries describe a 32 TiB file of
// 256 KiB blocks, and cost 1 GiB of memory.
const maxIndexEntries = 1 << 27

// ReadIndex reads an .lzo.index stream. It checks that offsets are positive
// and strictly increasing; CheckIndex also checks them against the file.
func ReadIndex(r io.Reader) ([]int64, error) {
	br := bufio.NewReader(r)
	var offsets []int64
	var buf [8]byte
	for {
		n, err := io.ReadFull(br, buf[:])
		if err == io.EOF {
			return offsets, nil
		}
		if err == io.ErrUnexpectedEOF { // not the reader's own, wrapped (see endOfInput)
			return nil, fmt.Errorf("%w: %d trailing bytes after entry %d (entries are 8 bytes)", ErrIndex, n, len(offsets))
		}
		if err != nil {
			return nil, fmt.Errorf("lzop: reading index: %w", err)
		}
		if len(offsets) == maxIndexEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrIndex, maxIndexEntries)
		}
		off := int64(binary.BigEndian.Uint64(buf[:]))
		if off <= 0 {
			return nil, fmt.Errorf("%w: entry %d is offset %d", ErrIndex, len(offsets), off)
		}
		if len(offsets) > 0 && off <= offsets[len(offsets)-1] {
			return nil, fmt.Errorf("%w: entry %d (offset %d) does not follow entry %d (offset %d)", ErrIndex, len(offsets), off, len(offsets)-1, offsets[len(offsets)-1])
		}
		offsets = append(offsets, off)
	}
}

// CheckIndex reports whether offsets can index a file of size bytes: strictly
// increasing, past the smallest possible lzop header, and each leaving room
// for a block header before the end of the file.
func CheckIndex(offsets []int64, size int64) error {
	const minHeader = int64(len(Magic)) + 2 + 2 + 1 + 4 + 4 + 4 + 1 + 4
	for i, off := range offsets {
		if off < minHeader {
			return fmt.Errorf("%w: entry %d points to offset %d, inside the lzop header", ErrIndex, i, off)
		}
		if off+8 > size {
			return fmt.Errorf("%w: entry %d points to offset %d, outside the %d-byte file", ErrIndex, i, off, size)
		}
		if i > 0 && off <= offsets[i-1] {
			return fmt.Errorf("%w: entry %d (offset %d) does not follow entry %d (offset %d)", ErrIndex, i, off, i-1, offsets[i-1])
		}
	}
	return nil
}

// WriteIndex writes offsets in the .lzo.index format.
func WriteIndex(w io.Writer, offsets []int64) error {
	bw := bufio.NewWriter(w)
	var buf [8]byte
	for _, off := range offsets {
		binary.BigEndian.PutUint64(buf[:], uint64(off))
		if _, err := bw.Write(buf[:]); err != nil {
			return fmt.Errorf("lzop: writing index: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("lzop: writing index: %w", err)
	}
	return nil
}

// BuildIndex walks the block headers of the lzop file read from r and returns
// the offset of every block, as hadoop-lzo's LzoIndexer does. It skips block
// data without decompressing or checksumming it.
func BuildIndex(r io.Reader) ([]int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	d := blockDecoder{hdr: h, r: br, pos: h.Size}
	var offsets []int64
	for {
		b, err := d.next()
		if err == io.EOF {
			return offsets, nil
		}
		if err != nil {
			return nil, err
		}
		offsets = append(offsets, b.offset)
		if err := d.skip(b); err != nil {
			return nil, err
		}
	}
}
