#!/usr/bin/env bash
# The cluster lock on a real libvirt daemon, across processes: rounds of
# two `apply` started together, then two `destroy` together. Every run
# either succeeds or says the cluster is locked (naming the holder); after
# the applies the cluster is converged (plan empty), after the destroys it
# is gone, and no lock is left. Then: --lock-timeout waits for the holder;
# a lock held by a live process is refused until --force-unlock; plan and
# status never take it. Needs root and a running libvirtd. Prints
# "N passed, N failed".
set -euo pipefail
pool=vs-lock-images
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
make_pool_with_base_image
cat > "$work/cluster.yaml" <<YAML
name: vs-lock
image: { pool: $pool, volume: base.qcow2 }
defaults: { vcpus: 1, memory: 256MiB, disk: { pool: $pool, size: 2GiB }, networks: [], domain_type: qemu }
nodes: [ { name: node, count: 6 } ]
YAML
run() { "$bin" "$@" -f "$work/cluster.yaml" --connect "$uri"; }
# ok_or_locked LOG RC: the run succeeded, or failed saying who holds the lock
ok_or_locked() {
  [ "$2" = 0 ] && return 0
  if [ "$2" = 1 ] && grep -q "is locked by apply\|is locked by destroy" "$1"; then return 0; fi
  echo "exit $2:" >&2; cat "$1" >&2; return 1
}
domains() { virsh list --all --name | grep -c '^vs-lock-' || true; }
locks() { virsh net-list --all --name | grep -c '^vs-lock' || true; }
together() { # together VERB: two runs at once; checks each outcome
  local verb=$1 a b ra rb
  run "$verb" --yes >"$work/a" 2>&1 & a=$!
  run "$verb" --yes >"$work/b" 2>&1 & b=$!
  ra=0; wait "$a" || ra=$?
  rb=0; wait "$b" || rb=$?
  check "$verb #$round, run A: done or told the cluster is locked" ok_or_locked "$work/a" "$ra"
  check "$verb #$round, run B: done or told the cluster is locked" ok_or_locked "$work/b" "$rb"
  check "$verb #$round: at least one of the two ran" test "$ra" = 0 -o "$rb" = 0
}
for round in 1 2 3; do
  together apply
  check "round $round: converged after two applies (plan empty)" grep -q "nothing to do" <<<"$(run plan)"
  check "round $round: all 6 domains" test "$(domains)" = 6
  together destroy
  check "round $round: gone after two destroys" test "$(domains)" = 0
  check "round $round: no lock left" test "$(locks)" = 0
done

# --lock-timeout: the second run waits for the first, then has nothing to do
run apply --yes >"$work/a" 2>&1 & a=$!
sleep 0.05
rb=0; run apply --yes --lock-timeout 2m >"$work/b" 2>&1 || rb=$?
ra=0; wait "$a" || ra=$?
check "--lock-timeout: both applies succeed" test "$ra$rb" = 00
check "converged" grep -q "nothing to do" <<<"$(run plan)"

# a lock held by a live process of this machine: refused, named; plan and
# status still work; --force-unlock breaks it
sleep 600 & holder=$!
start=$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$holder/stat")
cat > "$work/lock.xml" <<XML
<network><name>vs-lock.virtstrap-lock</name><metadata><vs:lock xmlns:vs="https://virtstrap.dev/xmlns/owner/1" command="apply" machine="elsewhere-or-here" machine-id="$(cat /etc/machine-id 2>/dev/null || hostname)" pid="$holder" pid-start="$start" since="$(date +%s)" heartbeat="$(date +%s)"/></metadata></network>
XML
virsh net-define "$work/lock.xml" >/dev/null
rc=0; run destroy --yes >"$work/out" 2>&1 || rc=$?
check "a live holder's lock: destroy refuses, exit 1" test "$rc" = 1
check "the refusal names the holder's pid" grep -q "pid $holder" "$work/out"
check "the refusal names --force-unlock" grep -q -- "--force-unlock" "$work/out"
check "plan does not take the lock" run plan >/dev/null
check "status does not take the lock" run status >/dev/null
check "destroy refused, so the cluster is still there" test "$(domains)" = 6
rc=0; run destroy --yes --force-unlock >"$work/out" 2>&1 || rc=$?
check "--force-unlock: destroy breaks the lock and runs" test "$rc" = 0
check "--force-unlock says whose lock it broke" grep -q "broke the cluster lock held by apply (pid $holder" "$work/out"
check "gone, and no lock left" test "$(domains)$(locks)" = 00
kill "$holder" 2>/dev/null || true
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
