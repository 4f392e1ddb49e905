#!/usr/bin/env bash
# kill -9 of `virtstrap apply` at 10 random moments on a real libvirt
# daemon: each time the next apply converges (then a plan is empty) and
# destroy leaves no domain, volume, file or lock behind; a lock the
# killed run held is taken over by the next run, no human needed. Needs root, a running
# libvirtd (scripts/libvirtd-start) and qemu-img. Prints "N passed, N failed".
set -euo pipefail
pool=vs-kill9-images
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
make_pool_with_base_image
cat > "$work/cluster.yaml" <<YAML
name: vs-kill9
image: { pool: $pool, volume: base.qcow2 }
defaults: { vcpus: 1, memory: 256MiB, disk: { pool: $pool, size: 2GiB }, networks: [], domain_type: qemu }
nodes: [ { name: node, count: 3 } ]
YAML
run() { "$bin" "$@" -f "$work/cluster.yaml" --connect "$uri"; }
leftovers() {
  local doms vols files locks
  doms=$(virsh list --all --name | grep -c '^vs-kill9' || true)
  # the cluster lock (a defined network) is released by every run, and a
  # killed run's is taken over by the next
  locks=$(virsh net-list --all --name | grep -c '^vs-kill9' || true)
  vols=$(virsh vol-list "$pool" | awk '{print $1}' | grep -vc '^base.qcow2$' || true)
  files=$(find "$pooldir" -type f ! -name base.qcow2 | wc -l)
  if [ "$doms" = 0 ] && [ "$vols" = 0 ] && [ "$files" = 0 ] && [ "$locks" = 0 ]; then return 0; fi
  echo "left: $doms domains, $vols volumes, $files files, $locks locks:" >&2
  virsh net-list --all --name | grep '^vs-kill9' >&2 || true
  virsh list --all --name | grep '^vs-kill9' >&2 || true
  virsh vol-list "$pool" >&2 || true
  find "$pooldir" -type f >&2 || true
  return 1
}
held=0
for i in $(seq 1 10); do
  # a random moment within the first ~0.8 s of an apply (a whole apply
  # of this cluster takes about that long here)
  delay=$(python3 -c 'import random; print(f"{random.uniform(0.0, 0.8):.3f}")')
  # started directly, not through run(): $! must be virtstrap itself, not
  # a subshell whose death would leave apply running
  "$bin" apply --yes -f "$work/cluster.yaml" --connect "$uri" >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # the killed run may have held the cluster lock: the next run takes it
  # over (same machine, process gone) without a human
  if run apply --yes >/dev/null 2>"$work/err"; then converged=yes; else converged=no; cat "$work/err"; fi
  grep -q "broke the cluster lock" "$work/err" && held=$((held + 1))
  check "kill -9 after ${delay}s (#$i): the next apply converges" test "$converged" = yes
  check "kill -9 after ${delay}s (#$i): then nothing to do" grep -q "nothing to do" <<<"$(run plan)"
  run destroy --yes >/dev/null 2>"$work/err" || { echo "destroy failed:" >&2; cat "$work/err" >&2; }
  check "kill -9 after ${delay}s (#$i): destroy leaves nothing" leftovers
done
echo "$held of 10 kills left a held lock that the next apply took over"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
