#!/usr/bin/env bash
# Nodes that really boot, on a real libvirt daemon: 3 demo guests (Debian's
# cloud kernel and Ignition 2.14, built by scripts/demo-guest) get their
# per-node Ignition over fw_cfg. `apply --wait` must bring them up; then,
# over SSH with the spec's key, every file, directory, link and unit the
# Butane declares is there with its mode, owner and content, /etc/hostname
# is the node's name, each leased address is the reserved one and the one
# the written inventory names; real `ansible-inventory` lists the nodes in
# kubespray's groups and `ansible -m raw` reaches each through it. The same
# on a network the test made as a stranger's, holding a host entry of its
# own: ours are added and removed, the stranger's stays. A node whose
# Ignition fails makes `apply --wait` exit 1 naming it, its stage and its
# console. destroy leaves no domain, volume, network, host entry or file.
#
# Runs every client inside the daemon's network namespace (scripts/
# libvirtd-start makes one, `virtstrap`, where there is no systemd):
# guests are reached only there. Needs root, ssh, ansible-core. Prints "N passed, N failed".
set -euo pipefail
pool=vs-boot-images
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# the daemon's own network namespace (scripts/libvirtd-start makes one on
# hosts without systemd); none: a system daemon, in the host's
ns=$(ip netns identify "$(cat /run/libvirtd.pid 2>/dev/null)" 2>/dev/null || true)
for tool in ssh ssh-keygen ansible ansible-inventory python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
in_ns() { if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }
guest=/var/lib/libvirt/boot/virtstrap-test-guest
bash "$(dirname "$0")/../../scripts/demo-guest" "$guest" >/dev/null 2>&1
make_pool
ssh-keygen -q -t ed25519 -N '' -C boot-test -f "$work/id"
export ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PRIVATE_KEY_FILE=$work/id
export XDG_STATE_HOME=$work/state
ssh_node() { # ssh_node IP CMD...
  local ip=$1; shift
  in_ns ssh -i "$work/id" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 "core@$ip" "$@"
}

cat > "$work/common.bu" <<'BU'
variant: fcos
version: 1.4.0
storage:
  directories:
    - path: /etc/demo/conf.d
      mode: 0750
      user: { name: core }
      group: { name: core }
  files:
    - path: /etc/demo/app.conf
      mode: 0640
      user: { name: core }
      group: { name: core }
      contents:
        inline: |
          answer = 42
    - path: /usr/local/bin/hello
      mode: 0755
      contents:
        inline: |
          #!/bin/sh
          echo hello from $(hostname)
  links:
    - path: /etc/demo/current
      target: /etc/demo/app.conf
systemd:
  units:
    - name: demo.service
      enabled: true
      contents: |
        [Unit]
        Description=demo unit
        [Service]
        ExecStart=/usr/local/bin/hello
        [Install]
        WantedBy=multi-user.target
BU
spec() { # spec NAME NETWORK-LINES NODES...
  cat > "$work/$1.yaml" <<YAML
name: $1
ssh_authorized_keys: [ { file: id.pub } ]
butane: [ common.bu ]
defaults:
  vcpus: 1
  memory: 256MiB
  disk: { pool: $pool, size: 256MiB }
  domain_type: qemu
  boot: { kernel: $guest/vmlinuz, initrd: $guest/initrd.img, cmdline: console=ttyS0 }
$2
YAML
}
run() { local s=$1; shift; in_ns "$bin" "$@" -f "$work/$s.yaml" --connect "$uri"; }
leftovers() { # leftovers CLUSTER NETWORK: nothing of the cluster is left
  local doms vols files nets
  doms=$(virsh list --all --name | grep -c "^$1-" || true)
  vols=$(virsh vol-list "$pool" | grep -c "$1-" || true)
  files=$(find "$pooldir" -type f -name "$1-*" | wc -l)
  nets=$(virsh net-list --all --name | grep -cx "$2" || true)
  [ "$doms$vols$files$nets" = 0000 ] || { echo "left: $doms domains, $vols volumes, $files files, $nets networks" >&2; return 1; }
}

