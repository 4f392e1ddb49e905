#!/usr/bin/env bash
# kill -9 of `virtstrap apply` at 10 random moments on a real libvirt
# daemon: each time the next apply converges (then a plan is empty) and
# destroy leaves no domain, volume or file behind. Needs root, a running
# libvirtd (scripts/libvirtd-start) and qemu-img. Prints "N passed, N failed".
set -euo pipefail
bin=${VIRTSTRAP:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/virtstrap}
uri=qemu:///system
work=$(mktemp -d)
pool=vs-kill9-images
pooldir=/var/lib/libvirt/images/$pool
passed=0
failed=0
virsh() { command virsh -q -c "$uri" "$@"; }
check() {
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
cleanup() {
  "$bin" destroy --yes -f "$work/cluster.yaml" --connect "$uri" >/dev/null 2>&1 || true
  virsh vol-delete --pool "$pool" base.qcow2 >/dev/null 2>&1 || true
  virsh pool-destroy "$pool" >/dev/null 2>&1 || true
  virsh pool-undefine "$pool" >/dev/null 2>&1 || true
  rm -rf "$work" "$pooldir"
}
trap cleanup EXIT
virsh pool-define-as "$pool" dir --target "$pooldir" >/dev/null
virsh pool-build "$pool" >/dev/null
virsh pool-start "$pool" >/dev/null
qemu-img create -q -f qcow2 "$work/base.qcow2" 64M
virsh vol-create-as "$pool" base.qcow2 64M --format qcow2 >/dev/null
virsh vol-upload --pool "$pool" base.qcow2 "$work/base.qcow2"
cat > "$work/cluster.yaml" <<YAML
name: vs-kill9
image: { pool: $pool, volume: base.qcow2 }
defaults: { vcpus: 1, memory: 256MiB, disk: { pool: $pool, size: 2GiB }, networks: [], domain_type: qemu }
nodes: [ { name: node, count: 3 } ]
YAML
run() { "$bin" "$@" -f "$work/cluster.yaml" --connect "$uri"; }
leftovers() {
  local doms vols files
  doms=$(virsh list --all --name | grep -c '^vs-kill9' || true)
  vols=$(virsh vol-list "$pool" | awk '{print $1}' | grep -vc '^base.qcow2$' || true)
  files=$(find "$pooldir" -type f ! -name base.qcow2 | wc -l)
  if [ "$doms" = 0 ] && [ "$vols" = 0 ] && [ "$files" = 0 ]; then return 0; fi
  echo "left: $doms domains, $vols volumes, $files files:" >&2
  virsh list --all --name | grep '^vs-kill9' >&2 || true
  virsh vol-list "$pool" >&2 || true
  find "$pooldir" -type f >&2 || true
  return 1
}
for i in $(seq 1 10); do
  # a random moment within the first ~0.8 s of an apply (a whole apply
  # of this cluster takes about that long here)
  delay=$(python3 -c 'import random; print(f"{random.uniform(0.0, 0.8):.3f}")')
  run apply --yes >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if run apply --yes >/dev/null 2>"$work/err"; then converged=yes; else converged=no; cat "$work/err"; fi
  check "kill -9 after ${delay}s (#$i): the next apply converges" test "$converged" = yes
  check "kill -9 after ${delay}s (#$i): then nothing to do" grep -q "nothing to do" <<<"$(run plan)"
  run destroy --yes >/dev/null 2>"$work/err" || { echo "destroy failed:" >&2; cat "$work/err" >&2; }
  check "kill -9 after ${delay}s (#$i): destroy leaves nothing" leftovers
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
