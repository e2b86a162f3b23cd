package main

// The lake cannot be used to touch files outside it:
// links and commit logs planted in the output by anyone who can write there
// never make a run create, replace or remove a file elsewhere.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakestate"
)

func TestPlantedLinksCannotTouchFilesOutsideTheLake(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, lake, outside string)
	}{
		{
			// The reported attack: the next run's recovery of the crafted
			// log deleted the canary through the link.
			name: "crafted commit log deleting through a linked partition",
			plant: func(t *testing.T, lake, outside string) {
				mustRun(t, didomiArgs("testdata/didomi", lake)...)
				if err := os.Symlink(outside, filepath.Join(lake, "didomi_users", "leak")); err != nil {
					t.Fatal(err)
				}
				log, _ := json.Marshal(map[string]any{"run_id": "evil", "output": lake,
					"deletes": []string{filepath.Join(lake, "didomi_users", "leak", "canary.parquet")}})
				if err := os.WriteFile(filepath.Join(lakestate.LegacyCommitsDir(lake), "evil.json"), log, 0o644); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			// Lock, ledger, temporary files, commit log and report all live
			// in the lake's own folder (lakestate.Dir).
			name: "linked lake state folder",
			plant: func(t *testing.T, lake, outside string) {
				if err := os.Symlink(outside, lakestate.Dir(lake)); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lake, outside := filepath.Join(t.TempDir(), "lake"), t.TempDir()
			if err := os.MkdirAll(lake, 0o755); err != nil {
				t.Fatal(err)
			}
			canary := filepath.Join(outside, "canary.parquet")
			if err := os.WriteFile(canary, []byte("canary"), 0o644); err != nil {
				t.Fatal(err)
			}
			tt.plant(t, lake, outside)
			code, _, errs := vendorlake(t, didomiArgs("testdata/didomi", lake, "--reprocess")...)
			if code == 0 || !strings.Contains(errs, "outside the lake") {
				t.Errorf("exit %d, stderr %q; want a failure that says the path leads outside the lake", code, errs)
			}
			entries, _ := os.ReadDir(outside)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("the run wrote outside the lake: %v", names)
			}
			if b, err := os.ReadFile(canary); err != nil || string(b) != "canary" {
				t.Errorf("canary outside the lake: %q, %v", b, err)
			}
		})
	}
}
