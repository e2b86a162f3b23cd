// Package splittar reads a gzip-compressed tar archive that its producer cut
// into numbered parts (name.tar.gz.00, .01, ...) as one stream: parts are
// opened one after the other, never joined on disk nor held in memory.
package splittar

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/vendorlake/vendorlake/io/decompress"
)

// Part is one part of a split archive.
type Part struct {
	// Path opens the part (full path or URI); Rel names it in errors and lineage.
	Path string `json:"path"`
	Rel  string `json:"rel"`
	Size int64  `json:"size"`
}

// Group is one split archive: its prefix (the name without the .NN suffix)
// and its parts in numeric order.
type Group struct {
	Prefix string `json:"prefix"`
	Parts  []Part `json:"parts"`
}

// Opener opens one part for streaming reads (e.g. lakefs.FS.Open).
type Opener func(ctx context.Context, path string) (io.ReadCloser, error)

// PartNumber returns the number of a part name "prefix.NN" (NN decimal, two
// digits or more) and its prefix.
func PartNumber(name string) (prefix string, n int, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || len(name)-i-1 < 2 {
		return "", 0, false
	}
	digits := name[i+1:]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return "", 0, false
	}
	return name[:i], n, true
}

// Groups sorts parts (already known to belong to split archives) into
// archives by prefix and checks that each archive's numbers run 0, 1, 2...
// without a gap or a duplicate; the error names the archive and the part.
func Groups(parts []Part) ([]Group, error) {
	type numbered struct {
		n int
		p Part
	}
	by := map[string][]numbered{}
	for _, p := range parts {
		prefix, n, ok := PartNumber(p.Rel)
		if !ok {
			return nil, fmt.Errorf("split archive part %s: name does not end in .NN", p.Rel)
		}
		by[prefix] = append(by[prefix], numbered{n, p})
	}
	prefixes := make([]string, 0, len(by))
	for k := range by {
		prefixes = append(prefixes, k)
	}
	sort.Strings(prefixes)
	var out []Group
	for _, prefix := range prefixes {
		ps := by[prefix]
		sort.Slice(ps, func(i, j int) bool { return ps[i].n < ps[j].n })
		g := Group{Prefix: prefix}
		for i, np := range ps {
			if np.n != i {
				if i > 0 && np.n == ps[i-1].n {
					return nil, fmt.Errorf("split archive %s: part %s duplicates part number %d", prefix, np.p.Rel, np.n)
				}
				return nil, fmt.Errorf("split archive %s: part %s.%02d is missing (found %s)", prefix, prefix, i, np.p.Rel)
			}
			g.Parts = append(g.Parts, np.p)
		}
		out = append(out, g)
	}
	return out, nil
}

// Joined reads the parts of an archive as one byte stream, opening part N+1
// when part N ends. It implements io.ByteReader so that a decompressor
// reads no further ahead than it needs (Part then says where it is).
type Joined struct {
	ctx   context.Context
	open  Opener
	parts []Part
	cur   int // index of the part being read; len(parts) at the end
	rc    io.ReadCloser
	buf   []byte
	r, w  int
	got   int64 // bytes read from the current part
	err   error
}

// Join returns a Joined over parts.
func Join(ctx context.Context, open Opener, parts []Part) *Joined {
	return &Joined{ctx: ctx, open: open, parts: parts, cur: -1, buf: make([]byte, 64<<10)}
}

// Part returns the index of the part being read (the last one at the end).
func (j *Joined) Part() int {
	if j.cur < 0 {
		return 0
	}
	if j.cur >= len(j.parts) {
		return len(j.parts) - 1
	}
	return j.cur
}

func (j *Joined) fill() error {
	for j.r == j.w {
		if j.err != nil {
			return j.err
		}
		if j.rc == nil {
			j.cur++
			if j.cur >= len(j.parts) {
				j.err = io.EOF
				return j.err
			}
			p := j.parts[j.cur]
			rc, err := j.open(j.ctx, p.Path)
			if err != nil {
				j.err = fmt.Errorf("part %s: %w", p.Rel, decompress.MarkStore(err))
				return j.err
			}
			j.rc, j.got = rc, 0
		}
		n, err := j.rc.Read(j.buf)
		j.r, j.w = 0, n
		j.got += int64(n)
		if err == io.EOF {
			j.rc.Close()
			j.rc = nil
			if p := j.parts[j.cur]; p.Size > 0 && j.got != p.Size {
				j.err = fmt.Errorf("part %s: read %d bytes, listed as %d", p.Rel, j.got, p.Size)
				return j.err
			}
		} else if err != nil {
			// The store's error: decompress.IsFormatError reports false for it.
			j.err = fmt.Errorf("part %s: %w", j.parts[j.cur].Rel, decompress.MarkStore(err))
			if n == 0 {
				return j.err
			}
		}
	}
	return nil
}

