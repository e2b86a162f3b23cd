#!/usr/bin/env bash
# scripts/fuzz.sh — run every native Go fuzz target of the vendor parsers for
# a short budget each; fail on the first crash (go test prints the failing
# input and writes it under the package's testdata/fuzz/FuzzX/, where it then
# stays as a regression seed once committed).
#
#   scripts/fuzz.sh                 # about 2 minutes of fuzzing (the first run also
#                                   # builds the instrumented packages: minutes more)
#   FUZZTIME=60s scripts/fuzz.sh    # longer budget for the parsers the issue lists
#   scripts/fuzz.sh FuzzReader      # only the targets whose name matches
#
# Targets (package: target — what it parses):
#   pipelines/didomi:         FuzzParseLine           a Didomi NDJSON line (and the same rows
#                                                     when parsed again after a flush)
#                             FuzzTimestamp           a timestamp, against time.Parse (extra)
#   pipelines/audiencestudio: FuzzParseRequestLine    a consent request line
#                             FuzzParseFeedRecord     a portability feed record
#                             FuzzDecodeBKPath        a bridge-key folder name   (extra)
#   pipelines/id5:            FuzzParsePerPartnerRow  a per-partner row
#                             FuzzParseSingle         a single-file header + rows
#                             FuzzClassifyPath        an input path              (extra)
#                             FuzzParseExtractTime    an extract's datetime name (extra)
#   io/lzop:                  FuzzReader              an lzop stream
#                             FuzzReadIndex           an .lzo.index              (extra)
#   io/splittar:              FuzzSplitTar            split tar.gz parts (run when the package
#                                                     and its target exist: it is being written)
# Other Fuzz targets of pipelines/*/ run too, with the extra budget.
# Seeds: f.Add in the fuzz tests plus testdata/fuzz/FuzzX/ of each package.
set -euo pipefail
cd "$(dirname "$0")/.."

main_time=${FUZZTIME:-15s}
extra_time=${FUZZTIME_EXTRA:-8s}
filter=${1:-}

targets=(
  "./pipelines/didomi FuzzParseLine $main_time"
  "./pipelines/didomi FuzzTimestamp $extra_time"
  "./pipelines/audiencestudio FuzzParseRequestLine $main_time"
  "./pipelines/audiencestudio FuzzParseFeedRecord $main_time"
  "./pipelines/audiencestudio FuzzParseBKFolder $extra_time"
  "./pipelines/id5 FuzzParsePerPartnerRow $main_time"
  "./pipelines/id5 FuzzParseSingle $main_time"
  "./pipelines/id5 FuzzClassifyPath $extra_time"
  "./pipelines/id5 FuzzParseExtractTime $extra_time"
  "./pipelines/id5 FuzzReadFile $extra_time"
  "./io/lzop FuzzReader $main_time"
  "./io/lzop FuzzReadIndex $extra_time"
)
if grep -qs '^func FuzzSplitTar(' io/splittar/*_test.go; then
  targets+=("./io/splittar FuzzSplitTar $main_time")
fi
# Every other target of a vendor package runs with the extra budget: a new
# vendor's fuzz targets need no line here.
for f in pipelines/*/*_test.go; do
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*(' "$f" | sed 's/^func //; s/($//'); do
    pkg="./$(dirname "$f")" listed=0
    for t in "${targets[@]}"; do
      [[ "$t" == "$pkg $name "* ]] && listed=1
    done
    [ "$listed" = 1 ] || targets+=("$pkg $name $extra_time")
  done
done

failed=()
for t in "${targets[@]}"; do
  read -r pkg name budget <<<"$t"
  if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then
    continue
  fi
  echo "fuzz: $pkg $name for $budget"
  # A renamed target must fail here: go test fuzzes nothing and passes.
  if ! grep -qs "^func ${name}(" "$pkg"/*_test.go; then
    echo "fuzz: no target $name in $pkg" >&2
    failed+=("$pkg $name (missing)")
    continue
  fi
  # -parallel 2: the machine has two cores. -fuzzminimizetime bounds the
  # minimisation of each new input (60 s by default), which otherwise eats a
  # short budget on the large lzop fixtures; a crasher is still saved.
  # Go's fuzzing engine sometimes ends a short budget with "context
  # deadline exceeded" on a loaded machine (a worker still busy at the
  # deadline) and saves no input: that is no crash, so the target runs once
  # more. A real crash saves its input under testdata/fuzz/ and fails.
  log=$(mktemp)
  for attempt in 1 2; do
    crashers_before=$(find "$pkg/testdata/fuzz/$name" -type f 2>/dev/null | wc -l || true)
    if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$budget" -fuzzminimizetime=3s -parallel=2 "$pkg" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" = 0 ]; then
      break
    fi
    crashers_after=$(find "$pkg/testdata/fuzz/$name" -type f 2>/dev/null | wc -l || true)
    if [ "$attempt" = 1 ] && [ "$crashers_after" = "$crashers_before" ] && grep -q 'context deadline exceeded' "$log"; then
      echo "fuzz: $name ended with 'context deadline exceeded' and saved no input: running it again" >&2
      continue
    fi
    failed+=("$pkg $name")
    break
  done
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (the crashing inputs are in each package's testdata/fuzz/)" >&2
  exit 1
fi
echo "fuzz: no crashes"
