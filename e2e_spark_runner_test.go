package main

// Every pipeline on Spark through Beam's Spark job server
// (scripts/spark-runner.sh: Beam 2.62.0's Spark 3 runner, Spark 3.5 in
// local[2] mode), LOOPBACK workers, local paths: the tables must equal the
// direct runner's.

import (
	"testing"
)

// sparkRunnerEndpoint returns the Spark job server's endpoint, or skips
// (fails when VENDORLAKE_REQUIRE_SPARK_RUNNER is set).
func sparkRunnerEndpoint(t *testing.T) string {
	t.Helper()
	return serviceEnv(t, "VENDORLAKE_SPARK_RUNNER_ENDPOINT", "VENDORLAKE_REQUIRE_SPARK_RUNNER", "scripts/spark-runner.sh's spark_runner_start starts a Spark job server")
}

func TestSparkRunnerEqualsDirect(t *testing.T) {
	runnerEqualsDirect(t, "spark", "--endpoint="+sparkRunnerEndpoint(t), "--environment_type=LOOPBACK")
}

// TestSparkRunnerProcessWorkersS3 runs every pipeline on Spark with
// workers that the runner starts (PROCESS, Beam's Go boot program), input
// and output on MinIO; see processWorkersS3.
func TestSparkRunnerProcessWorkersS3(t *testing.T) {
	processWorkersS3(t, "spark", sparkRunnerEndpoint(t), "PROCESS")
}
