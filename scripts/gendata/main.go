// Command gendata generates deterministic vendor test data for vendorlake.
//
//	go run ./scripts/gendata didomi --out=DIR [flags]
//	go run ./scripts/gendata didomi --sample --out=testdata/didomi
//
// Output is byte-for-byte deterministic for a given seed and set of flags,
// independent of the number of worker goroutines.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: gendata <vendor> [flags]

vendors:
  didomi   Didomi batch export (export-id=ID/date=YYYY-MM-DD/users/*.json.gz + _SUCCESS)
  audiencestudio  Audience Studio consent requests (plain/gzip/lzop+index) and portability feeds
  id5      ID5 Partner Graph bucket (incremental/ and full-extracts/, per-partner and single-file)

run "gendata didomi -h" for the flags of a vendor.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "didomi":
		if err := runDidomi(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "gendata didomi:", err)
			os.Exit(1)
		}
	case "id5":
		if err := runID5(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "gendata id5:", err)
			os.Exit(1)
		}
	case "audiencestudio":
		if err := runAudienceStudio(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "gendata audiencestudio:", err)
			os.Exit(1)
		}
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "gendata: unknown vendor %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
