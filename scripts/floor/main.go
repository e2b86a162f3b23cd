// Command floor measures the throughput floor of a pipeline run: the time to
// merely decompress and tokenize the very files the run read, with the
// fastest decoders the project uses, over every core. scripts/bench runs it
// right after each pipeline run and reports pipeline_time / floor_time.
//
//	go run ./scripts/floor --report=REPORT --input=ROOT --format=json
//
// REPORT is the run's report in the lake (io/lakestate.ReportPath).
//
// The files are those listed in the run report's inputs (deduplicated: the
// splits of one lzop file are read once, whole). Decompression uses
// io/decompress (klauspost gzip) and io/lzop, as the pipelines do.
// Tokenizing a record is, by --format:
//
//	json   fastjson.Parser.ParseBytes of the line (Didomi, portability feeds)
//	caret  splitting the line at its six '^' (Audience Studio request lines)
//	pipe   splitting the line at every '|' (ID5 rows)
//
// Parallelism mirrors lineparse.Parse: one reader goroutine per file
// (at most --files at once) cuts the decompressed stream into chunks of
// whole lines (--chunk-mib, 16 MiB as the pipelines), and --workers parse
// goroutines tokenize the chunks.
//
// It prints one line of key=value pairs: files, compressed bytes,
// decompressed bytes, records, tokens, bad (records the tokenizer refused),
// seconds (wall time of the read+tokenize, without process start) and
// cpu_seconds (user+system CPU of the whole process), plus
// the report's own totals and duration (report_*).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fastjson"

	"github.com/vendorlake/vendorlake/io/decompress"
	"github.com/vendorlake/vendorlake/io/lakestate"
	"github.com/vendorlake/vendorlake/io/lzop"
)

type input struct {
	Rel               string `json:"rel"`
	Bytes             int64  `json:"bytes"`
	DecompressedBytes int64  `json:"decompressed_bytes"`
	RecordsIn         int64  `json:"records_in"`
	RecordsOut        int64  `json:"records_out"`
	Rows              []struct {
		Name string `json:"name"`
		N    int64  `json:"n"`
	} `json:"rows"`
}

type report struct {
	Status  string  `json:"status"`
	Seconds float64 `json:"seconds"`
	Inputs  []input `json:"inputs"`
}

type chunk struct {
	buf  []byte
	data []byte
}

type stats struct {
	records, tokens, bad atomic.Int64
	decompressed         atomic.Int64
}

