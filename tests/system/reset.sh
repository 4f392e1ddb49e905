#!/usr/bin/env bash
# `virtstrap reset` on a real libvirt daemon with the demo guest (a cloud
# kernel and Debian's Ignition 2.14, built by scripts/demo-guest): a node
# with a root overlay on a base image and an extra data disk comes up with
# `apply --wait`; over SSH (as root, whose key Ignition installs) the test
# leaves marks: a file in the guest's root (a tmpfs there), bytes written
# raw onto the root disk (/dev/vda) and onto the data disk (/dev/vdb), a
# line on the serial console. `reset --yes --wait` must then give a new
# root volume (made again after the reset began, an overlay backed by the
# base image and holding nothing of its own), an Ignition volume made and
# uploaded again, a domain started again (a new domain id), a console log
# with a new Ignition run, the marks gone but the data disk's, and a host
# key `virtstrap ssh` accepts again; `reset --data` clears the data disk
# too; destroy leaves nothing. Prints the reset's wall time (until SSH
# answers) and "N passed, N failed".
#
# Clients run inside the daemon's network namespace (scripts/libvirtd-start
# makes one, `virtstrap`, where there is no systemd). Needs root, ssh,
# qemu-img, python3.
set -euo pipefail
pool=vsreset-images
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
ns=$(ip netns identify "$(cat /run/libvirtd.pid 2>/dev/null)" 2>/dev/null || true)
for tool in ssh ssh-keygen qemu-img python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
in_ns() { if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }
guest=/var/lib/libvirt/boot/vsreset-guest
bash "$(dirname "$0")/../../scripts/demo-guest" "$guest" >/dev/null 2>&1
make_pool_with_base_image
ssh-keygen -q -t ed25519 -N '' -C reset-test -f "$work/id"
export XDG_STATE_HOME=$work/state
net=vsreset
cat > "$work/root.bu" <<BU
variant: fcos
version: 1.4.0
passwd:
  users:
    - name: root
      ssh_authorized_keys: [ "$(cat "$work/id.pub")" ]
storage:
  files:
    - path: /etc/vsreset-ignited
      contents: { inline: "written by Ignition" }
BU
cat > "$work/cluster.yaml" <<YAML
name: vsreset
image: { pool: $pool, volume: base.qcow2 }
ssh_authorized_keys: [ { file: id.pub } ]
butane: [ root.bu ]
defaults:
  vcpus: 1
  memory: 256MiB
  disk: { pool: $pool, size: 256MiB }
  domain_type: qemu
  networks: [ $net ]
  boot: { kernel: $guest/vmlinuz, initrd: $guest/initrd.img, cmdline: console=ttyS0 }
nodes:
  - name: n1
    extra_disks: [ { pool: $pool, size: 64MiB } ]
networks: [ { name: $net, mode: isolated, cidr: 10.78.41.0/24 } ]
YAML
run() { in_ns "$bin" "$@" -f "$work/cluster.yaml" --connect "$uri"; }
ssh_root() { # ssh_root CMD...
  in_ns ssh -i "$work/id" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 "root@$ip" "$@"
}
root_vol=$pooldir/vsreset-n1-root.qcow2
data_vol=$pooldir/vsreset-n1-data1.qcow2
ign_vol=$pooldir/vsreset-n1.ign
console=/var/log/libvirt/qemu/vsreset-n1-console.log
born() { stat -c %W "$1"; } # birth time (s), 0 where the filesystem keeps none
ino() { stat -c %i "$1"; }
read_disk() { ssh_root "dd if=$1 bs=1 count=${2:-24} 2>/dev/null" | tr -d '\0'; } # NULs dropped

