#!/usr/bin/env bash
# Benchmark of a cluster over two libvirt hosts (scripts/libvirt-hosts:
# two daemons on this machine, qemu+tcp): apply of 2 hosts x N nodes
# (default 25; no NIC, blank base image, type qemu: the guests start and
# sit in firmware) against apply of N nodes on one of those hosts alone,
# in the same run, median of RUNS (default 3). Target: the two-host apply
# within 1.2x the one-host apply of half as many nodes (its wall time
# follows the slowest host, not the sum). Both hosts share this machine's
# cores, which separate machines would not.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
per=${NODES:-25}
pool=vs-mh-none # lib.sh's own pool is not used here
# shellcheck source=../tests/system/lib.sh
. "$root/tests/system/lib.sh"
hosts=$root/scripts/libvirt-hosts
u1=qemu+tcp://10.231.1.2/system
u2=qemu+tcp://10.231.2.2/system
teardown() {
  for f in one two; do
    [ -f "$work/$f.yaml" ] && "$bin" destroy --yes -f "$work/$f.yaml" >/dev/null 2>&1 || true
  done
  bash "$hosts" stop 2 >/dev/null 2>&1 || true
  cleanup
}
trap teardown EXIT
cargo build --release -q -p virtstrap
bash "$hosts" stop 2 >/dev/null 2>&1 || true
bash "$hosts" start 2 >/dev/null
qemu-img create -q -f qcow2 "$work/base.qcow2" 64M
for u in "$u1" "$u2"; do
  virsh -c "$u" vol-create-as default base.qcow2 64M --format qcow2 >/dev/null
  virsh -c "$u" vol-upload --pool default base.qcow2 "$work/base.qcow2"
done
head="image: { pool: default, volume: base.qcow2 }
defaults: { vcpus: 1, memory: 128MiB, disk: { pool: default, size: 1GiB }, networks: [], domain_type: qemu }"
cat > "$work/one.yaml" <<YAML
name: vs-bench-one
connect: $u1
$head
nodes: [ { name: n, count: $per } ]
YAML
cat > "$work/two.yaml" <<YAML
name: vs-bench-two
hosts: { box1: $u1, box2: $u2 }
$head
nodes: [ { name: a, count: $per, host: box1 }, { name: b, count: $per, host: box2 } ]
YAML
now() { date +%s.%N; }
# busy and all CPU time of this machine so far, in clock ticks
cpu() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
declare -A t u
time_it() { # time_it KEY SPEC: apply, timed; then destroy, untimed
  local a b b1 a1 b2 a2
  read -r b1 a1 < <(cpu)
  a=$(now)
  "$bin" apply --yes -f "$work/$2.yaml" >/dev/null 2>&1
  b=$(now)
  read -r b2 a2 < <(cpu)
  t[$1]+="$(echo "$b - $a" | bc) "
  u[$1]+="$(echo "($b2 - $b1) / ($a2 - $a1)" | bc -l) "
  "$bin" destroy --yes -f "$work/$2.yaml" >/dev/null 2>&1
}
for _ in $(seq 1 "$runs"); do
  time_it one one
  time_it two two
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
one=$(median "${t[one]}")
two=$(median "${t[two]}")
busy1=$(median "${u[one]}")
busy2=$(median "${u[two]}")
printf '\n| apply (median of %s) | nodes | seconds | CPU busy (all %s cores) |\n|---|---:|---:|---:|\n' \
  "$runs" "$(nproc)"
printf '| one host | %s | %.2f | %.0f%% |\n' "$per" "$one" "$(echo "$busy1 * 100" | bc -l)"
printf '| two hosts, %s each | %s | %.2f | %.0f%% |\n' "$per" "$((2 * per))" "$two" \
  "$(echo "$busy2 * 100" | bc -l)"
printf '| ratio (target <= 1.2) | | %.2f | |\n' "$(echo "$two / $one" | bc -l)"
# both test hosts run on this machine's cores: twice the work cannot take
# less than twice the one host's CPU time
printf '| floor on these shared cores: 2 x one host CPU busy | | %.2f | |\n' \
  "$(echo "2 * $busy1" | bc -l)"
