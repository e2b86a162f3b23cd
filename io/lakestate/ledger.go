package lakestate

import (
	"context"
	"encoding/json"
	"fmt"
	"path"

	"github.com/vendorlake/vendorlake/io/lakefs"
	"github.com/vendorlake/vendorlake/io/ledger"
)

// LoadLedger reads every ledger entry of a pipeline, keyed by unit: its
// snapshot (CompactLedger), then its entry files.
func LoadLedger(ctx context.Context, fsys lakefs.FS, output, pipeline string) (map[string]ledger.Entry, error) {
	files, err := fsys.List(ctx, LedgerDir(output, pipeline))
	if err != nil {
		return nil, fmt.Errorf("load ledger: %w", err)
	}
	out := make(map[string]ledger.Entry, len(files))
	// The snapshot first (ledgersnap.go): the entry files written since win.
	for _, f := range files {
		if path.Base(f.Path) == LedgerSnapshotName {
			if err := loadLedgerSnapshot(ctx, fsys, f.Path, out); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range files {
		if !ledgerEntryFile(f.Path) {
			continue
		}
		data, err := lakefs.ReadFile(ctx, fsys, f.Path)
		if err != nil {
			return nil, fmt.Errorf("load ledger: %w", err)
		}
		var e ledger.Entry
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("load ledger %s: %w", f.Path, err)
		}
		out[e.Unit] = e
	}
	return out, nil
}

// LedgerWrite returns the side write that stores e (under its pipeline and
// unit) as part of the commit that published e's outputs, never before.
func LedgerWrite(output string, e ledger.Entry) (SideWrite, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return SideWrite{}, fmt.Errorf("ledger entry %s: %w", e.Unit, err)
	}
	return SideWrite{Path: LedgerPath(output, e.Pipeline, e.Unit), Data: data}, nil
}
