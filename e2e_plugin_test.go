package main

// A vendor that exists only in this file, plugged in through the registry
// alone: the command line, ddl and the runners (direct, in-process prism,
// and a prism job server with LOOPBACK workers) run it with no other change.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vendorlake/vendorlake/io/hiveparquet"
	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
	"github.com/vendorlake/vendorlake/pipelines/registry"
	"github.com/vendorlake/vendorlake/pipelines/run"
	"github.com/vendorlake/vendorlake/transforms"
	"github.com/vendorlake/vendorlake/transforms/lineparse"
)

// The acme vendor drops INPUT/day=YYYY-MM-DD/*.txt files of key=value lines
// into acme_pairs; a line without '=' is a reject.
const (
	acmeName    = "acme"
	acmePairs   = "acme_pairs"
	acmeRejects = "acme_rejects"
)

var acmePartitions = []hiveparquet.PartitionColumn{{Name: "day", Type: "date"}}

func acmeSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.BinaryTypes.String},
		{Name: "value", Type: arrow.BinaryTypes.String},
		{Name: "source_file", Type: arrow.BinaryTypes.String},
		{Name: "source_line", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

func acmeTables() []hiveparquet.Table {
	return []hiveparquet.Table{
		{Name: acmePairs, Doc: "One row per key=value line.", Schema: acmeSchema(), Partitions: acmePartitions, Mode: hiveparquet.Overwrite},
		lineparse.RejectTable(acmeRejects, acmePartitions),
	}
}

var acmeVendor = registry.Vendor{
	Name:    acmeName,
	Summary: "Acme key=value drops → acme_pairs, acme_rejects",
	Help:    "Reads INPUT/day=YYYY-MM-DD/*.txt and writes acme_pairs and acme_rejects under OUTPUT.",
	Flags:   func() registry.Flags { return &acmeFlags{} },
	Tables:  acmeTables,
}

// acmeConfig is the reader's configuration: it travels with the read DoFn.
type acmeConfig struct {
	Case string `json:"case"`
}

type acmeFlags struct{ cfg acmeConfig }

func (f *acmeFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.cfg.Case, "case", "keep", "case of the values: keep, upper or lower")
}

func (f *acmeFlags) Validate() error {
	switch f.cfg.Case {
	case "keep", "upper", "lower":
		return nil
	}
	return fmt.Errorf("--case=%s: want keep, upper or lower", f.cfg.Case)
}

func (f *acmeFlags) Pipeline(*run.Options) run.Pipeline { return acmePipeline{f.cfg} }

type acmePipeline struct{ cfg acmeConfig }

func (acmePipeline) Name() string                { return acmeName }
func (acmePipeline) Tables() []hiveparquet.Table { return acmeTables() }

func (acmePipeline) Discover(ctx context.Context, env run.Env, fsys lakefs.FS, led map[string]ledger.Entry) (transforms.Plan, error) {
	input := env.Input
	var plan transforms.Plan
	files, err := fsys.List(ctx, input)
	if err != nil {
		return plan, err
	}
	units := map[string]*transforms.Unit{}
	var keys []string
	for _, fi := range files {
		rel, _ := lakefs.Rel(input, fi.Path)
		day, name, ok := strings.Cut(rel, "/")
		if !ok || !strings.HasPrefix(day, "day=") || !strings.HasSuffix(name, ".txt") {
			continue
		}
		in := transforms.InputFile{Path: fi.Path, Rel: rel, Size: fi.Size, ModTime: fi.ModTime.UnixMicro(), Partition: day, Unit: day}
		u := units[day]
		if u == nil {
			u = &transforms.Unit{Key: day}
			for _, t := range []string{acmePairs, acmeRejects} {
				u.Claims = append(u.Claims, hiveparquet.Claim{Table: t, Partition: day})
			}
			units[day] = u
			keys = append(keys, day)
		}
		u.Inputs = append(u.Inputs, in.LedgerInput())
		plan.Files = append(plan.Files, in)
	}
	sort.Strings(keys)
	for _, k := range keys {
		u := units[k]
		if e, ok := led[k]; ok && e.Same(u.Inputs) {
			plan.Skipped = append(plan.Skipped, transforms.Skipped{What: k, Reason: "unchanged"})
			plan.Files = filterUnit(plan.Files, k)
			continue
		}
		plan.Units = append(plan.Units, *u)
		plan.Claims = append(plan.Claims, u.Claims...)
	}
	return plan, nil
}

