#!/usr/bin/env bash
# A real cluster run: the Go workers run on the TaskManagers, so input and
# output must be s3:// (vendorlake refuses local paths here). Beam's Go SDK
# cross-compiles this program for linux/amd64 and stages it through the job
# server as the worker binary (or pass a prebuilt one with --worker_binary).
#
# Environment for the workers:
#   EXTERNAL: run a Beam Go worker pool on each TaskManager host and pass
#             --environment_type=EXTERNAL --environment_config=HOST:50000
#   DOCKER:   --environment_type=DOCKER uses the apache/beam_go_sdk:2.77.0
#             image on the TaskManagers (Docker needed there).
# S3 credentials reach the workers through their own environment (IAM role,
# or AWS_* variables on the TaskManagers), never through pipeline options.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${INPUT:?set INPUT=s3://bucket/vendor/didomi}" "${OUTPUT:?set OUTPUT=s3://bucket/lake}"
go build -o vendorlake .
./vendorlake didomi --input="$INPUT" --output="$OUTPUT" \
  --runner=flink --endpoint="${ENDPOINT:-localhost:8099}" \
  --environment_type="${ENVIRONMENT_TYPE:-DOCKER}" ${ENVIRONMENT_CONFIG:+--environment_config="$ENVIRONMENT_CONFIG"} \
  ${S3_ENDPOINT:+--s3-endpoint="$S3_ENDPOINT" --s3-path-style}
