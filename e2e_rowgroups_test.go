package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestManySmallFilesMakeReaderSizedRowGroups drops 400 gzip files of one
// sample line each into one Didomi partition (the shape of a split export) and
// checks with DuckDB's parquet_metadata, on direct and on prism, that each
// table's files have one row group each holding every row of the bundle
// that wrote it, not one row group per input file.
func TestManySmallFilesMakeReaderSizedRowGroups(t *testing.T) {
	var lines []string
	sample, _ := filepath.Glob("testdata/didomi/export-id=*/date=*/users/*.json.gz")
	for _, p := range sample {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
	}
	if len(lines) == 0 {
		t.Fatal("no sample lines")
	}
	in := t.TempDir()
	part := filepath.Join(in, "export-id=small", "date=2024-05-01")
	if err := os.MkdirAll(filepath.Join(part, "users"), 0o755); err != nil {
		t.Fatal(err)
	}
	const files = 400
	blank := 0 // lines that are empty: skipped, neither a row nor a reject
	for i := 0; i < files; i++ {
		if lines[i%len(lines)] == "" {
			blank++
		}
	}
	for i := 0; i < files; i++ {
		f, err := os.Create(filepath.Join(part, "users", fmt.Sprintf("users_%04d.json.gz", i)))
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		fmt.Fprintln(zw, lines[i%len(lines)])
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := os.WriteFile(filepath.Join(part, "_SUCCESS"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// On direct a drop is one bundle: one file with one row group per
	// table. On prism the read is one bundle too, but prism splits a bundle
	// that makes no progress between two of its progress reports (a busy
	// machine), and each split-off bundle writes its own file; each file
	// must still be one row group, and the splits few (prism backs off 4x
	// after each, so a run of under a second sees a handful at most).
	for _, tc := range []struct {
		runner   string
		maxFiles int64
	}{
		{"direct", 1},
		{"prism", 8},
	} {
		t.Run(tc.runner, func(t *testing.T) {
			lake := t.TempDir()
			if code, _, stderr := vendorlake(t, "didomi", "--input="+in, "--output="+lake, "--runner="+tc.runner, "--proofs=false", "--max-reject-ratio=1"); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, table := range []string{"didomi_users", "didomi_events"} {
				rows := duckdb(t, fmt.Sprintf(
					"SELECT count(DISTINCT file_name) AS files, count(DISTINCT (file_name, row_group_id)) AS groups, "+
						"(SELECT count(*) FROM %s) AS n, max(row_group_num_rows) AS biggest "+
						"FROM parquet_metadata('%s/%s/**/*.parquet')", scan(lake, table), lake, table))
				if len(rows) != 1 {
					t.Fatalf("%s: parquet_metadata gave %v", table, rows)
				}
				r := rows[0]
				out := num(r["files"])
				if out < 1 || out > tc.maxFiles || num(r["groups"]) != out || num(r["n"]) == 0 ||
					(out == 1 && num(r["biggest"]) != num(r["n"])) {
					t.Errorf("%s: %v: want at most %d files, each one row group", table, r, tc.maxFiles)
				}
				if table == "didomi_users" {
					// The sample holds some lines that are rejects on
					// purpose, and a blank line; a line with a bad event
					// keeps its user (an event reject, with event_index).
					rejects := num(duckdb(t, "SELECT count(*) AS n FROM "+scan(lake, "didomi_rejects")+" WHERE event_index IS NULL")[0]["n"])
					if num(r["n"])+rejects+int64(blank) != files {
						t.Errorf("didomi_users: %d rows + %d line rejects + %d blank lines, want %d lines", num(r["n"]), rejects, blank, files)
					}
				}
			}
		})
	}
}