# ---- 1. three nodes on a network the spec declares --------------------------
spec vs-boot "  networks: [ vsboot ]
nodes:
  - name: cp1
    role: control-plane
  - name: worker
    count: 2
networks: [ { name: vsboot, mode: isolated, cidr: 10.77.1.0/24 } ]"
out=$work/apply.out
rc=0; run vs-boot apply --yes --wait --timeout 4m >"$out" 2>&1 || rc=$?
check "apply --wait: 3 nodes up (exit 0)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$out" >&2
inventory=$work/vs-boot.hosts.yaml
check "apply --wait says where it wrote the inventory" grep -q "inventory: wrote $inventory" "$out"
check "the inventory is a file" test -s "$inventory"
status=$(run vs-boot status --output json)
for node in cp1 worker1 worker2; do
  reserved=$(python3 -c 'import json,sys; n=[n for n in json.load(sys.stdin)["nodes"] if n["node"]==sys.argv[1]][0]; print(n["ip"])' "$node" <<<"$status")
  found=$(python3 -c 'import json,sys; n=[n for n in json.load(sys.stdin)["nodes"] if n["node"]==sys.argv[1]][0]; print((n["found"] or {}).get("ip"))' "$node" <<<"$status")
  named=$(python3 -c 'import sys,re; t=open(sys.argv[1]).read(); m=re.search(r"\n    "+sys.argv[2]+r":\n      ansible_host: (\S+)", t); print(m.group(1) if m else "")' "$inventory" "$node")
  check "$node: leased the reserved address ($reserved)" test "$found" = "$reserved"
  check "$node: the inventory names that address" test "$named" = "$reserved"
  check "$node: /etc/hostname is the node's name" test "$(ssh_node "$reserved" cat /etc/hostname)" = "$node"
  check "$node: logged in as core" test "$(ssh_node "$reserved" id -un)" = core
  check "$node: file mode, owner, content" test "$(ssh_node "$reserved" 'stat -c "%a %U %G" /etc/demo/app.conf; cat /etc/demo/app.conf')" = "640 core core
answer = 42"
  check "$node: executable file" test "$(ssh_node "$reserved" 'stat -c %a /usr/local/bin/hello')" = 755
  check "$node: directory mode and owner" test "$(ssh_node "$reserved" 'stat -c "%a %U" /etc/demo/conf.d')" = "750 core"
  check "$node: the link" test "$(ssh_node "$reserved" readlink /etc/demo/current)" = /etc/demo/app.conf
  # Ignition enables a unit through a systemd preset, not a symlink
  check "$node: the unit, and its preset enabling it" test "$(ssh_node "$reserved" 'sed -n 2p /etc/systemd/system/demo.service; cat /etc/systemd/system-preset/20-ignition.preset')" = "Description=demo unit
enable demo.service"
done
check "virtstrap ssh reaches a node" test "$(in_ns "$bin" ssh -f "$work/vs-boot.yaml" --connect "$uri" -i "$work/id" worker1 -- cat /etc/hostname)" = worker1
groups=$(in_ns ansible-inventory -i "$inventory" --list)
check "ansible-inventory: kubespray's groups" python3 -c '
import json, sys
inv = json.load(sys.stdin)
assert inv["kube_control_plane"]["hosts"] == ["cp1"], inv
assert inv["kube_node"]["hosts"] == ["worker1", "worker2"], inv
assert inv["etcd"]["hosts"] == ["cp1"], inv
assert sorted(inv["k8s_cluster"]["children"]) == ["kube_control_plane", "kube_node"], inv
for h, v in inv["_meta"]["hostvars"].items():
    assert v["ansible_host"] == v["ip"] == v["access_ip"], v
    assert v["ansible_user"] == "core", v