out=$work/out
rc=0; run apply --yes --wait --timeout 4m >"$out" 2>&1 || rc=$?
check "apply --wait: the node is up (exit 0)" test "$rc" = 0
[ "$rc" = 0 ] || { cat "$out" >&2; echo "$passed passed, $failed failed"; exit 1; }
ip=$(run status --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"][0]["found"]["ip"])')
check "root logs in with the key Ignition gave it" test "$(ssh_root id -u)" = 0
check "the guest has its root disk as /dev/vda and its data disk as /dev/vdb" \
  ssh_root 'test -b /dev/vda && test -b /dev/vdb'
in_ns "$bin" ssh -f "$work/cluster.yaml" --connect "$uri" -i "$work/id" n1 -- true >/dev/null 2>&1
check "virtstrap ssh recorded the node's host key" test -s "$XDG_STATE_HOME/virtstrap/vsreset/known_hosts"
# the marks
# (conv=fsync: a flush, so QEMU writes the qcow2 metadata out where
# qemu-img on the host reads it)
ssh_root 'echo mark > /vsreset-root-mark && printf VSRESET-ROOT-DISK-MARK | dd of=/dev/vda conv=notrunc,fsync 2>/dev/null &&
  printf VSRESET-DATA-DISK-MARK | dd of=/dev/vdb conv=notrunc,fsync 2>/dev/null &&
  echo VSRESET-CONSOLE-MARK > /dev/console'
check "the marks are there before the reset" test "$(ssh_root 'cat /vsreset-root-mark')$(read_disk /dev/vda 22)$(read_disk /dev/vdb 22)" = \
  "markVSRESET-ROOT-DISK-MARKVSRESET-DATA-DISK-MARK"
sleep 1
check "the console log has the console mark" grep -q VSRESET-CONSOLE-MARK "$console"
check "the root overlay differs from the base image before the reset" \
  bash -c '! qemu-img compare -U -q "$1" "$2"' _ "$root_vol" "$pooldir/base.qcow2"
root_ino=$(ino "$root_vol"); ign_ino=$(ino "$ign_vol"); domid=$(virsh domid vsreset-n1)

# ---- reset --------------------------------------------------------------------
sleep 1 # a birth time after this second is the reset's
t0=$(date +%s)
start=$(date +%s.%N)
rc=0; run reset --yes --wait --timeout 4m n1 >"$out" 2>&1 || rc=$?
until ssh_root true 2>/dev/null; do sleep 0.2; done
reset_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
check "reset --yes --wait: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || cat "$out" >&2
check "reset reports the node" grep -q "reset n1: fresh root disk, Ignition uploaded again, started (data disks kept)" "$out"
check "reset --wait saw the node up" grep -q "^n1: up" "$out"
# its old lease still holds while it boots: up means SSH answered
check "...with SSH answering (not taken as unreachable while it booted)" \
  bash -c '! grep -q "SSH not checked" "$1"' _ "$out"
steps_s=$(grep -o 'reset: [0-9]* steps in [0-9.]* s' "$out" || true)
new_root() { [ "$(born "$root_vol")" -ge "$t0" ] || [ "$(ino "$root_vol")" != "$root_ino" ]; }
check "the root volume is new (made after the reset began)" new_root
check "the new root volume is an overlay on the base image" \
  grep -q "<path>$pooldir/base.qcow2</path>" <<<"$(virsh vol-dumpxml --pool "$pool" vsreset-n1-root.qcow2)"
check "the new root overlay holds nothing of its own (it reads as the base)" \
  qemu-img compare -U -q "$root_vol" "$pooldir/base.qcow2"
new_ign() { [ "$(born "$ign_vol")" -ge "$t0" ] || [ "$(ino "$ign_vol")" != "$ign_ino" ]; }
check "the Ignition volume was made again" new_ign
check "the Ignition volume holds the config" python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["ignition"]["version"] == "3.3.0", c["ignition"]
assert any(f["path"] == "/etc/vsreset-ignited" for f in c["storage"]["files"])
' "$ign_vol"
check "the domain was started again (a new domain id)" test "$(virsh domid vsreset-n1)" != "$domid"
after_mark() { # the console log from the mark on, or all of it if it was restarted
  if grep -q VSRESET-CONSOLE-MARK "$console"; then sed -n '/VSRESET-CONSOLE-MARK/,$p' "$console"; else cat "$console"; fi
}
check "the console log shows a new Ignition run" grep -q "virtstrap-guest: stage files ok" <<<"$(after_mark)"
check "the file Ignition writes is there again" test "$(ssh_root cat /etc/vsreset-ignited)" = "written by Ignition"
check "the mark in the guest's root is gone" ssh_root 'test ! -e /vsreset-root-mark'
check "the mark on the root disk is gone" test "$(read_disk /dev/vda 22)" != VSRESET-ROOT-DISK-MARK
check "the mark on the data disk survives" test "$(read_disk /dev/vdb 22)" = VSRESET-DATA-DISK-MARK
check "virtstrap ssh accepts the node's new host key" \
  in_ns "$bin" ssh -f "$work/cluster.yaml" --connect "$uri" -i "$work/id" n1 -- true
check "plan after the reset: nothing to do" grep -q "nothing to do" <<<"$(run plan)"

# ---- reset --data -------------------------------------------------------------
rc=0; run reset --yes --data --wait --timeout 4m n1 >"$out" 2>&1 || rc=$?
until ssh_root true 2>/dev/null; do sleep 0.2; done
check "reset --data --wait: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || cat "$out" >&2
check "reset --data: the data disk is empty again" \
  test "$(read_disk /dev/vdb 22)" = ""
check "reset --data: the data volume is a blank qcow2" qemu-img compare -U -q "$data_vol" "$pooldir/base.qcow2"

# ---- kill -9 in the middle, finished by apply, then by reset --------------------
# Killed as soon as step K of 9 is reported done (3: the root volume is
# deleted; 5: the root is made again and the Ignition volume deleted), so
# at step K or a little later (steps take milliseconds). A cut reset has
# marked the domain Ignition-pending before deleting any volume, so the
# next run finishes it; the stale lock is taken over.
for round in "3 apply" "5 reset"; do
  set -- $round
  ssh_root 'printf VSRESET-ROOT-DISK-MARK | dd of=/dev/vda conv=notrunc,fsync 2>/dev/null'
  check "a mark on the root disk before the cut" \
    bash -c '! qemu-img compare -U -q "$1" "$2"' _ "$root_vol" "$pooldir/base.qcow2"
  # not through in_ns: $! must be virtstrap itself (ip netns exec execs it,
  # and virtstrap execs virtstrap-host: one process all along)
  cut=("$bin" reset --yes n1 -f "$work/cluster.yaml" --connect "$uri")
  : >"$out.kill"
  if [ -n "$ns" ]; then ip netns exec "$ns" "${cut[@]}" >"$out.kill" 2>&1 & else "${cut[@]}" >"$out.kill" 2>&1 & fi
  pid=$!
  for _ in $(seq 3000); do grep -q "^\[$1/" "$out.kill" && break; sleep 0.01; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # libvirt still carries out the call the killed client had sent: a run
  # planned before it lands would not see it
  sleep 2
  at=$(grep -o '^\[[0-9]*/[0-9]*\] .*' "$out.kill" | tail -n 1 || true)
  n=$(sed -n 's|^\[\([0-9]*\)/9\].*|\1|p' <<<"$at")
  check "reset killed mid-way, after step $1 (at: ${at:-none})" \
    bash -c '[ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -lt 9 ]' _ "$n" "$1"
  rc=0
  if [ "$2" = apply ]; then
    run apply --yes --wait --timeout 4m >"$out" 2>&1 || rc=$?
  else
    run reset --yes --wait --timeout 4m n1 >"$out" 2>&1 || rc=$?
  fi
  check "...then $2 --wait finishes it (exit 0)" test "$rc" = 0
  check "...having seen SSH answer" bash -c '! grep -q "SSH not checked" "$1"' _ "$out"
  check "...the node answers SSH, its Ignition file there" \
    test "$(ssh_root cat /etc/vsreset-ignited 2>&1)" = "written by Ignition"
  check "...its root volume is a fresh overlay on the base" \
    qemu-img compare -U -q "$root_vol" "$pooldir/base.qcow2"
  check "...and plan has nothing left to do" grep -q "nothing to do" <<<"$(run plan)"
  [ "$failed" = 0 ] || { cat "$out.kill" "$out" >&2; virsh domstate vsreset-n1 >&2 || true; }
done

# ---- refusals -----------------------------------------------------------------
rc=0; run reset --yes n9 >"$out" 2>&1 || rc=$?
check "a node the spec lacks: exit 2, named" bash -c '[ "$1" = 2 ] && grep -q "node n9 is not in the spec" "$2"' _ "$rc" "$out"
rc=0; run reset n1 </dev/null >"$out" 2>&1 || rc=$?
check "no terminal, no --yes: exit 2, asks for --yes" bash -c '[ "$1" = 2 ] && grep -q "pass --yes" "$2"' _ "$rc" "$out"
check "...and the node was left running" test "$(virsh domstate vsreset-n1)" = running

run destroy --yes >/dev/null 2>&1 || true
leftovers() {
  local doms vols files nets
  doms=$(virsh list --all --name | grep -c "^vsreset-" || true)
  vols=$(virsh vol-list "$pool" | awk '{print $1}' | grep -c "^vsreset-" || true)
  files=$(find "$pooldir" -type f -name "vsreset-*" | wc -l)
  nets=$(virsh net-list --all --name | grep -cx "$net" || true)
  [ "$doms$vols$files$nets" = 0000 ] || { echo "left: $doms domains, $vols volumes, $files files, $nets networks" >&2; return 1; }
}
check "destroy leaves no domain, volume, file or network of the cluster" leftovers
echo "reset wall time (reset --yes --wait until SSH answers): ${reset_s} s (${steps_s:-no step line})"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
