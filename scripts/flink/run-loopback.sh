#!/usr/bin/env bash
# Quick try on Flink: the job server and Flink run the graph, the Go workers
# run inside this vendorlake process (LOOPBACK), so local paths work. Not
# exercised here (no Flink on vendorlake's CI machines); the same Job API
# path is tested against Beam's prism job server by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o vendorlake .
./vendorlake didomi \
  --input="${INPUT:-testdata/didomi}" --output="${OUTPUT:-lake-flink}" \
  --runner=flink --endpoint="${ENDPOINT:-localhost:8099}" --environment_type=LOOPBACK \
  --max-reject-ratio=0.5
