#!/usr/bin/env bash
# Benchmark `virtstrap butane` against the write-up's Butane config.
#
#   bench/butane.sh            # 200 process runs, 3 s per in-process workload
#   RUNS=50 BENCH_SECS=1 bench/butane.sh
#
# (a) builds release; (b) times one process per run of
# `target/release/virtstrap butane` (and /opt/butane-oracle/butane, the Go
# Butane, when present) and reports the median in ms (hyperfine when
# installed, else a `date +%s%N` loop); (c) runs the in-process
# `cargo bench` target crates/butane/benches/translate.rs (configs/s and
# MB/s for the write-up file and the conformance corpus).
# Targets: process median < 2 ms; in-process > 20,000 configs/s (write-up).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${RUNS:-200}
oracle=${ORACLE:-/opt/butane-oracle/butane}
export BENCH_SECS=${BENCH_SECS:-3}

work=$(mktemp -d /tmp/virtstrap-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# the write-up's Butane config, verbatim
input=$PWD/examples/seed/node.bu

echo "== (a) cargo build --release" >&2
cargo build --release -p virtstrap >&2
vs=$root/target/release/virtstrap

# Sanity: both must translate the file (and agree, if the oracle exists).
"$vs" butane "$input" > "$work/vs.ign"
if [[ -x $oracle ]]; then
  "$oracle" "$input" > "$work/oracle.ign"
  if cmp -s "$work/vs.ign" "$work/oracle.ign"; then same="identical"; else same="DIFFERENT"; fi
  echo "output vs oracle: $same" >&2
fi

# median_ms CMD...: median wall time of one process, in ms (3 decimals).
median_ms() {
  if command -v hyperfine > /dev/null; then
    hyperfine -N --style none --warmup 10 --runs "$runs" \
      --export-json "$work/hf.json" "$*" > /dev/null 2>&1 ||
      hyperfine --shell=none --style none --warmup 10 --runs "$runs" \
        --export-json "$work/hf.json" "$*" > /dev/null
    grep -o '"median": *[0-9.eE+-]*' "$work/hf.json" | head -n 1 |
      awk -F: '{ printf "%.3f\n", $2 * 1000 }'
  else
    local i t0 t1
    for ((i = 0; i < 10; i++)); do "$@" > /dev/null; done
    for ((i = 0; i < runs; i++)); do
      t0=$(date +%s%N); "$@" > /dev/null; t1=$(date +%s%N)
      echo $((t1 - t0))
    done | sort -n | awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m/1e6}'
  fi
}

tool=$(command -v hyperfine > /dev/null && echo "hyperfine $(hyperfine --version | awk '{print $2}')" || echo "date +%s%N loop")
echo "== (b) process time, median of $runs runs ($tool)" >&2
vs_ms=$(median_ms "$vs" butane "$input")
floor_ms=$(median_ms "$vs" --version)
if [[ -x $oracle ]]; then
  or_ms=$(median_ms "$oracle" "$input")
else
  or_ms=""
fi

echo "== (c) cargo bench -p virtstrap-butane --bench translate (BENCH_SECS=$BENCH_SECS)" >&2
cargo bench -p virtstrap-butane --bench translate > "$work/bench.txt"

bytes=$(wc -c < "$input")
echo
echo "Butane write-up config: $bytes bytes, fcos 1.4.0 -> Ignition 3.3.0"
echo
echo "Process time (one translation per process, median of $runs runs, $tool)"
printf '| %-40s | %12s | %-18s |\n' "command" "median (ms)" "target < 2 ms"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..20})"
met=$(awk -v m="$vs_ms" 'BEGIN { print (m < 2.0) ? "MET" : "NOT MET" }')
printf '| %-40s | %12s | %-18s |\n' "target/release/virtstrap butane" "$vs_ms" "$met"
printf '| %-40s | %12s | %-18s |\n' "target/release/virtstrap --version" "$floor_ms" "(startup floor)"
if [[ -n $or_ms ]]; then
  printf '| %-40s | %12s | %-18s |\n' "$oracle (Go)" "$or_ms" "(reference)"
else
  printf '| %-40s | %12s | %-18s |\n' "$oracle (Go)" "n/a" "skipped: not found"
fi
echo
echo "In-process throughput (translate + to_json(false); cargo bench, BENCH_SECS=$BENCH_SECS)"
sed -n '/^| workload/,$p' "$work/bench.txt"
