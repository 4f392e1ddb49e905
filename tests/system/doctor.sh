#!/usr/bin/env bash
# The preflight on a real libvirt daemon: `doctor` on a good spec passes;
# a spec asking for KVM (unusable on this daemon), a pool under a 0700
# `mktemp -d` directory (defined on the host, or declared in the spec),
# and a network range over one of the daemon's routes each fail their
# check with the fix, and `apply` refuses the first three with exit 2,
# making nothing (no domain, volume, pool, network or lock left). Then
# the fix (chmod o+x) makes the same spec apply and its domain start.
# Needs root and a running libvirtd. Prints "N passed, N failed".
set -euo pipefail
pool=vsdoc-images
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
closed=$(mktemp -d) # 0700, as mktemp makes it
doc_cleanup() {
  cleanup
  for p in vsdoc-closed vsdoc-decl; do
    for v in $(virsh vol-list "$p" 2>/dev/null | awk '{print $1}'); do
      virsh vol-delete --pool "$p" "$v" >/dev/null 2>&1 || true
    done
    virsh pool-destroy "$p" >/dev/null 2>&1 || true
    virsh pool-undefine "$p" >/dev/null 2>&1 || true
  done
  virsh net-destroy vsdoc-taken >/dev/null 2>&1 || true
  virsh net-undefine vsdoc-taken >/dev/null 2>&1 || true
  rm -rf "$closed"
}
trap doc_cleanup EXIT
make_pool_with_base_image

# spec DISK_POOL DOMAIN_TYPE [EXTRA YAML]: one node on the daemon's
# private network namespace (an isolated network, as every test here)
spec() {
  cat > "$work/cluster.yaml" <<YAML
name: vsdoc
image: { pool: $pool, volume: base.qcow2 }
defaults: { vcpus: 1, memory: 256MiB, disk: { pool: $1, size: 2GiB }, networks: [vsdoc-net], domain_type: $2 }
nodes: [ { name: node } ]
networks: [ { name: vsdoc-net, mode: isolated, cidr: 192.168.237.0/24 } ]
${3:-}
YAML
}
run() { "$bin" "$@" -f "$work/cluster.yaml" --connect "$uri"; }
doctor() { # doctor: exit code in $rc, output in $work/doctor
  rc=0; run doctor >"$work/doctor" 2>&1 || rc=$?
}
line() { grep -q -- "$1" "$work/doctor" || { echo "no line '$1' in:" >&2; cat "$work/doctor" >&2; return 1; }; }
apply_refused() { # apply_refused WORDS: exit 2, the words on stderr
  local arc=0
  run apply --yes >"$work/apply" 2>&1 || arc=$?
  [ "$arc" = 2 ] && grep -q -- "$1" "$work/apply" && grep -q "nothing was changed" "$work/apply" ||
    { echo "apply exit $arc:" >&2; cat "$work/apply" >&2; return 1; }
}
# nothing of this cluster on the host: domain, volumes, network, lock, declared pool
nothing_made() {
  local d v n p
  d=$(virsh list --all --name | grep -c '^vsdoc-' || true)
  v=$(for p in $pool vsdoc-closed; do virsh vol-list "$p" 2>/dev/null; done | grep -c 'vsdoc-node' || true)
  n=$(virsh net-list --all --name | grep '^vsdoc' | grep -vc '^vsdoc-taken$' || true)
  p=$(virsh pool-list --all --name | grep -c '^vsdoc-decl$' || true)
  [ "$d$v$n$p" = 0000 ] || { echo "made: $d domains, $v volumes, $n networks/locks, $p pools" >&2; return 1; }
}

# a good spec
spec "$pool" qemu
doctor
check "good spec: doctor exits 0" test "$rc" = 0
check "good spec: daemon reached" line "^pass  daemon  $uri"
check "good spec: KVM not usable, and not asked for" line "^pass  kvm  KVM is not usable.*no node asks for it"
check "good spec: the pool's path is reachable by the qemu user" line "^pass  traverse $pool  libvirt-qemu can reach $pooldir"
check "good spec: the pool has room" line "^pass  space $pool"
check "good spec: the base image is there" line "^pass  base image  $pool/base.qcow2 is there"
check "good spec: the network is declared" line "^pass  networks  vsdoc-net declared"
check "good spec: its range overlaps no route of the daemon's namespace" \
  line "^pass  routes vsdoc-net  192.168.237.0/24 overlaps no route in /proc/$(cat /run/libvirtd.pid)/net/route"
