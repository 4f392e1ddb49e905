#!/usr/bin/env bash
# Benchmark of `virtstrap image pull` on a real libvirt daemon: a ~200 MiB
# qcow2 (system files, some random data: xz shrinks it about 3x, as it
# does OS images), xz-compressed in blocks (xz -T2, as image pipelines
# write), served from 127.0.0.1 by tests/system/imageserver.py. In the same
# run, median of RUNS (default 3):
#   virtstrap  image pull --url ... --sha256 ... (cold cache, the volume
#              deleted between runs): download + verify + decompress +
#              upload + checks
#   pipeline   curl -s URL | xz -d | virsh vol-upload (into a pre-created
#              volume of the image's size; no checksum at all)
# and the throughput ratio (target: virtstrap >= 0.9 x the pipeline).
# IMAGE_BENCH_DIR=DIR keeps the generated image there for the next run
# (making it takes a minute: xz -6 on two cores). XZ_THREADS=1 makes a
# single-block .xz instead (what `xz` without -T writes: no decoder can
# spread it over cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
pool=vsimg-bench
# shellcheck source=../tests/system/lib.sh
. "$root/tests/system/lib.sh"
for tool in python3 qemu-img xz curl bc; do
  command -v "$tool" >/dev/null || { echo "bench/image.sh: missing $tool" >&2; exit 1; }
done
cargo build --release -q -p virtstrap
make_pool
export XDG_CACHE_HOME=$work/cache
mkdir -p "$work/srv"

# the image: 1 MiB pieces, 9 of every 10 from system files, 1 random
gen=${IMAGE_BENCH_DIR:-$work/gen}
mkdir -p "$gen"
if [ ! -s "$gen/img.qcow2.xz" ]; then
raw=$gen/img.raw
python3 - "$raw" <<'PY'
import os, sys
out, want = open(sys.argv[1], "wb"), 200 << 20
files = []
for d in ("/usr/lib/x86_64-linux-gnu", "/usr/bin", "/usr/lib/python3", "/usr/share"):
    for dirpath, _, names in os.walk(d):
        files += [os.path.join(dirpath, n) for n in names]
files.sort()
done, i = 0, 0
def pieces():
    for f in files:
        try:
            if os.path.islink(f) or not os.path.isfile(f):
                continue
            with open(f, "rb") as fh:
                while True:
                    b = fh.read(1 << 20)
                    if not b:
                        break
                    yield b
        except OSError:
            continue
buf = b""
for b in pieces():
    buf += b
    while len(buf) >= 1 << 20 and done < want:
        out.write(os.urandom(1 << 20) if i % 10 == 9 else buf[: 1 << 20])
        buf, done, i = buf[1 << 20:], done + (1 << 20), i + 1
    if done >= want:
        break
out.write(b"\0" * (want - done))
PY
qemu-img convert -q -f raw -O qcow2 "$raw" "$gen/img.qcow2"
rm -f "$raw"
xz -T"${XZ_THREADS:-2}" -6 -c "$gen/img.qcow2" > "$gen/img.qcow2.xz.tmp"
mv "$gen/img.qcow2.xz.tmp" "$gen/img.qcow2.xz"
fi
cp "$gen/img.qcow2" "$work/img.qcow2"
cp "$gen/img.qcow2.xz" "$work/srv/img.qcow2.xz"
len=$(stat -c %s "$work/img.qcow2")
xzlen=$(stat -c %s "$work/srv/img.qcow2.xz")
sum=$(sha256sum "$work/srv/img.qcow2.xz" | cut -d' ' -f1)
want=$(sha256sum "$work/img.qcow2" | cut -d' ' -f1)

python3 "$root/tests/system/imageserver.py" "$work/srv" "$work/port" "$work/http.log" \
  --max-seconds 1800 &
server=$!
trap 'kill "$server" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(cat "$work/port")/img.qcow2.xz

now() { date +%s.%N; }
vs_run() {
  rm -rf "$XDG_CACHE_HOME"
  virsh vol-delete --pool "$pool" vs.qcow2 >/dev/null 2>&1 || true
  local a b; a=$(now)
  "$bin" image pull --url "$url" --sha256 "$sum" --pool "$pool" --name vs.qcow2 \
    --connect "$uri" --output json > "$work/vs.json"
  b=$(now); echo "$b - $a" | bc
}
pipe_run() {
  virsh vol-delete --pool "$pool" pipe.qcow2 >/dev/null 2>&1 || true
  virsh vol-create-as "$pool" pipe.qcow2 "$len" --allocation 0 --format raw >/dev/null
  local a b; a=$(now)
  curl -s "$url" | xz -d | virsh vol-upload --pool "$pool" pipe.qcow2 /dev/stdin
  b=$(now); echo "$b - $a" | bc
}
vs_t=() pipe_t=()
for _ in $(seq 1 "$runs"); do
  vs_t+=("$(vs_run)")
  pipe_t+=("$(pipe_run)")
done
for v in vs.qcow2 pipe.qcow2; do
  got=$(virsh vol-download --pool "$pool" "$v" /dev/stdout | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "bench/image.sh: $v does not hold the image" >&2; exit 1; }
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
vs_m=$(median "${vs_t[@]}")
pipe_m=$(median "${pipe_t[@]}")
mib=$(echo "scale=1; $len / 1048576" | bc)
blocks=$(xz -lv "$work/srv/img.qcow2.xz" | awk '/^ *Blocks:/ {print $2; exit}')
printf '\nimage: %s MiB qcow2, %s MiB xz (ratio %s, %s xz blocks), %s runs, median\n' "$mib" \
  "$(echo "scale=1; $xzlen / 1048576" | bc)" "$(echo "scale=2; $len / $xzlen" | bc)" \
  "$blocks" "$runs"
printf '%-52s %8s %8s\n' "what" "seconds" "MiB/s"
printf '%-52s %8.2f %8.1f\n' "virtstrap image pull (download, verify, upload)" "$vs_m" \
  "$(echo "$mib / $vs_m" | bc -l)"
printf '%-52s %8.2f %8.1f\n' "curl | xz -d | virsh vol-upload (no checksum)" "$pipe_m" \
  "$(echo "$mib / $pipe_m" | bc -l)"
printf '%-52s %8.2f\n' "throughput ratio virtstrap / pipeline (target >= 0.9)" \
  "$(echo "$pipe_m / $vs_m" | bc -l)"
echo "runs (s): virtstrap ${vs_t[*]}; pipeline ${pipe_t[*]}"
