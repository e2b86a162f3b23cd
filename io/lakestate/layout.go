// Package lakestate owns the lake's own folder, OUTPUT/_vendorlake/, and the
// run-level protocol kept in it: the temporary area of each run, the commit
// log that publishes a run's files all or nothing, the ledger of committed
// inputs, the run reports and the lock that keeps two runs off one output.
//
// The layout, relative to the output root:
//
//	_vendorlake/tmp/PIPELINE/RUN_ID/...         a run's temporary files (TempDir)
//	_vendorlake/commits/PIPELINE/RUN_ID.json    a commit log while it is applied (CommitLogPath)
//	_vendorlake/runs/RUN_ID.json                a run's report (ReportPath)
//	_vendorlake/runs/RUN_ID/TABLE/k=v/          the rejects of a run whose commit was refused (RejectsDir)
//	_vendorlake/ledger/PIPELINE/H.json          a ledger entry (LedgerPath)
//	_vendorlake/locks/PIPELINE                  the lease of the pipeline's running run (LockPath)
//
// Everything a run changes in the lake's own folder is its pipeline's
// (temporary area, commit logs, ledger) or its own (report, kept rejects),
// so runs of different pipelines never write one file, and each pipeline
// recovers and cleans only its own: runs of different pipelines proceed
// side by side, each holding its own lock. A chained pipeline (ID5's
// current rebuild) has its own folders and runs under the lock of the
// pipeline it follows.
//
// Lakes written before the per-pipeline lock had _vendorlake/lock,
// _vendorlake/commits/RUN_ID.json and _vendorlake/tmp/RUN_ID/ (the Legacy
// functions); see Recover, CleanTemp and AcquireLock for how they are
// honoured.
//
// Every other package spells these paths through the functions here; given
// an empty output, each function returns its path relative to the output
// root (e.g. to compare with the keys of a listing of the lake). The
// package knows tables only as folders; which files a commit publishes and
// replaces is decided by the sink (io/hiveparquet.Plan).
package lakestate

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// Folder is the name of the lake's own folder directly under the output
// root. No table may be named so.
const Folder = "_vendorlake"

// Dir is the lake's own folder under output.
func Dir(output string) string { return lakefs.Join(output, Folder) }

// TempRoot is the folder that holds the temporary areas of the runs of
// pipeline.
func TempRoot(output, pipeline string) string {
	return lakefs.Join(LegacyTempRoot(output), pipeline)
}

// TempDir is the temporary area of run runID of pipeline: outside every
// table folder, so readers never see its files; removed by the run's
// commit, by the run when it fails, or by a later run's CleanTemp.
func TempDir(output, pipeline, runID string) string {
	return lakefs.Join(TempRoot(output, pipeline), runID)
}

// CommitsDir is the folder of pipeline's commit logs not yet fully
// applied.
func CommitsDir(output, pipeline string) string {
	return lakefs.Join(LegacyCommitsDir(output), pipeline)
}

// CommitLogPath is where the commit log of run runID of pipeline is
// recorded.
func CommitLogPath(output, pipeline, runID string) string {
	return lakefs.Join(CommitsDir(output, pipeline), runID+".json")
}

// LegacyTempRoot is the folder of every temporary area; before the
// per-pipeline lock, it held each run's area directly (tmp/RUN_ID).
func LegacyTempRoot(output string) string { return lakefs.Join(Dir(output), "tmp") }

// LegacyCommitsDir is the folder of every pipeline's commit logs; before
// the per-pipeline lock, it held them directly (commits/RUN_ID.json).
func LegacyCommitsDir(output string) string { return lakefs.Join(Dir(output), "commits") }

// RunsDir is the folder of the run reports.
func RunsDir(output string) string { return lakefs.Join(Dir(output), "runs") }

// ReportPath is where the report of run runID is stored.
func ReportPath(output, runID string) string {
	return lakefs.Join(RunsDir(output), runID+".json")
}

// RejectsDir is where a run whose commit was refused (reject gate, extract
// guard) keeps the files of its rejects tables, as TABLE/k=v/FILE: a Hive
// layout outside every table, readable by DuckDB or Spark.
func RejectsDir(output, runID string) string { return lakefs.Join(RunsDir(output), runID) }

// LedgerDir is the ledger folder of a pipeline.
func LedgerDir(output, pipeline string) string {
	return lakefs.Join(Dir(output), "ledger", pipeline)
}

// LedgerPath is where the ledger entry of unit is stored: a file named by a
// hash of the unit, so that any unit key is a safe file name.
func LedgerPath(output, pipeline, unit string) string {
	h := sha256.Sum256([]byte(unit))
	return lakefs.Join(LedgerDir(output, pipeline), hex.EncodeToString(h[:16])+".json")
}

// LocksDir is the folder of the pipelines' locks.
func LocksDir(output string) string { return lakefs.Join(Dir(output), "locks") }

// LockPath is the lock of pipeline's runs on output (see AcquireLock).
func LockPath(output, pipeline string) string { return lakefs.Join(LocksDir(output), pipeline) }

// LegacyLockPath is the lake-wide lock of the versions before the
// per-pipeline lock.
func LegacyLockPath(output string) string { return lakefs.Join(Dir(output), "lock") }
