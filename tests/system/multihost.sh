#!/usr/bin/env bash
# System test of a cluster over two libvirt hosts (scripts/libvirt-hosts:
# two daemons on this machine, each in its own network and mount
# namespace, reached over qemu+tcp): a 4-node cluster, two nodes pinned
# per host; apply puts each node on its host only; re-plan is empty; with
# one daemon down, apply fails naming that host and changes nothing on
# the other; with it back, apply converges; --partial applies on the host
# that answers; destroy with a host down removes what it can, names what
# is left, and a later destroy finishes; placement: spread puts nodes on
# both hosts and plans the same each time; kill -9 of a multi-host apply
# at random moments, then apply converges on both; no lock is left.
# Needs root, libvirtd and qemu-img. Prints "N passed, N failed".
set -euo pipefail
pool=vs-mh-none # lib.sh's own pool is not used here
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
hosts=$(cd "$(dirname "$0")/../.." && pwd)/scripts/libvirt-hosts
u1=qemu+tcp://10.231.1.2/system
u2=qemu+tcp://10.231.2.2/system
teardown() {
  "$bin" destroy --yes -f "$work/cluster.yaml" >/dev/null 2>&1 || true
  bash "$hosts" stop 2 >/dev/null 2>&1 || true
  cleanup
}
trap teardown EXIT
bash "$hosts" stop 2 >/dev/null 2>&1 || true
bash "$hosts" start 2 >/dev/null
qemu-img create -q -f qcow2 "$work/base.qcow2" 64M
export XDG_CACHE_HOME=$work/cache

spec() { # spec MEMORY NODES-YAML
  cat > "$work/cluster.yaml" <<YAML
name: vs-mh
image: { pool: default, volume: base.qcow2 }
hosts:
  box1: $u1
  box2: $u2
defaults:
  vcpus: 1
  memory: $1
  disk: { pool: default, size: 1GiB }
  networks: []
  domain_type: qemu
nodes:
$2
YAML
}
pinned="  - { name: a, count: 2, host: box1 }
  - { name: b, count: 2, host: box2 }"
has_vol() { virsh -c "$1" vol-info --pool default "$2" >/dev/null 2>&1; }

# the base image, through libvirt, to every host of the spec
spec 128MiB "$pinned"
out=$("$bin" image pull "$work/base.qcow2" --name base.qcow2 -f "$work/cluster.yaml" 2>&1) ||
  { echo "$out"; false; }
check "image pull -f puts the base image on both hosts" \
  eval 'has_vol "$u1" base.qcow2 && has_vol "$u2" base.qcow2'
check "it names each host" test "$(grep -c '^host box[12] ' <<<"$out")" = 2
qemu-img create -q -f qcow2 "$work/other.qcow2" 32M
"$bin" image pull "$work/other.qcow2" --name vs-mh-other.qcow2 -f "$work/cluster.yaml" \
  --host box2 >/dev/null 2>&1
check "image pull --host box2 reaches box2 only" \
  eval '! has_vol "$u1" vs-mh-other.qcow2 && has_vol "$u2" vs-mh-other.qcow2'
virsh -c "$u2" vol-delete --pool default vs-mh-other.qcow2 >/dev/null
rc=0; "$bin" image pull "$work/other.qcow2" -f "$work/cluster.yaml" --host box9 >/dev/null 2>&1 || rc=$?
check "image pull --host of no such host exits 2 (got $rc)" test "$rc" = 2
on() { virsh -c "$1" list --all --name | grep '^vs-mh-' | sort | paste -sd' ' || true; }
memory_of() { virsh -c "$1" dumpxml --inactive "$2" | sed -n 's|.*<memory unit=.KiB.>\([0-9]*\)</memory>.*|\1|p'; }
steps() { # total steps of a multi-host plan in JSON
  "$bin" plan --output json -f "$work/cluster.yaml" |
    python3 -c 'import json,sys; print(sum(len(h["steps"]) for h in json.load(sys.stdin)["hosts"]))'
}
no_lock() { ! virsh -c "$1" net-list --all --name | grep -q 'virtstrap-lock'; }

