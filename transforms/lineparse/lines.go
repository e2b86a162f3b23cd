// Package lineparse is the parallel line engine of every vendor reader: it
// cuts a file into blocks of whole lines, parses them on worker goroutines
// with a vendor Parser, writes each bad line (or event) to the rejects table
// with its reason (Rejects), and counts every record (Counts): read, turned
// into rows, rejected, or blank.
package lineparse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
)

// Defaults of Options. DefaultChunkBytes is the one chunk size of every
// line reader, the request reader's included: smaller chunks, or a ramp up
// to it, cost more CPU and memory than they gained (BENCHMARKS.md,
// "Measurements that were code comments").
const (
	DefaultMaxLineBytes = 64 << 20
	DefaultChunkBytes   = 16 << 20
)

// Options tune Parse.
type Options struct {
	// MaxLineBytes bounds one line; longer lines are rejected as
	// line_too_long without being held in memory (default 64 MiB).
	MaxLineBytes int `json:"max_line_bytes,omitempty"`
	// ChunkBytes is the size of the blocks of whole lines handed to parse
	// workers; it also sizes the emitted batches (default 16 MiB).
	ChunkBytes int `json:"chunk_bytes,omitempty"`
	// Workers is the number of parse goroutines (default GOMAXPROCS).
	Workers int `json:"workers,omitempty"`
	// RawBytes bounds the raw text kept with a reject (default 4 KiB).
	RawBytes int `json:"raw_bytes,omitempty"`
	// Ungated parses without taking a parse slot (AcquireParseSlot): for
	// a small input whose caller bounds how many it parses at once (see
	// transforms.Ahead). Not configuration: set per file.
	Ungated bool `json:"-"`
}

func (o Options) withDefaults() Options {
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = DefaultChunkBytes
	}
	if o.ChunkBytes > o.MaxLineBytes+1 {
		o.ChunkBytes = o.MaxLineBytes + 1
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.RawBytes <= 0 {
		o.RawBytes = DefaultRawBytes
	}
	return o
}

// Parser turns the lines of one file into rows. Parse gives each
// worker goroutine its own Parser, so implementations need no locking.
type Parser interface {
	// Parse handles one line, without its line terminator. lineNo is
	// 1-based. It either appends the record's rows to its builders and
	// returns true, or records exactly one reject in rej and returns false.
	Parse(line []byte, lineNo int64, rej *Rejects) bool
	// Flush emits, as batches, the rows built since the last Flush.
	Flush(emit func(hiveparquet.Batch))
	// Rows returns the rows built per table since the parser was made.
	Rows() []Count
	// Release frees the parser's builders.
	Release()
}

// EventParser is a Parser whose records hold events that are rejected
// one by one (Didomi): Parse keeps a line whose user is good and records a
// reject per bad event with Rejects.AddEvent. Parse gives it a
// Rejects of EventRejectSchema and counts its events.
type EventParser interface {
	Parser
	// Events returns the events read (of the lines kept) and written as
	// rows since the parser was made; in = out + events rejected.
	Events() (in, out int64)
}

// WarningParser is a Parser that counts non-fatal anomalies per kind
// (FileStats.Warnings).
type WarningParser interface {
	Parser
	// Warnings returns the warnings counted since the parser was made.
	Warnings() []Count
}

// Stats are the counters Parse returns: the records' counters
// (each line read is a record, turned into rows or rejected, or blank) and
// the bytes read.
type Stats struct {
	Counts
	// Bytes counts the decompressed bytes read.
	Bytes int64
}

// IsBlank reports whether line (without its '\n') is blank: empty, or
// only ASCII white space other than the terminator: space, tab, carriage
// return, vertical tab and form feed (C's isspace; DuckDB's readers skip the
// same set). Other Unicode spaces (U+00A0, U+0085, ...) and a byte order
// mark are content. A blank line is not a record: the line engines count it
// (blank_lines) and skip it, never reject it, as Spark's and DuckDB's
// JSON-lines readers skip it; it still counts for line numbering.
func IsBlank(line []byte) bool {
	for _, c := range line {
		switch c {
		case ' ', '\t', '\r', '\v', '\f':
		default:
			return false
		}
	}
	return true
}

// Origin names the file whose lines are parsed, as its rejects rows name
// it: the input's path relative to the run's input, its partition and its
// source (tables that append per input).
type Origin struct {
	Rel, Partition, Source string
}

