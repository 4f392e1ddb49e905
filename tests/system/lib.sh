# Shared by the real-daemon tests and bench/apply.sh (sourced, not run):
# the binary, a scratch dir, a dir pool holding a small blank qcow2 base
# image, a check counter, and cleanup of all of it on exit.
# Set `pool` before sourcing.
bin=${VIRTSTRAP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/release/virtstrap}
uri=qemu:///system
work=$(mktemp -d)
pooldir=/var/lib/libvirt/images/$pool
passed=0
failed=0
virsh() { command virsh -q -c "$uri" "$@"; }
check() { # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
cleanup() {
  "$bin" destroy --yes -f "$work/cluster.yaml" --connect "$uri" >/dev/null 2>&1 || true
  for v in $(virsh vol-list "$pool" 2>/dev/null | awk '{print $1}'); do
    virsh vol-delete --pool "$pool" "$v" >/dev/null 2>&1 || true
  done
  virsh pool-destroy "$pool" >/dev/null 2>&1 || true
  virsh pool-undefine "$pool" >/dev/null 2>&1 || true
  rm -rf "$work" "$pooldir"
}
trap cleanup EXIT
# the host's side: the test's pool (make_pool), with a small base image (no OS: the guests
# start and sit in firmware, which is all these tests need)
make_pool() {
  virsh pool-define-as "$pool" dir --target "$pooldir" >/dev/null
  virsh pool-build "$pool" >/dev/null
  virsh pool-start "$pool" >/dev/null
}
make_pool_with_base_image() {
  make_pool
  qemu-img create -q -f qcow2 "$work/base.qcow2" 64M
  virsh vol-create-as "$pool" base.qcow2 64M --format qcow2 >/dev/null
  virsh vol-upload --pool "$pool" base.qcow2 "$work/base.qcow2"
}