func filterUnit(fs []transforms.InputFile, unit string) []transforms.InputFile {
	var out []transforms.InputFile
	for _, f := range fs {
		if f.Unit != unit {
			out = append(out, f)
		}
	}
	return out
}

func (p acmePipeline) Read(s beam.Scope, env run.Env, _ transforms.Plan, files beam.PCollection) run.Outputs {
	batches, stats := transforms.Read(s, newAcmeReader, p.cfg, files, env.Input, env.FS, env.Lines)
	return run.Outputs{Batches: []beam.PCollection{batches}, Stats: stats}
}

// newAcmeReader is acme's transforms.NewFileReader.
func newAcmeReader(_ context.Context, config []byte, _ lakefs.Options) (transforms.FileReader, error) {
	var cfg acmeConfig
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, err
	}
	if cfg.Case == "" {
		return nil, errors.New("acme: no case in the reader's configuration")
	}
	return transforms.FileReaderFunc(func(ctx context.Context, fsys lakefs.FS, f transforms.InputFile, lines lineparse.Options, emit func(hiveparquet.Batch)) (transforms.FileStats, error) {
		return transforms.ReadLines(ctx, fsys, f, lineparse.RejectTable(acmeRejects, acmePartitions), lines, nil, func() lineparse.Parser {
			return &acmeParser{cfg: cfg, file: f, b: array.NewRecordBuilder(memory.DefaultAllocator, acmeSchema())}
		}, emit)
	}), nil
}

// acmeParser is acme's lineparse.Parser.
type acmeParser struct {
	cfg  acmeConfig
	file transforms.InputFile
	b    *array.RecordBuilder
	rows int64
}

func (p *acmeParser) Parse(line []byte, lineNo int64, rej *lineparse.Rejects) bool {
	k, v, ok := bytes.Cut(line, []byte("="))
	if !ok {
		rej.Add(lineNo, "no_equals", "the line has no '='", line)
		return false
	}
	switch p.cfg.Case {
	case "upper":
		v = bytes.ToUpper(v)
	case "lower":
		v = bytes.ToLower(v)
	}
	p.b.Field(0).(*array.StringBuilder).Append(string(k))
	p.b.Field(1).(*array.StringBuilder).Append(string(v))
	p.b.Field(2).(*array.StringBuilder).Append(p.file.Rel)
	p.b.Field(3).(*array.Int64Builder).Append(lineNo)
	p.rows++
	return true
}

func (p *acmeParser) Flush(emit func(hiveparquet.Batch)) {
	if p.b.Field(0).Len() > 0 {
		emit(hiveparquet.Batch{Table: acmePairs, Partition: p.file.Partition, Record: p.b.NewRecord()})
	}
}

func (p *acmeParser) Rows() []lineparse.Count {
	return []lineparse.Count{{Name: acmePairs, N: p.rows}}
}

func (p *acmeParser) Release() { p.b.Release() }

func init() {
	// What a vendor package's init does: its reader among its Beam
	// registrations.
	beam.RegisterFunction(newAcmeReader)
}

