package main

// Every pipeline on Flink through Beam's Flink job server
// (scripts/flink.sh), LOOPBACK workers, local paths: the tables must equal
// the direct runner's.

import (
	"os"
	"strings"
	"testing"
)

// flinkEndpoint returns the Flink job server's endpoint, or skips (fails
// when VENDORLAKE_REQUIRE_FLINK is set).
func flinkEndpoint(t *testing.T) string {
	t.Helper()
	endpoint := os.Getenv("VENDORLAKE_FLINK_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("VENDORLAKE_REQUIRE_FLINK") != "" {
			t.Fatal("VENDORLAKE_FLINK_ENDPOINT is not set: scripts/flink.sh's flink_start starts a Flink job server")
		}
		t.Skip("no Flink job server; see scripts/flink.sh")
	}
	return endpoint
}

func TestFlinkEqualsDirect(t *testing.T) {
	endpoint := flinkEndpoint(t)
	for _, r := range portableRuns() {
		t.Run(r.name, func(t *testing.T) {
			direct, flink := t.TempDir(), t.TempDir()
			if code, out, errs := vendorlake(t, append(r.args, "--output="+direct, "--runner=direct")...); code != 0 {
				t.Fatalf("direct: exit %d\n%s\n%s", code, out, errs)
			}
			code, out, errs := vendorlake(t, append(r.args, "--output="+flink, "--runner=flink", "--endpoint="+endpoint, "--environment_type=LOOPBACK")...)
			if code != 0 {
				t.Fatalf("flink: exit %d\n%s\n%s", code, out, errs)
			}
			if !strings.Contains(out, "runner flink") {
				t.Errorf("summary does not name the runner:\n%s", out)
			}
			sameTables(t, direct, flink, r.tables...)
		})
	}
}
