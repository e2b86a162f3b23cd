package main

import (
	"strings"
	"testing"

	"github.com/vendorlake/vendorlake/io/lakefs"
)

// TestS3EveryPipelineMatchesLocalRun runs every pipeline of portableRuns
// s3→s3, local→s3 and s3→local against MinIO and compares its tables with
// the pipeline's local→local run.
func TestS3EveryPipelineMatchesLocalRun(t *testing.T) {
	ep := s3Endpoint(t)
	fsys := s3FS(t, ep)
	bucket := newBucket(t, ep)
	for _, r := range portableRuns() {
		t.Run(r.name, func(t *testing.T) {
			localIn, rest := r.splitInput()
			key := strings.ReplaceAll(r.name, " ", "-")
			s3In := "s3://" + bucket + "/vendor/" + key
			uploadTree(t, fsys, localIn, s3In)
			reference := t.TempDir()
			mustRun(t, append(rest, "--input="+localIn, "--output="+reference)...)
			for _, c := range []struct{ name, input, output string }{
				{"s3 to s3", s3In, "s3://" + bucket + "/lake-s3/" + key},
				{"local to s3", localIn, "s3://" + bucket + "/lake-local/" + key},
				{"s3 to local", s3In, t.TempDir()},
			} {
				t.Run(c.name, func(t *testing.T) {
					mustRun(t, append(append(rest, "--input="+c.input, "--output="+c.output), s3Flags(ep)...)...)
					local := c.output
					if lakefs.Scheme(c.output) == "s3" {
						local = downloadTree(t, fsys, c.output)
					}
					assertNoTempInTables(t, local)
					sameTables(t, reference, local, r.tables...)
				})
			}
		})
	}
}
