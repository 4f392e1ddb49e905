#!/usr/bin/env bash
# System test on a real libvirt daemon (qemu:///system), across separate
# processes: apply (3 guests really start, type qemu), apply again (zero
# steps), change one node's memory then plan (exactly one update), destroy (no
# domain, volume or pool of ours left, nor the declared pool's directory). Needs root, a running libvirtd
# (scripts/libvirtd-start) and qemu-img. Prints "N passed, N failed".
set -euo pipefail
pool=vs-systest-images
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
make_pool_with_base_image

spec() { # spec MEMORY-OF-NODE3
  cat > "$work/cluster.yaml" <<YAML
name: vs-systest
image: { pool: $pool, volume: base.qcow2 }
defaults:
  vcpus: 1
  memory: 256MiB
  disk: { pool: $pool, size: 2GiB }
  networks: []
  domain_type: qemu
nodes:
  - name: node
    count: 2
  - name: node3
    memory: $1
    extra_disks: [ { pool: vs-systest-data, size: 1GiB } ]
pools: [ { name: vs-systest-data, path: /var/lib/libvirt/images/vs-systest-data } ]
YAML
}
spec 256MiB
out=$("$bin" apply --yes -f "$work/cluster.yaml" --connect "$uri" 2>&1) || { echo "$out"; false; }
running=$(virsh list --name | grep -c '^vs-systest-node' || true)
check "apply creates the declared pool's directory" test -d /var/lib/libvirt/images/vs-systest-data
check "apply starts 3 guests (found $running running)" test "$running" = 3
for n in 1 2 3; do
  check "node$n has its Ignition over fw_cfg" \
    grep -q "opt/com.coreos/config" <<<"$(virsh dumpxml "vs-systest-node$n")"
done
out=$("$bin" apply --yes -f "$work/cluster.yaml" --connect "$uri" 2>&1)
check "second apply does nothing" grep -q "nothing to do" <<<"$out"
spec 384MiB
out=$("$bin" plan --output json -f "$work/cluster.yaml" --connect "$uri")
steps=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["steps"]))' <<<"$out")
check "a memory change plans exactly one update (got $steps)" test "$steps" = 1
check "the reason names the memory change" grep -q "memory 256 -> 384 MiB" <<<"$out"
"$bin" destroy --yes -f "$work/cluster.yaml" --connect "$uri" >/dev/null
left=$(virsh list --all --name | grep -c '^vs-systest' || true)
check "destroy leaves no domain ($left left)" test "$left" = 0
vols=$(virsh vol-list "$pool" | awk '{print $1}' | grep -vc '^base.qcow2$' || true)
check "destroy leaves no volume but the base image ($vols left)" test "$vols" = 0
check "destroy removes the declared pool" \
  test -z "$(virsh pool-list --all --name | grep '^vs-systest-data$' || true)"
check "destroy removes the declared pool's directory" test ! -e /var/lib/libvirt/images/vs-systest-data
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
