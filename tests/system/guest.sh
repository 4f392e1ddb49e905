#!/usr/bin/env bash
# System test of the demo guest (scripts/demo-guest), with no libvirt: build it
# (and check a second build is reused), boot it with qemu-system-x86_64 (TCG)
# inside a network namespace this test creates (a bridge, two taps, dnsmasq
# for DHCP: nothing of it in the root namespace), the Ignition config in
# fw_cfg, then check over SSH what Ignition wrote: users and keys, hostname,
# a file's content/mode/owner, a directory, a symlink. Prints the seconds from
# QEMU's start to "virtstrap-guest: up" and to SSH answering. Then configs
# Ignition refuses (invalid JSON, spec 3.4.0: "FAILED at fetch-offline"; a
# file owned by a user that does not exist: "FAILED at files") must say so on
# the console, with the guest still up. Last, when a libvirt
# daemon answers on qemu:///system, the same guest as a transient libvirt
# domain with no NIC (nothing networked in the root namespace): direct kernel
# boot, the config in <sysinfo type='fwcfg'>, up, and `virsh shutdown` works.
# Needs root, qemu-system-x86, dnsmasq-base, iproute2 (openssh-client is
# installed when missing). Prints "N passed, N failed"; exits non-zero on a
# failure. Env: KEEP=1 keeps the work dir (console logs) for a look.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "guest.sh: needs root" >&2; exit 1; }
for c in qemu-system-x86_64 dnsmasq ip; do
  command -v $c >/dev/null || { echo "guest.sh: missing $c" >&2; exit 1; }
done
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-client >&2