// Read implements io.Reader.
func (j *Joined) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := j.fill(); err != nil {
		return 0, err
	}
	n := copy(p, j.buf[j.r:j.w])
	j.r += n
	return n, nil
}

// ReadByte implements io.ByteReader.
func (j *Joined) ReadByte() (byte, error) {
	if err := j.fill(); err != nil {
		return 0, err
	}
	b := j.buf[j.r]
	j.r++
	return b, nil
}

// Close closes the part being read.
func (j *Joined) Close() error {
	if j.rc != nil {
		err := j.rc.Close()
		j.rc = nil
		return err
	}
	return nil
}

// Entry is one tar entry of the archive.
type Entry struct {
	Header *tar.Header
	// Index is the 0-based position of the entry in the archive.
	Index int
	// Offset is the offset of the entry's first header block in the joined,
	// decompressed tar stream.
	Offset int64
	// Part is the index of the part whose compressed bytes were being read
	// when the header came out of the decompressor. Joined is a ByteReader,
	// so gzip reads no further than it decodes, but deflate hands out its
	// output in window-sized steps: near a part boundary the part reported
	// can be the next one (by at most 32 KiB of decompressed data).
	Part int
}

// Reader walks the entries of a split tar.gz archive.
type Reader struct {
	name  string
	j     *Joined
	gz    *gzip.Reader
	cnt   *counter
	tr    *tar.Reader
	index int
	err   error
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewReader returns a Reader over the parts of the archive called name (used
// in errors). Nothing is read before the first Next.
func NewReader(ctx context.Context, open Opener, name string, parts []Part) *Reader {
	if len(parts) == 0 {
		return &Reader{name: name, err: fmt.Errorf("archive %s: no parts", name)}
	}
	return &Reader{name: name, j: Join(ctx, open, parts)}
}

// Next returns the next entry; its body is read with Read. It returns io.EOF
// at the end of the archive, and otherwise an error naming the archive and
// the part being read.
func (r *Reader) Next() (Entry, error) {
	if r.err != nil {
		return Entry{}, r.err
	}
	if r.gz == nil {
		gz, err := gzip.NewReader(r.j)
		if err != nil {
			return Entry{}, r.fail(err)
		}
		gz.Multistream(true)
		r.gz = gz
		r.cnt = &counter{r: gz}
		r.tr = tar.NewReader(r.cnt)
	} else if _, err := io.Copy(io.Discard, r.tr); err != nil {
		// Skip what the caller left of the previous body.
		return Entry{}, r.fail(err)
	}
	// Every tar record starts on a 512-byte block boundary.
	offset := (r.cnt.n + 511) &^ 511
	h, err := r.tr.Next()
	if err == io.EOF {
		// The end-of-archive blocks were read; the gzip stream must end cleanly too.
		if _, err := io.Copy(io.Discard, r.gz); err != nil {
			return Entry{}, r.fail(err)
		}
		r.err = io.EOF
		return Entry{}, io.EOF
	}
	if err != nil {
		return Entry{}, r.fail(err)
	}
	e := Entry{Header: h, Index: r.index, Offset: offset, Part: r.j.Part()}
	r.index++
	return e, nil
}

// Read reads the body of the current entry.
func (r *Reader) Read(p []byte) (int, error) {
	if r.tr == nil {
		return 0, io.EOF
	}
	n, err := r.tr.Read(p)
	if err != nil && err != io.EOF {
		return n, r.fail(err)
	}
	return n, err
}

// TarBytes returns the bytes of the decompressed tar stream read so far.
func (r *Reader) TarBytes() int64 {
	if r.cnt == nil {
		return 0
	}
	return r.cnt.n
}

// Close closes the part being read.
func (r *Reader) Close() error {
	if r.j == nil {
		return nil
	}
	return r.j.Close()
}

func (r *Reader) fail(err error) error {
	if r.err != nil && r.err != io.EOF {
		return r.err
	}
	var pe *partError
	if errors.As(err, &pe) {
		r.err = err
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	part := "?"
	if r.j != nil && len(r.j.parts) > 0 {
		part = r.j.parts[r.j.Part()].Rel
	}
	if strings.HasPrefix(err.Error(), "part ") {
		r.err = &partError{fmt.Errorf("archive %s: %w", r.name, err)}
	} else {
		r.err = &partError{fmt.Errorf("archive %s: part %s: %w", r.name, part, err)}
	}
	return r.err
}

type partError struct{ err error }

func (e *partError) Error() string { return e.err.Error() }
func (e *partError) Unwrap() error { return e.err }
