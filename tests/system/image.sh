#!/usr/bin/env bash
# `virtstrap image pull` on a real libvirt daemon, from an HTTP server on
# 127.0.0.1 (tests/system/imageserver.py: Range, fault injection, a log
# of every request): a Fedora CoreOS stream, a Flatcar channel, --url
# with --sha256, a local FILE; the volume's bytes are the image's; the
# same pull again downloads nothing; a wrong sha256, a corrupt image and a
# wrong uncompressed sha256 leave nothing in the pool; a cut download
# resumes with Range (in the run, and in the next after kill -9); a server
# that ignores Range restarts cleanly; a volume of other content is never
# overwritten; a half image (its marker), left by a kill -9 during the
# upload, is redone; Ctrl-C deletes it at once; bad flags exit 2.
# Needs root, a running libvirtd, python3, qemu-img and xz. Prints
# "N passed, N failed".
set -euo pipefail
pool=vsimg-pool
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
for tool in python3 qemu-img xz curl cmp md5sum sha1sum sha256sum sha512sum; do
  command -v "$tool" >/dev/null || { echo "image.sh: missing $tool" >&2; exit 1; }
done
here=$(cd "$(dirname "$0")" && pwd)
make_pool
export XDG_CACHE_HOME=$work/cache
srv=$work/srv
mkdir -p "$srv/streams" "$srv/prod" "$srv/flatcar/amd64-usr/current"