passed=0
failed=0
check() { # check NAME COMMAND...
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

work=$(mktemp -d)
ns=vsguest-$$
dom=vsguest-$$
pids=()
cleanup() {
  local p
  virsh -q -c qemu:///system destroy "$dom" > /dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so EXIT runs on a signal too
nsx() { ip netns exec "$ns" "$@"; }

# --- build, then reuse ---------------------------------------------------------------
guest=$work/guest
t=$(now)
"$repo/scripts/demo-guest" "$guest" 2> "$work/build.log" || { cat "$work/build.log"; exit 1; }
build_s=$(since "$t")
echo "time: demo-guest build ${build_s} s"
check "the build makes vmlinuz and initrd.img" test -s "$guest/vmlinuz" -a -s "$guest/initrd.img"
check "the build takes under 120 s (${build_s} s)" lt "$build_s" 120
sum1=$(cat "$guest/vmlinuz" "$guest/initrd.img" | sha256sum)
t=$(now)
"$repo/scripts/demo-guest" "$guest" 2> "$work/rebuild.log"
rebuild_s=$(since "$t")
check "a second build with the same inputs is reused (${rebuild_s} s)" grep -q "up to date" "$work/rebuild.log"
check "... and leaves the files as they were" test "$(cat "$guest/vmlinuz" "$guest/initrd.img" | sha256sum)" = "$sum1"

# --- the namespace: bridge, two taps, dnsmasq ---------------------------------------
ip netns add "$ns"
nsx ip link set lo up
nsx ip link add vsbr0 type bridge
nsx ip addr add 10.77.0.1/24 dev vsbr0
nsx ip link set vsbr0 up
for i in 0 1; do
  nsx ip tuntap add dev vstap$i mode tap
  nsx ip link set vstap$i master vsbr0 up
done
# (ip netns exec execs in place: $! is dnsmasq's, and QEMU's below)
ip netns exec "$ns" dnsmasq --conf-file=/dev/null --keep-in-foreground --user=root --port=0 \
  --bind-interfaces --interface=vsbr0 --except-interface=lo \
  --dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,1h --dhcp-authoritative \
  --dhcp-leasefile="$work/leases" --log-dhcp --log-facility="$work/dnsmasq.log" &
pids+=($!)

# --- the config ---------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C vsguest-test -f "$work/key"
key=$(cat "$work/key.pub")
cat > "$work/good.ign" << EOF
{
  "ignition": { "version": "3.3.0" },
  "passwd": { "users": [
    { "name": "core", "sshAuthorizedKeys": [ "$key" ] },
    { "name": "alice", "groups": [ "wheel" ], "sshAuthorizedKeys": [ "$key" ] }
  ] },
  "storage": {
    "files": [
      { "path": "/etc/hostname", "mode": 420, "overwrite": true,
        "contents": { "source": "data:,vsguest-node1%0A" } },
      { "path": "/home/core/hello.txt", "mode": 416,
        "user": { "name": "core" }, "group": { "name": "core" },
        "contents": { "source": "data:,hello%20from%20ignition%0A" } }
    ],
    "directories": [ { "path": "/var/lib/demo", "mode": 488, "user": { "name": "core" } } ],
    "links": [ { "path": "/home/core/hello-link", "target": "/home/core/hello.txt" } ]
  },
  "systemd": { "units": [ { "name": "demo.service", "enabled": true,
    "contents": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n" } ] }
}
EOF
if command -v ignition-validate >/dev/null; then
  check "the test's config is valid for Ignition 2.14" ignition-validate "$work/good.ign"
fi

# boot NAME IGN NICS: QEMU in the namespace, console in $work/NAME.console
boot() {
  local name=$1 ign=$2 nics=$3 i args=()
  for ((i = 0; i < nics; i++)); do
    args+=(-netdev "tap,id=n$i,ifname=vstap$i,script=no,downscript=no"
      -device "virtio-net-pci,netdev=n$i,mac=52:54:00:77:00:1$i")
  done
  : > "$work/$name.console"
  ip netns exec "$ns" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nodefaults -display none -monitor none \
    -serial "file:$work/$name.console" -no-reboot \
    -kernel "$guest/vmlinuz" -initrd "$guest/initrd.img" -append "console=ttyS0" \
    -fw_cfg "name=opt/com.coreos/config,file=$ign" \
    -device virtio-rng-pci "${args[@]}" 2> "$work/$name.qemu.log" &
  qemu=$!
  pids+=("$qemu")
}
stop() { kill "$qemu" 2>/dev/null || true; wait "$qemu" 2>/dev/null || true; }
sshg() { # sshg USER IP COMMAND
  local user=$1 ip=$2
  shift 2
  nsx ssh -F /dev/null -i "$work/key" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -o ConnectTimeout=3 "$user@$ip" "$@"
}
on_console() { grep -qF "virtstrap-guest: $2" "$work/$1.console"; }

# --- the good guest ---------------------------------------------------------------------
t0=$(now)
boot good "$work/good.ign" 2
up_s= ssh_s= ip=
while lt "$(since "$t0")" 90; do
  [ -n "$up_s" ] || ! on_console good up || up_s=$(since "$t0")
  [ -n "$ip" ] || ip=$(sed -n 's/^virtstrap-guest: network eth0 \([0-9.]*\).*/\1/p' "$work/good.console" | head -n 1)
  if [ -n "$ip" ] && [ -z "$ssh_s" ] && sshg core "$ip" true 2> /dev/null; then ssh_s=$(since "$t0"); fi
  [ -z "$up_s" ] || [ -z "$ssh_s" ] || break
  grep -q "virtstrap-guest: FAILED" "$work/good.console" && break
  sleep 0.2
done
echo "time: QEMU start to 'virtstrap-guest: up' ${up_s:-never} s, to SSH answering ${ssh_s:-never} s"
grep -F "virtstrap-guest: times" "$work/good.console" || true
check "the guest reports up" test -n "$up_s"
check "SSH answers as core within 60 s" lt "${ssh_s:-999}" 60
for line in "stage init ok" "stage modules ok" "stage sysroot ok" "stage fetch-offline ok" \
  "stage files ok" "stage ssh-keys ok: core(1) alice(1)" "stage switch-root ok" \
  "stage hostname ok: vsguest-node1" "network eth0 10.77.0." "network eth1 10.77.0." \
  "sshd up" "units not run (no systemd): demo.service(enabled)"; do
  check "console: virtstrap-guest: $line" on_console good "$line"
done
check "console: no FAILED, no panic" test -z "$(grep -E 'virtstrap-guest: FAILED|Kernel panic' "$work/good.console")"
if [ -n "$ssh_s" ]; then
  g() { sshg core "$ip" "$@" 2>&1 || true; }
  check "whoami is core" test "$(g whoami)" = core
  check "hostname from /etc/hostname" test "$(g hostname)" = vsguest-node1
  check "the file's content" test "$(g cat /home/core/hello.txt)" = "hello from ignition"
  check "the file's mode and owner: 640 core core" test "$(g "stat -c '%a %U %G' /home/core/hello.txt")" = "640 core core"
  check "the directory: 750, owned by core" test "$(g "stat -c '%a %U %F' /var/lib/demo")" = "750 core directory"
  check "the symlink" test "$(g readlink /home/core/hello-link)" = /home/core/hello.txt
  check "authorized_keys: 600 core, the test's key" \
    test "$(g 'stat -c "%a %U" .ssh/authorized_keys; cut -d" " -f1-2 .ssh/authorized_keys')" = "600 core
${key% *}"
  check "the unit was written, not run" test "$(g cat /etc/systemd/system-preset/20-ignition.preset)" = "enable demo.service"
  check "Ignition's logs are kept in /var/log/virtstrap-guest" \
    test "$(g tail -n 1 /var/log/virtstrap-guest/ignition-files.log)" = "INFO     : Ignition finished successfully"
  check "alice, made by useradd with her key, in wheel" \
    test "$(sshg alice "$ip" 'whoami; id -Gn' 2>&1)" = "alice
alice wheel"
  check "a shell with a tty (dropbear, devpts)" test "$(nsx ssh -tt -F /dev/null -i "$work/key" \
    -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR "core@$ip" 'tty' 2>&1 | tr -d '\r')" != "not a tty"
  check "eth1 has its own lease" test -n "$(g ip -4 addr show eth1 | grep 'inet 10.77.0.')"
fi
check "the guest sent its hostname with DHCP (dnsmasq's lease table)" grep -q " vsguest-node1 " "$work/leases"
stop

# --- configs Ignition refuses -------------------------------------------------------------------------
refused() { # refused NAME STAGE CONTENT WHAT-THE-CONSOLE-SAYS
  local stage=$2
  printf '%s' "$3" > "$work/$1.ign"
  local t
  t=$(now)
  boot "$1" "$work/$1.ign" 0
  until on_console "$1" "FAILED" || ! lt "$(since "$t")" 60; do sleep 0.2; done
  sleep 3 # still up a moment later, no reboot, no panic
  check "$1: console says FAILED at $stage ($(since "$t") s)" on_console "$1" "FAILED at $stage: "
  check "$1: ... and why: $4" grep -qF "$4" "$work/$1.console"
  check "$1: ... and shows Ignition's log tail" on_console "$1" "| CRITICAL"
  check "$1: ... and stays up (no reboot, no panic)" \
    test -z "$(grep -E 'Kernel panic|reboot: ' "$work/$1.console")" -a -d "/proc/$qemu"
  check "$1: ... and never reports up" test -z "$(grep -F 'virtstrap-guest: up' "$work/$1.console")"
  stop
}
refused badjson fetch-offline '{"ignition": {"version": "3.3.0"' "unexpected end of JSON input"
refused spec340 fetch-offline '{"ignition": {"version": "3.4.0"}}' "unsupported config version"
refused ghost files '{"ignition": {"version": "3.3.0"}, "storage": {"files": [
  {"path": "/etc/x", "user": {"name": "ghost"}, "contents": {"source": "data:,x"}}]}}' 'no such user "ghost"'


# --- under libvirt, no NIC ----------------------------------------------------------------------
if virsh -q -c qemu:///system version > /dev/null 2>&1; then
  chmod 711 "$work" # QEMU runs as libvirt-qemu: it must reach $work/guest
  cat > "$work/domain.xml" << EOF
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.img</initrd>
    <cmdline>console=ttyS0</cmdline>
  </os>
  <features><acpi/></features>
  <sysinfo type='fwcfg'><entry name='opt/com.coreos/config' file='$work/good.ign'/></sysinfo>
  <devices>
    <serial type='file'><source path='$work/libvirt.console'/><target port='0'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
EOF
  chmod 600 "$work/good.ign"
  t=$(now)
  virsh -q -c qemu:///system create "$work/domain.xml" > /dev/null
  until on_console libvirt "up" || on_console libvirt "FAILED" || ! lt "$(since "$t")" 60; do sleep 0.2; done
  lv_up=$(since "$t")
  echo "time: virsh create to 'virtstrap-guest: up' $lv_up s (no NIC)"
  check "libvirt: up, from the fw_cfg sysinfo ($lv_up s)" on_console libvirt "up"
  check "libvirt: the files stage ran" on_console libvirt "stage files ok"
  check "libvirt: no NIC, said so" on_console libvirt "network: no NIC"
  virsh -q -c qemu:///system shutdown "$dom" > /dev/null
  t=$(now)
  while virsh -q -c qemu:///system domstate "$dom" > /dev/null 2>&1 && lt "$(since "$t")" 30; do sleep 0.2; done
  check "libvirt: virsh shutdown powers it off (ACPI, $(since "$t") s)" \
    test -z "$(virsh -q -c qemu:///system list --name | grep -x "$dom")"
else
  echo "skip: no libvirt daemon on qemu:///system, the libvirt case did not run"
fi

if [ "$failed" != 0 ]; then
  for f in "$work"/*.console; do
    echo "== $f"
    grep -F "virtstrap-guest:" "$f" || tail -n 20 "$f"
  done
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