spec 128MiB "$pinned"
out=$("$bin" apply --yes -f "$work/cluster.yaml" 2>&1) || { echo "$out"; false; }
check "box1 has a1 a2 only (has: $(on "$u1"))" test "$(on "$u1")" = "vs-mh-a1 vs-mh-a2"
check "box2 has b1 b2 only (has: $(on "$u2"))" test "$(on "$u2")" = "vs-mh-b1 vs-mh-b2"
check "the plan names each host" grep -q "on host box2 ($u2)" <<<"$out"
check "re-plan is empty" test "$(steps)" = 0
check "no lock left on box1" no_lock "$u1"
check "no lock left on box2" no_lock "$u2"
rc=0; doc=$("$bin" doctor -f "$work/cluster.yaml" 2>&1) || rc=$?
check "doctor checks both hosts (exit $rc)" \
  test "$rc/$(grep -c '^host box[12] ' <<<"$doc")" = 0/2
st=$("$bin" status -f "$work/cluster.yaml")
check "status names each node's host" \
  test "$(awk 'NR > 1 {print $1 "@" $2}' <<<"$st" | paste -sd' ')" = "a1@box1 a2@box1 b1@box2 b2@box2"
check "status shows all four running" test "$(grep -c ' running ' <<<"$st")" = 4
inv=$("$bin" inventory --format json -f "$work/cluster.yaml")
check "the inventory names each node's libvirt host" test "$(python3 -c '
import json, sys
hv = json.load(sys.stdin)["_meta"]["hostvars"]
print(" ".join(n + "@" + hv[n]["virtstrap_libvirt_host"] for n in sorted(hv)))' <<<"$inv")" = \
  "a1@box1 a2@box1 b1@box2 b2@box2"

bash "$hosts" down 2
spec 192MiB "$pinned"
rc=0; out=$("$bin" apply --yes -f "$work/cluster.yaml" 2>&1) || rc=$?
check "apply with box2 down fails, exit 1 (got $rc)" test "$rc" = 1
check "it names box2 and why" grep -q "host box2 ($u2) did not answer" <<<"$out"
check "box1 is unchanged (a1 has $(memory_of "$u1" vs-mh-a1) KiB)" \
  test "$(memory_of "$u1" vs-mh-a1)" = 131072
rc=0; "$bin" plan -f "$work/cluster.yaml" >/dev/null 2>&1 || rc=$?
check "plan with box2 down fails, exit 1 (got $rc)" test "$rc" = 1
rc=0; st=$("$bin" status -f "$work/cluster.yaml" 2>/dev/null) || rc=$?
rc=0; doc=$("$bin" doctor -f "$work/cluster.yaml" 2>&1) || rc=$?
check "doctor with box2 down exits 1 (got $rc), failing box2's daemon check" \
  test "$rc/$(grep -c 'fail  daemon  cannot connect to '"$u2" <<<"$doc")" = 1/1
check "and still checks box1" grep -q "pass  base image  default/base.qcow2 is there" <<<"$doc"
check "status with box2 down exits 1 (got $rc) and shows box2's nodes unknown" \
  test "$rc/$(grep -c ' unknown ' <<<"$st")/$(grep -c ' running ' <<<"$st")" = 1/2/2
bash "$hosts" start 2 >/dev/null
out=$("$bin" apply --yes -f "$work/cluster.yaml" 2>&1) || { echo "$out"; false; }
check "with box2 back, apply changes both" \
  test "$(memory_of "$u1" vs-mh-a1)/$(memory_of "$u2" vs-mh-b1)" = 196608/196608
check "then re-plan is empty" test "$(steps)" = 0

bash "$hosts" down 2
spec 256MiB "$pinned"
rc=0; out=$("$bin" apply --yes --partial -f "$work/cluster.yaml" 2>&1) || rc=$?
check "apply --partial with box2 down succeeds (exit $rc)" test "$rc" = 0
check "it changes box1" test "$(memory_of "$u1" vs-mh-a2)" = 262144
check "it names what it skipped" grep -q "skipped host box2" <<<"$out"
rc=0; out=$("$bin" destroy --yes -f "$work/cluster.yaml" 2>&1) || rc=$?
check "destroy with box2 down exits 1 (got $rc)" test "$rc" = 1
check "it removes box1's nodes (left: $(on "$u1"))" test -z "$(on "$u1")"
check "it names what is left and where" grep -q "destroy did not reach host box2 ($u2)" <<<"$out"
bash "$hosts" start 2 >/dev/null
check "box2's nodes are still there" test "$(on "$u2")" = "vs-mh-b1 vs-mh-b2"
"$bin" destroy --yes -f "$work/cluster.yaml" >/dev/null 2>&1
check "a later destroy finishes (left: $(on "$u1")|$(on "$u2"))" test -z "$(on "$u1")$(on "$u2")"
vols=$(virsh -c "$u2" vol-list default | awk '{print $1}' | grep -vc '^base.qcow2$' || true)
check "no volume left on box2 but the base image ($vols)" test "$vols" = 0