# make_image NAME MiB: a qcow2 with random and zero runs (so xz has work),
# plus NAME.qcow2.xz (several xz blocks, as image pipelines write)
make_image() {
  local raw=$work/$1.raw i
  : > "$raw"
  for ((i = 0; i < $2; i++)); do
    head -c 262144 /dev/urandom >> "$raw"
    head -c 786432 /dev/zero >> "$raw"
  done
  qemu-img convert -q -f raw -O qcow2 "$raw" "$work/$1.qcow2"
  rm -f "$raw"
  xz -T2 --block-size=1MiB -k -c "$work/$1.qcow2" > "$work/$1.qcow2.xz"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
make_image a 6
make_image b 6
make_image c 4
make_image d 4
cp "$work/a.qcow2.xz" "$srv/prod/fedora-coreos-41.1.0-qemu.x86_64.qcow2.xz"
cp "$work/b.qcow2.xz" "$work/c.qcow2.xz" "$srv/prod/"
cp "$work/d.qcow2" "$srv/flatcar/amd64-usr/current/flatcar_production_qemu_image.img"

python3 "$here/imageserver.py" "$srv" "$work/port" "$work/http.log" --max-seconds 900 &
server=$!
# the per-volume pull locks (defined, never started networks) a killed
# pull may leave behind
drop_locks() {
  for n in $(virsh net-list --all --name | grep "^image-$pool-.*\.virtstrap-lock\$" || true); do
    virsh net-undefine "$n" >/dev/null 2>&1 || true
  done
}
trap 'kill "$server" 2>/dev/null || true; drop_locks; cleanup' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
base=http://127.0.0.1:$(cat "$work/port")
ctl() { curl -fsS "$base/_ctl/$1" >/dev/null; }

stream_json() { # stream_json UNCOMPRESSED-SHA
  cat <<JSON
{"stream":"stable","metadata":{"last-modified":"2026-12-01T00:00:00Z"},
 "architectures":{"x86_64":{"artifacts":{"qemu":{"release":"41.1.0","formats":{"qcow2.xz":{"disk":{
   "location":"$base/prod/fedora-coreos-41.1.0-qemu.x86_64.qcow2.xz",
   "signature":"$base/prod/x.sig",
   "sha256":"$(sha "$work/a.qcow2.xz")","uncompressed-sha256":"$1"}}}}}}}}
JSON
}
stream_json "$(sha "$work/a.qcow2")" > "$srv/streams/stable.json"
stream_json "$(sha "$work/b.qcow2")" > "$srv/streams/wrong.json"
img=$srv/flatcar/amd64-usr/current/flatcar_production_qemu_image.img
printf 'FLATCAR_BUILD=4081\nFLATCAR_VERSION=4081.2.0\n' > "$srv/flatcar/amd64-usr/current/version.txt"
{
  echo "# MD5 HASH"; md5sum "$img" | sed 's| .*/|  |'
  echo "# SHA1 HASH"; sha1sum "$img" | sed 's| .*/|  |'
  echo "# SHA512 HASH"; sha512sum "$img" | sed 's| .*/|  |'
} > "$img.DIGESTS"

pull() { # pull ARGS...: exit code in $rc, output in $work/out
  rc=0
  "$bin" image pull --pool "$pool" --connect "$uri" "$@" > "$work/out" 2>&1 || rc=$?
}
vol_is() { # vol_is VOLUME FILE: the volume's bytes are FILE's, and it is a qcow2
  virsh vol-download --pool "$pool" "$1" "$work/got" &&
    cmp -s "$work/got" "$2" &&
    virsh vol-dumpxml --pool "$pool" "$1" | grep -q "<format type='qcow2'/>"
}
no_vol() { ! virsh vol-info --pool "$pool" "$1" >/dev/null 2>&1; }
no_marker() { ! virsh vol-list "$pool" | grep -q 'virtstrap-partial'; }
gets() { grep -c "\"path\": \"$1\"" "$work/http.log" || true; }
say() { grep -q -- "$1" "$work/out" || { echo "--- output:"; cat "$work/out"; return 1; }; }
fcos=fedora-coreos-41.1.0-qemu.x86_64.qcow2
xzpath=/prod/$fcos.xz

# Fedora CoreOS from a stream
pull --stream-url "$base/streams/stable.json"
check "fcos stream: exit 0" test "$rc" = 0
check "fcos stream: the volume is the uncompressed image, qcow2" vol_is "$fcos" "$work/a.qcow2"
check "fcos stream: prints the image: line" say "image: { pool: $pool, volume: $fcos }"
check "fcos stream: no marker left" no_marker
check "fcos stream: the verified file is in the cache, no .part" \
  test -f "$XDG_CACHE_HOME/virtstrap/sha256-$(sha "$work/a.qcow2.xz")-$fcos.xz" -a \
  ! -e "$XDG_CACHE_HOME/virtstrap/sha256-$(sha "$work/a.qcow2.xz")-$fcos.xz.part"
n=$(gets "$xzpath")
pull --stream-url "$base/streams/stable.json" --output json
check "again: exit 0" test "$rc" = 0
check "again: already there (json)" python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["already_there"] is True and o["volume"] == sys.argv[2] and o["pool"] == sys.argv[3], o
assert o["release"] == "41.1.0" and o["downloaded"] is False, o' "$work/out" "$fcos" "$pool"
check "again: the image was not downloaded again" test "$(gets "$xzpath")" = "$n"
rm -rf "$XDG_CACHE_HOME"
pull --stream-url "$base/streams/stable.json"
check "again, cache gone: already there, no download (uncompressed sha256 known)" \
  test "$rc" = 0 -a "$(gets "$xzpath")" = "$n"
check "again: says so" say "already there"

# what it made is a base image virtstrap's overlays use
cat > "$work/cluster.yaml" <<YAML
name: vsimg
image: { pool: $pool, volume: $fcos }
defaults: { vcpus: 1, memory: 256MiB, disk: { pool: $pool, size: 1GiB }, networks: [], domain_type: qemu }
nodes: [ { name: node } ]
YAML
rc=0; "$bin" apply --yes -f "$work/cluster.yaml" --connect "$uri" > "$work/out" 2>&1 || rc=$?
check "apply on the pulled image: exit 0" eval 'test "$rc" = 0 || { cat "$work/out"; false; }'
check "apply on the pulled image: the root disk is an overlay on it" \
  eval 'virsh vol-dumpxml --pool "$pool" vsimg-node-root.qcow2 | grep -q "<path>$pooldir/$fcos</path>"'
rc=0; "$bin" destroy --yes -f "$work/cluster.yaml" --connect "$uri" > "$work/out" 2>&1 || rc=$?
check "destroy: exit 0, the pulled image kept" eval 'test "$rc" = 0 && vol_is "$fcos" "$work/a.qcow2"'

# a wrong uncompressed sha256 in the stream: uploaded, checked, deleted
pull --stream-url "$base/streams/wrong.json" --name wrong-unsha.qcow2
check "wrong uncompressed sha256: exit 1" test "$rc" = 1
check "wrong uncompressed sha256: says so" say "sha256 mismatch for the decompressed image"
check "wrong uncompressed sha256: no volume, no marker" eval 'no_vol wrong-unsha.qcow2 && no_marker'

# Flatcar (a DIGESTS file with SHA512, as Flatcar publishes)
pull --os flatcar --stream-url "$base/flatcar/amd64-usr/current/"
check "flatcar: exit 0" test "$rc" = 0
check "flatcar: the volume is the image" vol_is flatcar-4081.2.0-qemu.amd64.qcow2 "$work/d.qcow2"

# --url with a wrong sha256: nothing reaches the pool
pull --url "$base/prod/b.qcow2.xz" --sha256 "$(printf '0%.0s' $(seq 64))" --name wrong.qcow2
check "wrong sha256: exit 1" test "$rc" = 1
check "wrong sha256: says so" say "sha256 mismatch"
check "wrong sha256: no volume, no marker" eval 'no_vol wrong.qcow2 && no_marker'
check "wrong sha256: nothing kept in the cache" \
  test -z "$(find "$XDG_CACHE_HOME" -name '*b.qcow2.xz*' 2>/dev/null)"

# cut half-way: resumed with Range in the same run
size=$(stat -c %s "$work/b.qcow2.xz")
half=$((size / 2))
: > "$work/http.log"
ctl "cut?path=/prod/b.qcow2.xz&after=$half"
pull --url "$base/prod/b.qcow2.xz" --sha256 "$(sha "$work/b.qcow2.xz")" --name cut.qcow2
check "cut download: exit 0" test "$rc" = 0
check "cut download: a Range request from the cut" grep -q "\"range\": \"bytes=$half-\", \"status\": 206" "$work/http.log"
sent=$(python3 -c 'import json,sys; print(sum(json.loads(l)["sent"] for l in open(sys.argv[1])))' "$work/http.log")
check "cut download: less than twice the file served ($sent of $size)" test "$sent" -lt $((2 * size))
check "cut download: the volume is the image" vol_is cut.qcow2 "$work/b.qcow2"

# cut by kill -9: nothing in the pool meanwhile, the next run resumes
: > "$work/http.log"
ctl "slow?path=/prod/c.qcow2.xz&bps=400000"
"$bin" image pull --pool "$pool" --connect "$uri" --url "$base/prod/c.qcow2.xz" \
  --sha256 "$(sha "$work/c.qcow2.xz")" --name killed.qcow2 > "$work/out" 2>&1 &
puller=$!
part=$XDG_CACHE_HOME/virtstrap/sha256-$(sha "$work/c.qcow2.xz")-c.qcow2.xz.part
for _ in $(seq 100); do [ "$(stat -c %s "$part" 2>/dev/null || echo 0)" -gt 300000 ] && break; sleep 0.05; done
kill -9 "$puller"; wait "$puller" 2>/dev/null || true
have=$(stat -c %s "$part")
check "killed mid-download: the .part stays ($have of $(stat -c %s "$work/c.qcow2.xz") bytes)" \
  test "$have" -gt 0 -a "$have" -lt "$(stat -c %s "$work/c.qcow2.xz")"
check "killed mid-download: nothing in the pool" eval 'no_vol killed.qcow2 && no_marker'
ctl reset
pull --url "$base/prod/c.qcow2.xz" --sha256 "$(sha "$work/c.qcow2.xz")" --name killed.qcow2
check "next run: exit 0" test "$rc" = 0
check "next run: resumed with Range from the .part's end" grep -q "\"range\": \"bytes=$have-\", \"status\": 206" "$work/http.log"
check "next run: the volume is the image" vol_is killed.qcow2 "$work/c.qcow2"

# a server that ignores Range: the download restarts from zero, cleanly
rm -rf "$XDG_CACHE_HOME"
: > "$work/http.log"
ctl "cut?path=/prod/c.qcow2.xz&after=$half"
ctl "ignore-range?path=/prod/c.qcow2.xz"
pull --url "$base/prod/c.qcow2.xz" --sha256 "$(sha "$work/c.qcow2.xz")" --name norange.qcow2
check "ignored Range: exit 0" test "$rc" = 0
check "ignored Range: the server answered 200 to a Range" grep -q '"range": "bytes=[0-9]*-", "status": 200' "$work/http.log"
check "ignored Range: the volume is the image" vol_is norange.qcow2 "$work/c.qcow2"
ctl reset

# a local FILE, compressed and not
pull "$work/b.qcow2.xz" --name file-xz.qcow2
check "FILE .xz: exit 0 and the image" eval 'test "$rc" = 0 && vol_is file-xz.qcow2 "$work/b.qcow2"'
pull "$work/d.qcow2" --sha256 "$(sha "$work/d.qcow2")"
check "FILE qcow2 with --sha256: exit 0 and the image, named after the file" \
  eval 'test "$rc" = 0 && vol_is d.qcow2 "$work/d.qcow2"'

# a corrupt xz (its sha256 given as it is): the upload fails, no volume
cp "$work/b.qcow2.xz" "$work/bad.qcow2.xz"
printf 'garbage!' | dd of="$work/bad.qcow2.xz" bs=1 seek=$((size / 2)) conv=notrunc status=none
pull "$work/bad.qcow2.xz" --name corrupt.qcow2
check "corrupt xz: exit 1" test "$rc" = 1
check "corrupt xz: no volume, no marker" eval 'no_vol corrupt.qcow2 && no_marker'

# never an overwrite
qemu-img create -q -f qcow2 "$work/other.qcow2" 8M
virsh vol-create-as "$pool" clash.qcow2 8M --format qcow2 >/dev/null
virsh vol-upload --pool "$pool" clash.qcow2 "$work/other.qcow2"
pull "$work/b.qcow2.xz" --name clash.qcow2
check "other content under the name: exit 2" test "$rc" = 2
check "other content: names a free name" say "--name clash-2.qcow2"
check "other content: kept byte for byte" eval 'virsh vol-download --pool "$pool" clash.qcow2 "$work/got" && cmp -s "$work/got" "$work/other.qcow2"'
pull "$work/b.qcow2.xz" --name file-xz.qcow2
check "same content under the name, from a file: already there" eval 'test "$rc" = 0 && say "already there"'

# a stale half image (a pull killed during its upload) is redone
virsh vol-create-as "$pool" stale.qcow2 1M --format raw >/dev/null
virsh vol-create-as "$pool" stale.qcow2.virtstrap-partial 0 --format raw >/dev/null
pull "$work/b.qcow2.xz" --name stale.qcow2
check "stale marker: exit 0, says it deleted the half image" eval 'test "$rc" = 0 && say "deleted the half image"'
check "stale marker: the volume is the image, no marker" eval 'vol_is stale.qcow2 "$work/b.qcow2" && no_marker'

# kill -9 during a real upload: the marker stays beside the half image,
# and the next pull deletes both and does it again
head -c 150M /dev/urandom > "$work/big.raw"
qemu-img convert -q -f raw -O qcow2 "$work/big.raw" "$work/big.qcow2"
rm -f "$work/big.raw"
"$bin" image pull --pool "$pool" --connect "$uri" "$work/big.qcow2" --name big.qcow2 \
  > "$work/out" 2>&1 &
puller=$!
for _ in $(seq 400); do virsh vol-list "$pool" | grep -q '^ *big.qcow2 ' && break; sleep 0.02; done
kill -9 "$puller"; wait "$puller" 2>/dev/null || true
check "killed during the upload: the marker is there beside the half image" \
  eval 'virsh vol-list "$pool" | grep -q "big.qcow2.virtstrap-partial"'
pull "$work/big.qcow2" --name big.qcow2
check "after the kill: exit 0, the half image deleted and redone" \
  eval 'test "$rc" = 0 && say "deleted the half image" && vol_is big.qcow2 "$work/big.qcow2" && no_marker'

# Ctrl-C during the upload: the half image and its marker are deleted
# before it exits, the lock released
"$bin" image pull --pool "$pool" --connect "$uri" "$work/big.qcow2" --name int.qcow2 \
  > "$work/out" 2>&1 &
puller=$!
for _ in $(seq 400); do virsh vol-list "$pool" | grep -q '^ *int.qcow2 ' && break; sleep 0.02; done
kill -INT "$puller"
rc=0; wait "$puller" || rc=$?
check "Ctrl-C during the upload: exit 1, says it was interrupted" \
  eval 'test "$rc" = 1 && say "interrupted"'
check "Ctrl-C during the upload: no volume, no marker, no lock" \
  eval 'no_vol int.qcow2 && no_marker && ! virsh net-list --all --name | grep -q "^image-$pool-"'

# two pulls of one volume at once: one waits for the other's lock, then
# finds the image there
"$bin" image pull --pool "$pool" --connect "$uri" "$work/big.qcow2" --name twice.qcow2 \
  > "$work/one" 2>&1 & one=$!
"$bin" image pull --pool "$pool" --connect "$uri" "$work/big.qcow2" --name twice.qcow2 \
  > "$work/two" 2>&1 & two=$!
r1=0; wait "$one" || r1=$?
r2=0; wait "$two" || r2=$?
check "two pulls at once: both exit 0" test "$r1$r2" = 00
check "two pulls at once: one made it, the other found it there" \
  eval 'cat "$work/one" "$work/two" | grep -c "already there" | grep -qx 1'
check "two pulls at once: the volume is the image, no marker, no lock left" \
  eval 'vol_is twice.qcow2 "$work/big.qcow2" && no_marker && ! virsh net-list --all --name | grep -q "^image-$pool-"'

# bad input: exit 2, nothing made
before=$(virsh vol-list "$pool" | wc -l)
pull --os nope
check "unknown --os: exit 2" test "$rc" = 2
pull --url "$base/prod/b.qcow2.xz"
check "--url without --sha256: exit 2" test "$rc" = 2
pull --url "$base/prod/b.qcow2.xz" --sha256 xyz
check "bad hex: exit 2, says what to give" eval 'test "$rc" = 2 && say "64 hex digits"'
pull --stream nightly
check "unknown stream: exit 2" test "$rc" = 2
rc=0; "$bin" image pull --pool vsimg-no-such-pool --connect "$uri" "$work/b.qcow2.xz" > "$work/out" 2>&1 || rc=$?
check "no such pool: exit 2, names --pool" eval 'test "$rc" = 2 && say "pick one with --pool"'
check "bad input: nothing made" test "$(virsh vol-list "$pool" | wc -l)" = "$before"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
