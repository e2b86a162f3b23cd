package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type didomiConfig struct {
	Out               string
	Seed              uint64
	ExportIDs         []string
	Dates             []string
	FilesPerPartition int
	UsersPerFile      int
	TargetBytes       int64
	BadLines          bool
	BadLineRate       float64
	Incomplete        []string // "export-id/date"
	SuccessInUsers    []string // "export-id/date"
	Sample            bool
	ProofArchives     bool
	ProofPartSize     int64
	ProofShare        float64
	Workers           int
	GzipLevel         int
	Clean             bool
	Quiet             bool
}

const didomiUsage = `usage: gendata didomi --out=DIR [flags]
       gendata didomi --sample --out=testdata/didomi

Writes a Didomi batch export tree:
  DIR/export-id=ID/date=YYYY-MM-DD/users/*.json.gz   (NDJSON, gzip, one {"user":..,"events":[..]} per line)
  DIR/export-id=ID/date=YYYY-MM-DD/_SUCCESS          (or users/_SUCCESS; absent for --incomplete)
  DIR/export-id=ID/date=YYYY-MM-DD/proofs/proofs.tar.gz.NN
                                                     (--proof-archives: every proof the partition's
                                                     events reference, split tar.gz; --sample plants
                                                     two small archives of its own)
  DIR/EXPECTED.json                                  (per-partition truth: counts, rejects, spot values)
Output is byte-for-byte deterministic for a given seed and flags (any --workers).

flags:
`

func parseDidomiFlags(args []string, stderr io.Writer) (*didomiConfig, error) {
	cfg := &didomiConfig{}
	fs := flag.NewFlagSet("didomi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), didomiUsage)
		fs.PrintDefaults()
	}
	var exportIDs, dates, incomplete, successInUsers, target string
	fs.StringVar(&cfg.Out, "out", "", "output root directory (required)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	fs.StringVar(&exportIDs, "export-ids", "exp-web,exp-app", "comma-separated export ids")
	fs.StringVar(&dates, "dates", "2024-03-01,2024-03-02,2024-03-03", "comma-separated export dates YYYY-MM-DD")
	fs.IntVar(&cfg.FilesPerPartition, "files-per-partition", 3, "data files per partition")
	fs.IntVar(&cfg.UsersPerFile, "users-per-file", 1000, "good lines (users) per file; ignored with --target-bytes")
	fs.StringVar(&target, "target-bytes", "", "approximate total compressed size, e.g. 100MiB, 1GiB, 2MB, 500000 (files grow until their share is reached)")
	fs.BoolVar(&cfg.BadLines, "bad-lines", false, "plant one bad line per reason code, spread over the complete partitions")
	fs.Float64Var(&cfg.BadLineRate, "bad-line-rate", 0, "additionally plant bad lines (random codes) at this rate per line in every file")
	fs.StringVar(&incomplete, "incomplete", "", "comma-separated export-id/date partitions written without _SUCCESS")
	fs.StringVar(&successInUsers, "success-in-users", "", "comma-separated export-id/date partitions whose _SUCCESS is in users/")
	var partSize string
	fs.BoolVar(&cfg.ProofArchives, "proof-archives", false, "write a split proof archive (proofs/proofs.tar.gz.NN) for every complete partition, holding every proof its events reference; the users files are the same with or without it")
	fs.StringVar(&partSize, "proof-part-size", "64MiB", "size of each proof archive part with --proof-archives")
	fs.Float64Var(&cfg.ProofShare, "proof-share", 1, "share (0..1) of the events drawn to carry proofs (30% of all events) that keep them; below 1 the others get an empty proofs_id (real exports carry few proofs; each is a file in the lake)")
	fs.BoolVar(&cfg.Sample, "sample", false, "make the small committed sample (fixes export ids, dates, sizes, markers, bad lines)")
	fs.IntVar(&cfg.Workers, "workers", runtime.GOMAXPROCS(0), "files generated concurrently (does not change the output)")
	fs.IntVar(&cfg.GzipLevel, "gzip-level", 6, "gzip level 1..9")
	fs.BoolVar(&cfg.Clean, "clean", false, "remove existing export-id=* folders and EXPECTED.json under --out first (implied by --sample)")
	fs.BoolVar(&cfg.Quiet, "quiet", false, "no progress output")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.Out == "" {
		return nil, errors.New("--out is required")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.Sample {
		for _, n := range []string{"export-ids", "dates", "files-per-partition", "users-per-file", "target-bytes", "bad-lines", "bad-line-rate", "incomplete", "success-in-users", "proof-archives", "proof-part-size", "proof-share"} {
			if set[n] {
				return nil, fmt.Errorf("--%s cannot be combined with --sample", n)
			}
		}
		exportIDs = "exp-web,exp-app"
		dates = "2024-03-01,2024-03-02,2024-03-03"
		incomplete = "exp-app/2024-03-03"
		successInUsers = "exp-web/2024-03-02"
		cfg.BadLines = true
		cfg.Clean = true
	}
	cfg.ExportIDs = splitList(exportIDs)
	cfg.Dates = splitList(dates)
	cfg.Incomplete = splitList(incomplete)
	cfg.SuccessInUsers = splitList(successInUsers)
	if len(cfg.ExportIDs) == 0 || len(cfg.Dates) == 0 {
		return nil, errors.New("need at least one export id and one date")
	}
	for _, id := range cfg.ExportIDs {
		if strings.ContainsAny(id, "/=\\") {
			return nil, fmt.Errorf("bad export id %q", id)
		}
	}
	for _, d := range cfg.Dates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, fmt.Errorf("bad date %q: want YYYY-MM-DD", d)
		}
	}
	if hasDup(cfg.ExportIDs) || hasDup(cfg.Dates) {
		return nil, errors.New("duplicate export id or date")
	}
	for _, p := range append(slices.Clone(cfg.Incomplete), cfg.SuccessInUsers...) {
		e, d, ok := strings.Cut(p, "/")
		if !ok || !slices.Contains(cfg.ExportIDs, e) || !slices.Contains(cfg.Dates, d) {
			return nil, fmt.Errorf("partition %q is not export-id/date of a generated partition", p)
		}
	}
	n, err := parseSize(partSize)
	if err != nil {
		return nil, fmt.Errorf("--proof-part-size: %w", err)
	}
	cfg.ProofPartSize = n
	if target != "" {
		n, err := parseSize(target)
		if err != nil {
			return nil, err
		}
		cfg.TargetBytes = n
	}
	if cfg.FilesPerPartition < 1 || cfg.UsersPerFile < 0 || cfg.Workers < 1 || cfg.GzipLevel < 1 || cfg.GzipLevel > 9 || cfg.BadLineRate < 0 || cfg.BadLineRate >= 1 || cfg.ProofShare < 0 || cfg.ProofShare > 1 {
		return nil, errors.New("out-of-range numeric flag")
	}
	return cfg, nil
}