spec 128MiB "  - { name: w, count: 4, placement: spread }"
p1=$("$bin" plan --output json -f "$work/cluster.yaml")
p2=$("$bin" plan --output json -f "$work/cluster.yaml")
check "spread plans the same twice" test "$p1" = "$p2"
out=$("$bin" apply --yes -f "$work/cluster.yaml" 2>&1) || { echo "$out"; false; }
n1=$(on "$u1" | wc -w); n2=$(on "$u2" | wc -w)
check "spread uses both hosts ($n1 + $n2)" test "$n1" -ge 1 -a "$n2" -ge 1 -a $((n1 + n2)) = 4
check "spread: re-plan is empty" test "$(steps)" = 0
"$bin" destroy --yes -f "$work/cluster.yaml" >/dev/null 2>&1

# a network on both hosts: the address plan spans them, no address twice
cat > "$work/cluster.yaml" <<YAML
name: vs-mh
image: { pool: default, volume: base.qcow2 }
hosts: { box1: $u1, box2: $u2 }
networks: [ { name: vs-mh-net, mode: isolated, cidr: 10.77.0.0/24 } ]
defaults: { vcpus: 1, memory: 128MiB, disk: { pool: default, size: 1GiB },
            networks: [ vs-mh-net ], domain_type: qemu }
nodes:
$pinned
YAML
out=$("$bin" apply --yes -f "$work/cluster.yaml" 2>&1) || { echo "$out"; false; }
reserved() { virsh -c "$1" net-dumpxml vs-mh-net | grep -o "ip='10.77.0.[0-9]*'" | sort | paste -sd' '; }
r1=$(reserved "$u1"); r2=$(reserved "$u2")
check "box1 reserves its nodes' addresses ($r1)" test "$r1" = "ip='10.77.0.2' ip='10.77.0.3'"
check "box2 reserves others ($r2)" test "$r2" = "ip='10.77.0.4' ip='10.77.0.5'"
planned=$("$bin" inventory --planned --format json -f "$work/cluster.yaml" 2>/dev/null |
  python3 -c 'import json,sys; hv=json.load(sys.stdin)["_meta"]["hostvars"]; print(" ".join(n+"="+hv[n]["ip"] for n in sorted(hv)))')
check "the planned inventory has the same addresses ($planned)" \
  test "$planned" = "a1=10.77.0.2 a2=10.77.0.3 b1=10.77.0.4 b2=10.77.0.5"
check "re-plan with the network is empty" test "$(steps)" = 0
"$bin" destroy --yes -f "$work/cluster.yaml" >/dev/null 2>&1
check "destroy removes the network from both hosts" \
  test -z "$(virsh -c "$u1" net-list --all --name | grep vs-mh-net)$(virsh -c "$u2" net-list --all --name | grep vs-mh-net)"

# two applies at once, each willing to wait: the locks are taken in one
# order on every host, so neither waits on the other crosswise
spec 128MiB "$pinned"
timeout 120 "$bin" apply --yes --lock-timeout 2m -f "$work/cluster.yaml" >"$work/a" 2>&1 & a=$!
timeout 120 "$bin" apply --yes --lock-timeout 2m -f "$work/cluster.yaml" >"$work/b" 2>&1 & b=$!
ra=0; wait "$a" || ra=$?
rb=0; wait "$b" || rb=$?
check "two applies at once, both waiting for the locks, both succeed (exit $ra, $rb)" \
  test "$ra$rb" = 00
check "after them: converged" test "$(steps)/$(on "$u1")/$(on "$u2")" = "0/vs-mh-a1 vs-mh-a2/vs-mh-b1 vs-mh-b2"
"$bin" destroy --yes -f "$work/cluster.yaml" >/dev/null 2>&1

for round in 1 2 3 4 5; do
  "$bin" apply --yes -f "$work/cluster.yaml" >/dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 8))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  out=$("$bin" apply --yes -f "$work/cluster.yaml" 2>&1) ||
    { echo "$out"; false; }
  check "kill -9 round $round: the next apply converges both" \
    test "$(steps)/$(on "$u1")/$(on "$u2")" = "0/vs-mh-a1 vs-mh-a2/vs-mh-b1 vs-mh-b2"
  "$bin" destroy --yes -f "$work/cluster.yaml" >/dev/null 2>&1
done
check "no lock left on box1 at the end" no_lock "$u1"
check "no lock left on box2 at the end" no_lock "$u2"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
