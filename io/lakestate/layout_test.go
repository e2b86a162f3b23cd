package lakestate

import "testing"

// The layout is on disk in every lake: these paths must never change.
func TestLayout(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"Dir", Dir("/lake"), "/lake/_vendorlake"},
		{"TempRoot", TempRoot("/lake", "id5"), "/lake/_vendorlake/tmp/id5"},
		{"TempDir", TempDir("/lake", "didomi", "r1"), "/lake/_vendorlake/tmp/didomi/r1"},
		{"CommitsDir", CommitsDir("lake", "didomi"), "lake/_vendorlake/commits/didomi"},
		{"CommitLogPath", CommitLogPath("s3://b/lake", "id5_current", "r1"), "s3://b/lake/_vendorlake/commits/id5_current/r1.json"},
		{"LegacyTempRoot", LegacyTempRoot("/lake"), "/lake/_vendorlake/tmp"},
		{"LegacyCommitsDir", LegacyCommitsDir("/lake"), "/lake/_vendorlake/commits"},
		{"LegacyLockPath", LegacyLockPath("s3://b"), "s3://b/_vendorlake/lock"},
		{"RunsDir", RunsDir("/lake/"), "/lake/_vendorlake/runs"},
		{"ReportPath", ReportPath("/lake", "r1-id5_current"), "/lake/_vendorlake/runs/r1-id5_current.json"},
		{"LedgerDir", LedgerDir("/lake", "didomi"), "/lake/_vendorlake/ledger/didomi"},
		{"LedgerPath", LedgerPath("/lake", "didomi", "export-id=a/date=2024-01-01"),
			"/lake/_vendorlake/ledger/didomi/" + "4f959102e9a7516095f1f7afd7949b09" + ".json"},
		{"LockPath", LockPath("s3://b", "didomi"), "s3://b/_vendorlake/locks/didomi"},
		{"relative RunsDir", RunsDir(""), "_vendorlake/runs"},
		{"relative LockPath", LockPath("", "id5"), "_vendorlake/locks/id5"},
		{"relative TempRoot", TempRoot("", "id5"), "_vendorlake/tmp/id5"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