func hasDup(s []string) bool {
	c := slices.Clone(s)
	slices.Sort(c)
	return len(slices.Compact(c)) != len(s)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseSize parses 123, 10k/KB/KiB, 5M/MB/MiB, 1G/GB/GiB (k/M/G and *iB are
// binary, KB/MB/GB decimal).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	v, err := strconv.ParseFloat(t[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	}[strings.ToLower(strings.TrimSpace(t[i:]))]
	if mult == 0 || v <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * mult), nil
}

// The driver: parse the flags, plan, write the files and EXPECTED.json.

func runDidomi(args []string, stdout io.Writer) error {
	cfg, err := parseDidomiFlags(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.Quiet {
		stdout = io.Discard
	}
	start := time.Now() // progress report only; never in the data
	ex, err := generateDidomi(cfg)
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	t := ex.Totals
	fmt.Fprintf(stdout, "didomi: %d partitions (%d complete), %d files, %d lines (%d good, %d events), %.1f MiB gzip / %.1f MiB NDJSON in %.2fs (%.1f MB/s gzip, %.1f MB/s NDJSON) -> %s\n",
		t.Partitions, t.CompletePartitions, t.Files, t.Lines, t.GoodLines, t.Events,
		float64(t.Bytes)/(1<<20), float64(t.UncompressedBytes)/(1<<20), el,
		float64(t.Bytes)/1e6/el, float64(t.UncompressedBytes)/1e6/el, cfg.Out)
	return nil
}

// generateDidomi writes the whole tree and EXPECTED.json and returns the latter.
func generateDidomi(cfg *didomiConfig) (*didomiExpected, error) {
	if err := prepareOut(cfg); err != nil {
		return nil, err
	}
	parts := planDidomi(cfg)
	var jobs []*fileJob
	for _, p := range parts {
		if err := os.MkdirAll(filepath.Join(cfg.Out, filepath.FromSlash(p.rel()), "users"), 0o755); err != nil {
			return nil, err
		}
		jobs = append(jobs, p.files...)
	}
	ch := make(chan *fileJob)
	var wg sync.WaitGroup
	for w := 0; w < min(cfg.Workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range ch {
				path := filepath.Join(cfg.Out, filepath.FromSlash(f.part.rel()), "users", f.name)
				f.err = genFile(cfg, f, path)
			}
		}()
	}
	for _, f := range jobs {
		ch <- f
	}
	close(ch)
	wg.Wait()
	for _, f := range jobs {
		if f.err != nil {
			return nil, fmt.Errorf("%s/users/%s: %w", f.part.rel(), f.name, f.err)
		}
	}
	archives, err := writeProofArchives(cfg, parts)
	if err != nil {
		return nil, err
	}
	// _SUCCESS last, once every file of the partition is written.
	for _, p := range parts {
		if !p.complete {
			continue
		}
		dir := filepath.Join(cfg.Out, filepath.FromSlash(p.rel()))
		if p.successInUsers {
			dir = filepath.Join(dir, "users")
		}
		if err := os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644); err != nil {
			return nil, err
		}
	}
	ex := buildExpected(cfg, parts)
	for i := range ex.Partitions {
		ex.Partitions[i].ProofArchive = archives[ex.Partitions[i].Path]
	}
	b, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if err := os.WriteFile(filepath.Join(cfg.Out, "EXPECTED.json"), b, 0o644); err != nil {
		return nil, err
	}
	return ex, nil
}

// prepareOut creates --out and, with --clean, removes what an earlier run
// wrote there (export-id=* folders, EXPECTED.json) and nothing else.
func prepareOut(cfg *didomiConfig) error {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(cfg.Out, "export-id=*"))
	if err != nil {
		return err
	}
	if len(old) > 0 && !cfg.Clean {
		return fmt.Errorf("%s already holds export-id=* folders; use --clean to replace them", cfg.Out)
	}
	if cfg.Clean {
		for _, o := range old {
			if err := os.RemoveAll(o); err != nil {
				return err
			}
		}
		if err := os.Remove(filepath.Join(cfg.Out, "EXPECTED.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