// Parse reads newline-delimited records from r and parses them on
// parallel workers (see ParseSource), with 1-based line numbers as
// positions. firstLine is the number of lines already consumed before r
// (e.g. a header), so that line numbers match the file.
func Parse(ctx context.Context, r io.Reader, file Origin, rejects hiveparquet.Table, firstLine int64, opts Options,
	newParser func() Parser, emit func(hiveparquet.Batch)) (Stats, error) {
	src := NewReaderSource(r, SourceOptions{Positions: LineNumbers, First: firstLine + 1}, opts)
	return ParseSource(ctx, src, file, rejects, opts, newParser, emit)
}

// ParseSource parses the lines of src on parallel workers, each with a
// Parser from newParser and a Rejects collector for the table rejects; it
// emits the resulting batches on the caller's goroutine (as Beam emitters
// require), in input order, block by block. Memory stays bounded by
// (Workers+2) blocks whatever the input size, and the process parses at
// most AcquireParseSlot's bound of files at once.
//
// Blank lines (IsBlank) are counted and skipped here, never passed to
// the parser; a trailing '\r' is removed before a line is parsed; lines over
// the length bound are rejected here, with the shared reason code and the
// raw_truncated flag.
func ParseSource(ctx context.Context, src Source, file Origin, rejects hiveparquet.Table, opts Options,
	newParser func() Parser, emit func(hiveparquet.Batch)) (Stats, error) {
	opts = opts.withDefaults()
	if !opts.Ungated {
		release, err := AcquireParseSlot(ctx)
		if err != nil {
			return Stats{}, err
		}
		defer release()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	chunks := make(chan chunk, opts.Workers)
	results := make(chan ChunkResult, opts.Workers)
	free := make(chan []byte, opts.Workers+2)
	for i := 0; i < opts.Workers+2; i++ {
		free <- nil // allocated lazily
	}

	positions := src.Positions()
	readErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		readErr <- readBlocks(ctx, src, free, chunks)
	}()

	done := make(chan struct{})
	for w := 0; w < opts.Workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			p := newParser()
			defer p.Release()
			rej := NewRejects(rejects, file.Partition, file.Source, file.Rel, opts.RawBytes)
			defer rej.Release()
			var prevRows []Count
			for c := range chunks {
				res := parseChunk(c, positions, p, rej, opts)
				rows := p.Rows()
				res.Rows = DiffCounts(rows, prevRows)
				prevRows = cloneCounts(rows)
				select {
				case results <- res:
				case <-ctx.Done():
					releaseBatches(res.Batches)
				}
				select {
				case free <- c.Buf:
				default:
				}
			}
		}()
	}
	go func() {
		for w := 0; w < opts.Workers; w++ {
			<-done
		}
		close(results)
	}()

	counts, pending := CollectInOrder(results, emit)
	err := <-readErr
	// Every goroutine has ended: keep the chunk buffers for the next file.
	for len(free) > 0 {
		if b := <-free; b != nil {
			chunkBuffers.Put(&b)
		}
	}
	if err != nil {
		ReleaseChunks(pending)
		return counts, err
	}
	if len(pending) != 0 {
		ReleaseChunks(pending)
		return counts, fmt.Errorf("parse %s: internal error: %d chunks out of order", file.Rel, len(pending))
	}
	return counts, nil
}