check "good spec: the qemu user is the daemon's" line "^pass  qemu user  QEMU runs as libvirt-qemu (uid 64055"
json_checks() { run doctor --output json | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(" ".join(sorted(c["outcome"] for c in v["checks"] if c["name"] in ("kvm", "daemon", "pools"))))'; }
check "good spec: doctor --output json has the checks" test "$(json_checks)" = "pass pass pass"

# KVM asked for on a daemon where it is unusable
spec "$pool" kvm
doctor
check "kvm spec: doctor exits 1" test "$rc" = 1
check "kvm spec: the kvm check fails naming the node" line "^fail  kvm  KVM is not usable.*node node asks for domain_type kvm"
check "kvm spec: with the fix" line "fix: set \`domain_type: qemu\` under \`defaults:\`"
check "kvm spec: apply refused, exit 2" apply_refused "domain_type: qemu"
check "kvm spec: nothing made" nothing_made
check "kvm spec: plan refused the same way" bash -c "'$bin' plan -f '$work/cluster.yaml' --connect $uri 2>&1 >/dev/null | grep -q 'domain_type: qemu'"

# a pool (defined on the host) under a 0700 directory
virsh pool-define-as vsdoc-closed dir --target "$closed/pool" >/dev/null
virsh pool-build vsdoc-closed >/dev/null
virsh pool-start vsdoc-closed >/dev/null
spec vsdoc-closed qemu
doctor
check "closed pool: doctor exits 1" test "$rc" = 1
check "closed pool: traversal fails naming the directory" \
  line "^fail  traverse vsdoc-closed  $closed (mode 0700, owner 0:0) is not searchable by libvirt-qemu"
check "closed pool: with the chmod and setfacl fix" line "fix: chmod o+x $closed (or setfacl -m u:libvirt-qemu:x $closed)"
check "closed pool: apply refused, exit 2" apply_refused "chmod o+x $closed"
check "closed pool: nothing made" nothing_made

# a declared pool whose directory apply would make under that 0700 directory
spec "$pool" qemu "pools: [ { name: vsdoc-decl, path: $closed/decl } ]"
sed -i "s|disk: { pool: $pool|disk: { pool: vsdoc-decl|" "$work/cluster.yaml"
doctor
check "declared pool: traversal fails naming the directory" line "^fail  traverse vsdoc-decl  $closed (mode 0700"
check "declared pool: apply refused, exit 2" apply_refused "chmod o+x $closed"
check "declared pool: nothing made (no pool, no directory)" nothing_made
check "declared pool: its directory was not made" test ! -e "$closed/decl"

# a range over a route of the daemon's namespace (another network's bridge)
virsh net-define <(printf '%s' "<network><name>vsdoc-taken</name><bridge name='vsdoc-tk0'/>
  <ip address='192.168.238.1' prefix='24'/></network>") >/dev/null
virsh net-start vsdoc-taken >/dev/null
spec "$pool" qemu
sed -i "s|192.168.237.0/24|192.168.238.128/25|" "$work/cluster.yaml"
doctor
check "overlapping range: doctor exits 1" test "$rc" = 1
check "overlapping range: the route is named" \
  line "^fail  routes vsdoc-net  192.168.238.128/25 overlaps the host's route 192.168.238.0/24 on vsdoc-tk0"
# the spec naming that very network: its own bridge is no clash
sed -i "s|name: vsdoc-net, mode: isolated, cidr: 192.168.238.128/25|name: vsdoc-taken, mode: isolated, cidr: 192.168.238.0/24|; s|networks: \[vsdoc-net\]|networks: [vsdoc-taken]|" "$work/cluster.yaml"
doctor
check "the network's own bridge: no clash" line "^pass  routes vsdoc-taken"

# a daemon that is not there
rc=0; "$bin" doctor --connect "qemu+unix:///system?socket=$work/no-such-socket" >"$work/doctor" 2>&1 || rc=$?
check "no daemon: doctor exits 1" test "$rc" = 1
check "no daemon: the daemon check fails" line "^fail  daemon  cannot connect"
check "no daemon: the fix is to start it" line "fix: no daemon listens there: start it"

# a user the daemon does not let in (nobody: not root, not in the libvirt
# group, no polkit here): the daemon check fails with the access fix
command -v setpriv >/dev/null || { echo "missing: setpriv (util-linux)" >&2; exit 1; }
# (copies of the binaries where nobody can run them: the checkout may not be)
open=$(mktemp -d) && chmod 755 "$open" && cp "$bin" "$bin-host" "$open/"
rc=0; (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$open/virtstrap" doctor \
  --connect "$uri") >"$work/doctor" 2>&1 || rc=$?
rm -rf "$open"
check "a user the daemon refuses: doctor exits 1" test "$rc" = 1
check "a user the daemon refuses: the daemon check fails" line "^fail  daemon  cannot connect to $uri"
check "a user the daemon refuses: the fix is the libvirt group or polkit" \
  line "fix: the daemon refuses this user: add it to the libvirt group"

# the fix works: the closed pool's parent opened, the same spec applies and starts
chmod o+x "$closed"
spec vsdoc-closed qemu
doctor
check "opened pool: traversal passes" line "^pass  traverse vsdoc-closed"
arc=0; run apply --yes >"$work/apply" 2>&1 || arc=$?
check "opened pool: apply succeeds" test "$arc" = 0
check "opened pool: the domain runs" bash -c "virsh -q -c $uri domstate vsdoc-node | grep -q running"
run destroy --yes >/dev/null 2>&1 || true
check "destroyed: nothing left" nothing_made
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