func main() {
	reportPath := flag.String("report", "", "run report ("+lakestate.ReportPath("OUTPUT", "RUN_ID")+") listing the inputs (required)")
	root := flag.String("input", "", "input root the report's paths are relative to (required)")
	format := flag.String("format", "json", "record tokenizer: json, caret or pipe")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "parse goroutines")
	files := flag.Int("files", runtime.GOMAXPROCS(0), "files read at once")
	chunkMiB := flag.Int("chunk-mib", 16, "MiB of whole lines per chunk")
	flag.Parse()
	if *reportPath == "" || *root == "" {
		fmt.Fprintln(os.Stderr, "floor: --report and --input are required")
		os.Exit(2)
	}
	tokenize, ok := tokenizers[*format]
	if !ok {
		fmt.Fprintf(os.Stderr, "floor: unknown --format=%s (want json, caret or pipe)\n", *format)
		os.Exit(2)
	}
	data, err := os.ReadFile(*reportPath)
	if err != nil {
		fail(err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		fail(fmt.Errorf("%s: %w", *reportPath, err))
	}
	var paths []string
	seen := map[string]bool{}
	var repBytes, repDecomp, repRecords, repRows int64
	skipped := 0
	for _, in := range rep.Inputs {
		// Inputs that are not under --input (e.g. the lake's own Parquet
		// files that id5 reads to rebuild id5_mapping_current) are not
		// vendor files: no floor for them.
		if _, err := os.Stat(filepath.Join(*root, filepath.FromSlash(in.Rel))); err != nil {
			skipped++
			continue
		}
		repBytes += in.Bytes
		repDecomp += in.DecompressedBytes
		repRecords += in.RecordsIn
		for _, r := range in.Rows {
			repRows += r.N
		}
		if !seen[in.Rel] {
			seen[in.Rel] = true
			paths = append(paths, filepath.Join(*root, filepath.FromSlash(in.Rel)))
		}
	}
	if len(paths) == 0 {
		fail(fmt.Errorf("%s lists no inputs", *reportPath))
	}
	var compressed int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			fail(err)
		}
		compressed += fi.Size()
	}

	chunkBytes := *chunkMiB << 20
	var st stats
	start := time.Now()
	chunks := make(chan chunk, *workers)
	free := make(chan []byte, *workers+2**files)
	var parseWG sync.WaitGroup
	for w := 0; w < *workers; w++ {
		parseWG.Add(1)
		go func() {
			defer parseWG.Done()
			var p fastjson.Parser
			for c := range chunks {
				var recs, toks, bad int64
				d := c.data
				for len(d) > 0 {
					i := bytes.IndexByte(d, '\n')
					var line []byte
					if i < 0 {
						line, d = d, nil
					} else {
						line, d = d[:i], d[i+1:]
					}
					recs++
					n, ok := tokenize(&p, line)
					toks += int64(n)
					if !ok {
						bad++
					}
				}
				st.records.Add(recs)
				st.tokens.Add(toks)
				st.bad.Add(bad)
				select {
				case free <- c.buf:
				default:
				}
			}
		}()
	}
	sem := make(chan struct{}, *files)
	var readWG sync.WaitGroup
	var errOnce sync.Once
	var readErr error
	for _, p := range paths {
		readWG.Add(1)
		sem <- struct{}{}
		go func(p string) {
			defer readWG.Done()
			defer func() { <-sem }()
			if err := readFile(p, chunkBytes, free, chunks, &st); err != nil {
				errOnce.Do(func() { readErr = err })
			}
		}(p)
	}
	readWG.Wait()
	close(chunks)
	parseWG.Wait()
	secs := time.Since(start).Seconds()
	var ru syscall.Rusage
	cpu := 0.0
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	if readErr != nil {
		fail(readErr)
	}
	fmt.Printf("format=%s files=%d skipped_inputs=%d compressed_bytes=%d decompressed_bytes=%d records=%d tokens=%d bad=%d seconds=%.3f cpu_seconds=%.3f "+
		"report_status=%s report_seconds=%.3f report_bytes=%d report_decompressed_bytes=%d report_records=%d report_rows=%d\n",
		*format, len(paths), skipped, compressed, st.decompressed.Load(), st.records.Load(), st.tokens.Load(), st.bad.Load(), secs, cpu,
		rep.Status, rep.Seconds, repBytes, repDecomp, repRecords, repRows)
}

// readFile decompresses one file and sends its content as chunks of whole
// lines.
func readFile(path string, chunkBytes int, free chan []byte, out chan<- chunk, st *stats) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, _, err := decompress.NewReader(f, path, func(r io.Reader) (io.Reader, error) { return lzop.NewReader(r) })
	if err != nil {
		return err
	}
	var carry []byte
	for eof := false; !eof; {
		var buf []byte
		select {
		case buf = <-free:
		default:
		}
		if cap(buf) < chunkBytes+len(carry) {
			buf = make([]byte, chunkBytes+len(carry))
		}
		buf = buf[:cap(buf)]
		n := copy(buf, carry)
		carry = carry[:0]
		for n < len(buf) && !eof {
			m, err := r.Read(buf[n:])
			n += m
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return err
			}
		}
		data := buf[:n]
		if !eof {
			cut := bytes.LastIndexByte(data, '\n')
			if cut < 0 {
				// A line longer than a chunk: keep growing it.
				carry = append(carry, data...)
				continue
			}
			carry = append(carry, data[cut+1:]...)
			data = data[:cut+1]
		}
		st.decompressed.Add(int64(len(data)))
		if len(data) > 0 {
			out <- chunk{buf: buf, data: data}
		}
	}
	return nil
}

var tokenizers = map[string]func(p *fastjson.Parser, line []byte) (int, bool){
	"json": func(p *fastjson.Parser, line []byte) (int, bool) {
		v, err := p.ParseBytes(line)
		if err != nil {
			return 0, false
		}
		if o, err := v.Object(); err == nil {
			return o.Len(), true
		}
		return 1, true
	},
	"caret": func(_ *fastjson.Parser, line []byte) (int, bool) { return split(line, '^', 7) },
	"pipe":  func(_ *fastjson.Parser, line []byte) (int, bool) { return split(line, '|', 0) },
}

// split cuts line at every sep; with want > 0 a record must have exactly
// want fields.
func split(line []byte, sep byte, want int) (int, bool) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	n := 1
	for {
		i := bytes.IndexByte(line, sep)
		if i < 0 {
			break
		}
		n++
		line = line[i+1:]
	}
	return n, want == 0 || n == want
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "floor:", err)
	os.Exit(1)
}