// readBlocks hands the blocks of src to the workers, numbered in order.
func readBlocks(ctx context.Context, src Source, free chan []byte, out chan<- chunk) error {
	for seq := 0; ; seq++ {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		b, err := src.NextBlock(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case out <- chunk{Block: b, seq: seq}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ChunkResult is what a parse worker made of one chunk of lines: its
// batches and counters, and its place (Seq) in the input.
type ChunkResult struct {
	Seq     int
	Batches []hiveparquet.Batch
	Stats
}

// CollectInOrder receives the results of parallel parse workers until
// results is closed, emits their batches on the caller's goroutine (as Beam
// emitters require) in Seq order, and sums their counters. It returns the
// results it could not emit because an earlier one never came (after an
// error); the caller releases them with ReleaseChunks.
func CollectInOrder(results <-chan ChunkResult, emit func(hiveparquet.Batch)) (Stats, []ChunkResult) {
	var counts Stats
	pending := map[int]ChunkResult{}
	next := 0
	for res := range results {
		pending[res.Seq] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for _, b := range r.Batches {
				emit(b)
			}
			counts.Add(r.Counts)
			counts.Bytes += r.Bytes
		}
	}
	left := make([]ChunkResult, 0, len(pending))
	for _, r := range pending {
		left = append(left, r)
	}
	return counts, left
}

// ReleaseChunks frees the batches of results that were not emitted.
func ReleaseChunks(rs []ChunkResult) {
	for _, r := range rs {
		releaseBatches(r.Batches)
	}
}

// chunk is a block on its way to a parse worker.
type chunk struct {
	Block
	seq int
}

func parseChunk(c chunk, positions Positions, p Parser, rej *Rejects, opts Options) ChunkResult {
	res := ChunkResult{Seq: c.seq}
	before := cloneCounts(rej.ByReason())
	n0, e0 := rej.Count(), rej.EventCount()
	ep, _ := p.(EventParser)
	var in0, out0 int64
	if ep != nil {
		in0, out0 = ep.Events()
	}
	wp, _ := p.(WarningParser)
	var warn0 []Count
	if wp != nil {
		warn0 = cloneCounts(wp.Warnings())
	}
	if c.TooLong {
		res.RecordsIn = 1
		res.Bytes = c.N
		rej.AddTruncated(c.First, ReasonLineTooLong,
			fmt.Sprintf("line of %d bytes exceeds the bound of %d bytes", c.Size, opts.MaxLineBytes), c.Data)
	} else {
		res.Bytes = c.Lead + int64(len(c.Data))
		data := c.Data
		pos := c.First
		next := c.Lead // bytes of the line before its content (ByteOffsets)
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			var line []byte
			if i < 0 {
				line, data = data, nil
			} else {
				line, data = data[:i], data[i+1:]
			}
			next += int64(len(line)) + 1
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > opts.MaxLineBytes {
				res.RecordsIn++
				// A line that began in the carried-over tail of the previous
				// read and ended in this chunk.
				rej.AddTruncated(pos, ReasonLineTooLong,
					fmt.Sprintf("line of %d bytes exceeds the bound of %d bytes", len(line), opts.MaxLineBytes), line[:min(len(line), opts.RawBytes)])
			} else if IsBlank(line) {
				res.BlankLines++
			} else if res.RecordsIn++; p.Parse(line, pos, rej) {
				res.RecordsOut++
			}
			if positions == ByteOffsets {
				pos += next
				next = 0
			} else {
				pos++
			}
		}
	}
	res.Rejected = rej.Count() - n0
	res.RejectsByReason = DiffCounts(rej.ByReason(), before)
	res.EventsRejected = rej.EventCount() - e0
	if ep != nil {
		in1, out1 := ep.Events()
		res.EventsIn, res.EventsOut = in1-in0, out1-out0
	}
	if wp != nil {
		res.Warnings = DiffCounts(wp.Warnings(), warn0)
	}
	collect := func(b hiveparquet.Batch) { res.Batches = append(res.Batches, b) }
	p.Flush(collect)
	rej.Flush(collect)
	return res
}

// chunkBuffers keeps the chunk buffers of finished parses for the next
// file: a run reads many files (ID5 delivers hundreds of small ones), and
// each parse would otherwise allocate, and the GC clear, up to Workers+2
// buffers of ChunkBytes anew. A pool is a cache, not state: any buffer may
// be dropped at any time.
var chunkBuffers sync.Pool // of *[]byte

// chunkBuffer returns a buffer of at least n bytes, reused when it can be.
func chunkBuffer(n int) []byte {
	if p, ok := chunkBuffers.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:cap(*p)]
	}
	return make([]byte, n)
}

func releaseBatches(bs []hiveparquet.Batch) {
	for _, b := range bs {
		b.Record.Release()
	}
}

func cloneCounts(cs []Count) []Count { return append([]Count(nil), cs...) }

// DiffCounts returns now - before per name (the counters a step added).
func DiffCounts(now, before []Count) []Count {
	var out []Count
	for _, c := range now {
		n := c.N
		for _, b := range before {
			if b.Name == c.Name {
				n -= b.N
			}
		}
		if n != 0 {
			out = append(out, Count{Name: c.Name, N: n})
		}
	}
	return out
}
