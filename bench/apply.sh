#!/usr/bin/env bash
# Benchmark on a real libvirt daemon (qemu:///system; scripts/libvirtd-start):
# the 3-node workload (1 vCPU, 256 MiB, 2 GiB qcow2 overlay on a small base
# image, Ignition over fw_cfg, no NIC, type qemu). Times virtstrap apply
# (all started), a no-op apply and destroy, and the bare libvirt floor
# (plain virsh, one call after another: vol-create x2, vol-upload, define,
# start per node; destroy/undefine/vol-delete) in the same run, then the
# ratios. Median of RUNS (default 5). Targets: apply <= 1.5 s, no-op
# <= 0.1 s, destroy <= 2.5 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
pool=vs-bench-images
# shellcheck source=../tests/system/lib.sh
. "$root/tests/system/lib.sh"
cargo build --release -q -p virtstrap
make_pool_with_base_image
cat > "$work/cluster.yaml" <<YAML
name: vs-bench
image: { pool: $pool, volume: base.qcow2 }
defaults: { vcpus: 1, memory: 256MiB, disk: { pool: $pool, size: 2GiB }, networks: [], domain_type: qemu }
nodes: [ { name: node, count: 3 } ]
YAML
vs() { "$bin" "$@" -f "$work/cluster.yaml" --connect "$uri" >/dev/null 2>&1; }
now() { date +%s.%N; }
# the floor: the same objects with plain virsh, sequentially
"$bin" render node1 -f "$work/cluster.yaml" --only ignition > "$work/ign.json"
for n in 1 2 3; do
  "$bin" render "node$n" -f "$work/cluster.yaml" --only domain | sed 1d |
    sed "s/vs-bench-node$n/vs-floor-node$n/g; s#/var/lib/libvirt/images/vs-floor#$pooldir/vs-floor#g" > "$work/floor$n.xml"
done
floor_apply() {
  for n in 1 2 3; do
    virsh vol-create-as "$pool" "vs-floor-node$n-root.qcow2" 2G --format qcow2 \
      --backing-vol "$pooldir/base.qcow2" --backing-vol-format qcow2 >/dev/null
    virsh vol-create-as "$pool" "vs-floor-node$n.ign" 0 --format raw >/dev/null
    virsh vol-upload --pool "$pool" "vs-floor-node$n.ign" "$work/ign.json"
    virsh define "$work/floor$n.xml" >/dev/null
    virsh start "vs-floor-node$n" >/dev/null
  done
}
floor_noop() { for n in 1 2 3; do virsh dominfo "vs-floor-node$n" >/dev/null; done; }
floor_destroy() {
  for n in 1 2 3; do
    virsh destroy "vs-floor-node$n" >/dev/null
    virsh undefine "vs-floor-node$n" >/dev/null
    virsh vol-delete --pool "$pool" "vs-floor-node$n-root.qcow2" >/dev/null
    virsh vol-delete --pool "$pool" "vs-floor-node$n.ign" >/dev/null
  done
}
declare -A t
time_it() { local key=$1; shift; local a b; a=$(now); "$@"; b=$(now); t[$key]+="$(echo "$b - $a" | bc) "; }
for _ in $(seq 1 "$runs"); do
  time_it vs_apply vs apply --yes
  time_it vs_noop vs apply --yes
  time_it vs_destroy vs destroy --yes
  time_it fl_apply floor_apply
  time_it fl_noop floor_noop
  time_it fl_destroy floor_destroy
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '| %-8s | %11s | %11s | %6s | %-7s |\n' phase "virtstrap s" "virsh floor" ratio target
printf '|----------|-------------|-------------|--------|---------|\n'
for phase in apply noop destroy; do
  v=$(median "${t[vs_$phase]}"); f=$(median "${t[fl_$phase]}")
  case $phase in apply) target=1.5 ;; noop) target=0.1 ;; destroy) target=2.5 ;; esac
  printf '| %-8s | %11.3f | %11.3f | %6.2f | <= %-4s |\n' "$phase" "$v" "$f" "$(echo "$v / $f" | bc -l)" "$target"
done
