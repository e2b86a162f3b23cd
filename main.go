// Command vendorlake turns the files data vendors drop into a bucket into
// Hive-partitioned Parquet tables, with Apache Beam pipelines that run on
// the direct or prism runner locally and on Flink through Beam's portable
// runner.
//
//	vendorlake didomi --input=DIR|s3://... --output=DIR|s3://... [flags]
//	vendorlake demo
//
// Its exit codes, each with the situation that gives it, are the table in
// exitcodes.go (printed by 'vendorlake help', and README.md's table).
//
// The command's code is in the files beside this one: command.go
// (subcommands, help), exitcodes.go, flags.go (every pipeline's flags),
// pipeline.go (a pipeline command), ddl.go, demo.go.
package main

import (
	"os"
	"runtime/debug"

	"github.com/vendorlake/vendorlake/pipelines/audiencestudio"
	"github.com/vendorlake/vendorlake/pipelines/didomi"
	"github.com/vendorlake/vendorlake/pipelines/id5"
	"github.com/vendorlake/vendorlake/pipelines/registry"
)

// The vendors the command runs, in the order of its help and of ddl's
// tables: a new vendor is its package plus one line here.
func init() {
	registry.Register(
		didomi.Vendor,
		id5.Vendor,
		audiencestudio.Requests,
		audiencestudio.Portability,
	)
}

// defaultMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// is not set. A run's live heap stays in the low hundreds of MiB (inputs
// are streamed, the ID5 rebuild spills), but the garbage collector's pacing
// lets the heap reach twice the last live size between cycles, so bursts
// of short-lived buffers (a row group read, a chunk of lines) briefly
// doubled the peak. The limit makes the collector run sooner near it; it
// does not cap live memory. Workers with more memory may raise it with
// GOMEMLIMIT (e.g. GOMEMLIMIT=4GiB) or turn it off (GOMEMLIMIT=off).
const defaultMemoryLimit = 768 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	stop := startProfile()
	code := command(os.Args[1:], console{stdout: os.Stdout, stderr: os.Stderr, runLog: true, terminal: isTerminal(os.Stderr)})
	stop()
	os.Exit(code)
}