// acmeDrop writes a small acme drop: 4 pairs and 1 reject over two days.
func acmeDrop(t *testing.T) string {
	t.Helper()
	in := t.TempDir()
	for rel, data := range map[string]string{
		"day=2024-01-01/a.txt": "a=one\nb=Two\nnot a pair\n",
		"day=2024-01-02/b.txt": "c=three\n\nd=FOUR\n",
	} {
		p := filepath.Join(in, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

// TestVendorPlugsInThroughTheRegistry registers a vendor that only this
// test knows and runs it as a user would: help, flags and their
// validation, a run on each runner, the rows in DuckDB, and ddl.
func TestVendorPlugsInThroughTheRegistry(t *testing.T) {
	t.Cleanup(registry.Register(acmeVendor))
	in := acmeDrop(t)

	if code, out, _ := vendorlake(t, "help"); code != 0 || !strings.Contains(out, "acme") || !strings.Contains(out, acmeVendor.Summary) {
		t.Errorf("help: exit %d, does not list acme:\n%s", code, out)
	}
	if code, out, _ := vendorlake(t, "acme", "-h"); code != 0 || !strings.Contains(out, "--case") || !strings.Contains(out, acmeVendor.Help) {
		t.Errorf("acme -h: exit %d:\n%s", code, out)
	}
	if code, _, errs := vendorlake(t, "acme", "--input="+in, "--output="+t.TempDir(), "--case=title"); code != exitUsage || !strings.Contains(errs, "--case=title") {
		t.Errorf("--case=title: exit %d, stderr %q", code, errs)
	}

	args := []string{"acme", "--input=" + in, "--case=upper", "--max-reject-ratio=0.5"}
	want := "a=ONE b=TWO c=THREE d=FOUR"
	runners := []struct {
		name string
		args []string
	}{
		{"direct", []string{"--runner=direct"}},
		{"prism", []string{"--runner=prism"}},
		{"job server", []string{"--runner=universal", "--endpoint=" + os.Getenv("VENDORLAKE_PRISM_ENDPOINT"), "--environment_type=LOOPBACK"}},
	}
	var lakes []string
	root := t.TempDir() // the subtests' lakes outlive them
	for i, r := range runners {
		t.Run(r.name, func(t *testing.T) {
			if r.name == "job server" && os.Getenv("VENDORLAKE_PRISM_ENDPOINT") == "" {
				if os.Getenv("VENDORLAKE_REQUIRE_PRISM") != "" {
					t.Fatal("VENDORLAKE_PRISM_ENDPOINT is not set: scripts/test.sh starts a prism job server")
				}
				t.Skip("no prism job server (VENDORLAKE_PRISM_ENDPOINT): start one with scripts/prism.sh's prism_start, as scripts/test.sh does")
			}
			lake := filepath.Join(root, fmt.Sprint(i))
			code, out, errs := vendorlake(t, append(append(args, "--output="+lake), r.args...)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs)
			}
			rep := lastReport(t, lake, acmeName)
			if rep.Totals.RecordsIn != 5 || rep.Totals.RecordsOut != 4 || rep.Totals.Rejected != 1 || rep.Totals.BlankLines != 1 {
				t.Errorf("totals %+v, want 5 records in, 4 out, 1 rejected, 1 blank line", rep.Totals)
			}
			rows := duckdb(t, fmt.Sprintf("SELECT string_agg(key || '=' || value, ' ' ORDER BY key) AS kv, count(DISTINCT day) AS days FROM %s", scan(lake, acmePairs)))
			if got := fmt.Sprint(rows[0]["kv"]); got != want || num(rows[0]["days"]) != 2 {
				t.Errorf("acme_pairs holds %q over %v days, want %q over 2", got, rows[0]["days"], want)
			}
			rej := duckdb(t, fmt.Sprintf("SELECT source_file, source_line, reason_code FROM %s", scan(lake, acmeRejects)))
			if len(rej) != 1 || rej[0]["source_file"] != "day=2024-01-01/a.txt" || num(rej[0]["source_line"]) != 3 || rej[0]["reason_code"] != "no_equals" {
				t.Errorf("acme_rejects: %v", rej)
			}
			lakes = append(lakes, lake)
		})
	}
	if len(lakes) == 0 {
		t.Skip("no runner's lake to compare: every subtest failed or skipped")
	}
	for _, lake := range lakes[1:] {
		sameTables(t, lakes[0], lake, acmePairs, acmeRejects)
	}

	// ddl: the lake's acme tables, and by --pipelines.
	for _, ddlArgs := range [][]string{{"--output=" + lakes[0]}, {"--output=s3://lake/x", "--pipelines=acme"}} {
		code, ddl, errs := vendorlake(t, append([]string{"ddl", "--dialect=duckdb"}, ddlArgs...)...)
		if got := strings.Join(declaredTables(ddl), " "); code != 0 || got != "acme_pairs acme_rejects" {
			t.Errorf("ddl %v: exit %d, declares %q, want acme_pairs acme_rejects: %s", ddlArgs, code, got, errs)
		}
	}
	code, ddl, _ := vendorlake(t, "ddl", "--dialect=duckdb", "--output="+lakes[0])
	if code == 0 {
		if r := duckdb(t, ddl+"\nSELECT count(*) AS n FROM acme_pairs"); num(r[0]["n"]) != 4 {
			t.Errorf("the acme_pairs view reads %v rows, want 4", r[0]["n"])
		}
	}
}
