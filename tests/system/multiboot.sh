#!/usr/bin/env bash
# Nodes that really boot on two libvirt hosts (scripts/libvirt-hosts):
# one demo guest (scripts/demo-guest) pinned to each host, on a NAT
# network the spec declares (so on both hosts, one address plan);
# `apply --wait` watches both hosts' nodes come up (running, leased, SSH),
# writes one inventory naming each node's address and libvirt host;
# virtstrap ssh and Ansible reach both; destroy leaves both hosts clean.
# The test hosts' guests live in the hosts' network namespaces: this
# machine reaches each guest's reserved address through a /32 route to
# its host's veth address, and each host forwards to its bridge (as the
# bridge's own address: the demo guest takes no default route). Needs
# root, ssh, ansible-core. Prints "N passed, N failed".
set -euo pipefail
pool=vs-mb-none # lib.sh's own pool is not used here
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
hosts=$root/scripts/libvirt-hosts
u1=qemu+tcp://10.231.1.2/system
u2=qemu+tcp://10.231.2.2/system
routes=()
teardown() {
  "$bin" destroy --yes -f "$work/cluster.yaml" >/dev/null 2>&1 || true
  for r in "${routes[@]}"; do ip route del "$r" 2>/dev/null || true; done
  bash "$hosts" stop 2 >/dev/null 2>&1 || true
  cleanup
}
trap teardown EXIT
# outside /var/lib/libvirt, which each test host has its own of
guest=/var/lib/virtstrap-test/multiboot-guest
bash "$root/scripts/demo-guest" "$guest" >/dev/null 2>&1
bash "$hosts" stop 2 >/dev/null 2>&1 || true
bash "$hosts" start 2 >/dev/null
chmod 755 "$work"
ssh-keygen -q -t ed25519 -N '' -C multiboot-test -f "$work/id"
export ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PRIVATE_KEY_FILE=$work/id
export XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache

cat > "$work/cluster.yaml" <<YAML
name: vs-mb
ssh_authorized_keys: [ { file: id.pub } ]
hosts: { box1: $u1, box2: $u2 }
networks: [ { name: vs-mb-net, mode: nat, cidr: 10.78.0.0/24 } ]
defaults:
  vcpus: 1
  memory: 256MiB
  disk: { pool: default, size: 256MiB }
  domain_type: qemu
  networks: [ vs-mb-net ]
  boot: { kernel: $guest/vmlinuz, initrd: $guest/initrd.img, cmdline: console=ttyS0 }
nodes:
  - { name: cp1, role: control-plane, host: box1 }
  - { name: w1, host: box2 }
YAML
planned() { # planned NODE: its reserved address
  "$bin" inventory --planned --format json -f "$work/cluster.yaml" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["_meta"]["hostvars"][sys.argv[1]]["ip"])' "$1"
}
ip1=$(planned cp1); ip2=$(planned w1)
check "one address plan over both hosts ($ip1, $ip2)" test "$ip1" != "$ip2"
# this machine -> each guest: a route to its host; the host forwards to
# its bridge (libvirt's NAT rules only let replies in: let SSH in first)
for pair in "$ip1/32 via 10.231.1.2" "$ip2/32 via 10.231.2.2"; do
  read -r dst _ gw <<<"$pair"
  ip route add "$dst" via "$gw"
  routes+=("$dst")
done

# apply makes the networks; libvirt's rules then put their jumps first
out=$work/apply.out
start=$(date +%s.%N)
"$bin" apply --yes -f "$work/cluster.yaml" >"$out" 2>&1 || { cat "$out"; false; }
# (and the guests have no route back: they see the bridge as the sender)
for i in 1 2; do
  ip netns exec "vshost$i" iptables -I LIBVIRT_FWI 1 -d 10.78.0.0/24 -j ACCEPT
  ip netns exec "vshost$i" iptables -t nat -I POSTROUTING 1 -d 10.78.0.0/24 -j MASQUERADE
done
rc=0; "$bin" apply --yes --wait --timeout 4m -f "$work/cluster.yaml" >"$out" 2>&1 || rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
check "apply --wait over two hosts: both nodes up (exit $rc, ${secs%.*} s)" test "$rc" = 0
[ "$rc" = 0 ] || tail -40 "$out" >&2
check "it reports each node up" test "$(grep -cE '^(cp1|w1): up' "$out")" = 2
inventory=$work/vs-mb.hosts.yaml
check "it wrote the inventory" grep -q "inventory: wrote $inventory" "$out"
vars=$(ansible-inventory -i "$inventory" --list)
hostvar() { python3 -c 'import json,sys; print(json.load(sys.stdin)["_meta"]["hostvars"][sys.argv[1]][sys.argv[2]])' "$1" "$2" <<<"$vars"; }
check "the inventory has cp1 at $ip1 on box1" test "$(hostvar cp1 ansible_host)/$(hostvar cp1 virtstrap_libvirt_host)" = "$ip1/box1"
check "the inventory has w1 at $ip2 on box2" test "$(hostvar w1 ansible_host)/$(hostvar w1 virtstrap_libvirt_host)" = "$ip2/box2"
for n in cp1 w1; do
  got=$("$bin" ssh -f "$work/cluster.yaml" -i "$work/id" "$n" -- cat /etc/hostname 2>/dev/null || true)
  check "virtstrap ssh $n reaches it on its host (got: $got)" test "$got" = "$n"
done
raw=$(ansible all -i "$inventory" -m raw -a 'cat /etc/hostname' 2>&1 || true)
check "Ansible reaches both through the inventory" \
  test "$(grep -cE '^(cp1|w1) \| CHANGED' <<<"$raw")" = 2
st=$("$bin" status -f "$work/cluster.yaml")
check "status: both running, each found at its reserved address" \
  test "$(grep -cE "running .*($ip1 .*$ip1|$ip2 .*$ip2) \((lease|arp)\)" <<<"$st")" = 2
[ -n "${KEEP:-}" ] && { echo "kept: $work"; trap - EXIT; exit 1; }
"$bin" destroy --yes -f "$work/cluster.yaml" >/dev/null 2>&1
left=$(virsh -c "$u1" list --all --name | grep -c '^vs-mb-' || true)$(virsh -c "$u2" list --all --name | grep -c '^vs-mb-' || true)
check "destroy leaves no domain on either host ($left)" test "$left" = 00
nets=$(virsh -c "$u1" net-list --all --name | grep -c vs-mb || true)$(virsh -c "$u2" net-list --all --name | grep -c vs-mb || true)
check "nor the network ($nets)" test "$nets" = 00
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
