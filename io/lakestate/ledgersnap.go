package lakestate

// The ledger snapshot: a scheduled pipeline commits one unit per run (ID5:
// one input file every few minutes), so after a year its ledger folder
// holds tens of thousands of entry files, and reading them one by one costs
// more than the run. CompactLedger folds them into one file per pipeline,
// LEDGER_DIR/snapshot.ndjson (one entry per line), then removes the entry
// files it folded; LoadLedger reads the snapshot, then the entry files
// written since, which win over the snapshot's entry of the same unit.
//
// A crash between the snapshot's write and the last removal leaves entry
// files that are also in the snapshot, the same entries: harmless, and the
// next compaction removes them. Compaction runs under the run's lock, so
// no entry file is written while it removes them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

// LedgerSnapshotName is the name of a pipeline's ledger snapshot in its
// ledger folder (not a .json file: LoadLedger's entry files are).
const LedgerSnapshotName = "snapshot.ndjson"

// LedgerCompactAt is the number of entry files of a pipeline from which
// CompactLedger folds them into the snapshot.
const LedgerCompactAt = 256

// ledgerEntryFile reports whether the ledger file p is an entry file (not
// the snapshot, not a hidden write in progress).
func ledgerEntryFile(p string) bool {
	return strings.HasSuffix(p, ".json") && !strings.Contains(p, "/.")
}

// loadLedgerSnapshot adds the entries of the snapshot at p to out.
func loadLedgerSnapshot(ctx context.Context, fsys lakefs.FS, p string, out map[string]ledger.Entry) error {
	data, err := lakefs.ReadFile(ctx, fsys, p)
	if err != nil {
		return fmt.Errorf("load ledger snapshot: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e ledger.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("load ledger snapshot %s line %d: %w", p, n, err)
		}
		out[e.Unit] = e
	}
	return sc.Err()
}

// CompactLedger folds the entry files of a pipeline's ledger into its
// snapshot when there are at least atLeast of them (LedgerCompactAt when
// zero), and returns how many it folded. It must run under the lake's lock.
func CompactLedger(ctx context.Context, fsys lakefs.FS, output, pipeline string, atLeast int) (int, error) {
	if atLeast <= 0 {
		atLeast = LedgerCompactAt
	}
	files, err := fsys.List(ctx, LedgerDir(output, pipeline))
	if err != nil {
		return 0, fmt.Errorf("compact ledger: %w", err)
	}
	var entries []lakefs.FileInfo
	for _, f := range files {
		if ledgerEntryFile(f.Path) {
			entries = append(entries, f)
		}
	}
	if len(entries) < atLeast {
		return 0, nil
	}
	led, err := LoadLedger(ctx, fsys, output, pipeline)
	if err != nil {
		return 0, fmt.Errorf("compact ledger: %w", err)
	}
	units := make([]string, 0, len(led))
	for u := range led {
		units = append(units, u)
	}
	sort.Strings(units)
	var buf bytes.Buffer
	for _, u := range units {
		line, err := json.Marshal(led[u])
		if err != nil {
			return 0, fmt.Errorf("compact ledger: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	snap := lakefs.Join(LedgerDir(output, pipeline), LedgerSnapshotName)
	if err := lakefs.WriteFile(ctx, fsys, snap, buf.Bytes()); err != nil {
		return 0, fmt.Errorf("compact ledger: %w", err)
	}
	for _, f := range entries {
		if err := fsys.Delete(ctx, f.Path); err != nil {
			return 0, fmt.Errorf("compact ledger: remove %s: %w", path.Base(f.Path), err)
		}
	}
	return len(entries), nil
}
