#!/usr/bin/env bash
# Fuzz the `butane` target (see README.md).
#   fuzz/run.sh [SECONDS]  (default 600)   extra libFuzzer flags via $FUZZ_ARGS
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-600}
cd "$here"

# Seeds: the conformance corpus's *.bu, copied at run time into a scratch
# directory outside the repository (nothing from shared/ goes into git).
shared=$here/../../shared/conformance/butane/corpus/valid
seeds=$(mktemp -d /tmp/butane-fuzz-seeds.XXXXXX)
trap 'rm -rf "$seeds"' EXIT
if compgen -G "$shared/*.bu" > /dev/null; then
  cp "$shared"/*.bu "$seeds"/
else
  echo "note: no seed corpus at $shared; starting from fuzz/corpus only" >&2
fi
mkdir -p corpus/butane artifacts/butane

# Only Rust stable is installed: RUSTC_BOOTSTRAP=1 unlocks -Zsanitizer etc.
# One job, niced; the first corpus dir (fuzz/corpus/butane) receives new units.
RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run butane \
  corpus/butane "$seeds" \
  -- -dict=butane.dict -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
     -print_final_stats=1 ${FUZZ_ARGS:-}