' <<<"$groups"
raw=$(in_ns ansible -i "$inventory" all -m raw -a 'cat /etc/hostname' 2>&1 || true)
for node in cp1 worker1 worker2; do
  check "ansible -m raw reaches $node through the inventory" grep -q "^$node | CHANGED | rc=0" <<<"$raw"
done
check "plan after --wait: nothing to do" grep -q "nothing to do" <<<"$(run vs-boot plan)"
run vs-boot destroy --yes >/dev/null 2>&1 || true
check "destroy leaves no domain, volume, file or network of the cluster" leftovers vs-boot vsboot

# ---- 2. a stranger's network, with a host entry of its own ------------------
cat > "$work/stranger.xml" <<'XML'
<network><name>vs-stranger</name><ip address='10.77.2.1' netmask='255.255.255.0'><dhcp>
<range start='10.77.2.100' end='10.77.2.200'/><host mac='52:54:00:de:ad:01' name='stranger' ip='10.77.2.100'/>
</dhcp></ip></network>
XML
virsh net-define "$work/stranger.xml" >/dev/null && virsh net-start vs-stranger >/dev/null
spec vs-str "  networks: [ vs-stranger ]
nodes:
  - name: a
  - name: b"
rc=0; run vs-str apply --yes --wait --timeout 4m >"$out" 2>&1 || rc=$?
check "on a stranger's network: apply --wait, both up" test "$rc" = 0
[ "$rc" = 0 ] || cat "$out" >&2
hosts() { virsh net-dumpxml vs-stranger | grep -c "<host " || true; }
check "our two host entries were added beside the stranger's" test "$(hosts)" = 3
check "the stranger's entry is as it was" grep -q "<host mac='52:54:00:de:ad:01' name='stranger' ip='10.77.2.100'/>" <<<"$(virsh net-dumpxml vs-stranger)"
check "no node took the stranger's address" bash -c "! grep -q '10.77.2.100 (lease)' <<<\"\$1\"" _ "$(run vs-str status)"
ip_a=$(run vs-str status --output json | python3 -c 'import json,sys; print([n for n in json.load(sys.stdin)["nodes"] if n["node"]=="a"][0]["found"]["ip"])')
check "node a answers at the address reserved for it" test "$(ssh_node "$ip_a" cat /etc/hostname)" = a
run vs-str destroy --yes >/dev/null 2>&1 || true
check "destroy removed exactly our host entries" test "$(hosts)" = 1
check "the stranger's entry stays" grep -q "name='stranger'" <<<"$(virsh net-dumpxml vs-stranger)"
stranger_there() { virsh net-uuid vs-stranger >/dev/null; }
check "the stranger's network stays" stranger_there
virsh net-destroy vs-stranger >/dev/null 2>&1 || true
virsh net-undefine vs-stranger >/dev/null 2>&1 || true
check "destroy leaves no domain, volume or file of the cluster" leftovers vs-str none

# ---- 3. a node whose Ignition fails in the guest ----------------------------
cat > "$work/bad.bu" <<'BU'
variant: fcos
version: 1.4.0
storage:
  files:
    - path: /etc/owned-by-a-ghost
      user: { name: ghost }
      contents: { inline: x }
BU
spec vs-bad "  networks: [ vsbad ]
nodes:
  - name: good
  - name: bad
    butane: bad.bu
networks: [ { name: vsbad, mode: isolated, cidr: 10.77.3.0/24 } ]"
rc=0; run vs-bad apply --yes --wait --timeout 3m >"$out" 2>&1 || rc=$?
check "a failing Ignition: apply --wait exits 1" test "$rc" = 1
check "it names the node and the failure" grep -q "error: node bad is not up: failed while" "$out"
check "it shows the console's last lines" grep -q "last [0-9]* lines of its console" "$out"
check "the console tail holds the guest's failure" grep -q "FAILED at files" "$out"
check "the good node is not blamed" bash -c "! grep -q 'node good is not up' \"\$1\"" _ "$out"
run vs-bad destroy --yes >/dev/null 2>&1 || true
check "destroy leaves nothing of the failed cluster" leftovers vs-bad vsbad
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
