//! Loading cluster specs: a table of invalid specs, each checked for the
//! key path, line, column and message of every problem it reports (all
//! of them, not just the first), then specs that load, with what they
//! load to (the write-up's vars file, `count`, defaults, size units).

use std::path::Path;

use virtstrap::spec::{
    load, load_str, DomainType, LoadOptions, NetMode, Os, Role, SpecError, SpecProblem,
};

/// Header every table spec starts with: a name and an image.
const H: &str = "name: demo\nimage: {pool: default, volume: fcos.qcow2}\n";

const GIB: u64 = 1024 * 1024 * 1024;

/// One problem a case expects: key path, 1-based (line, column) or
/// `None` for a problem with no position, and a part of the message.
type Want = (&'static str, Option<(usize, usize)>, &'static str);

struct Case {
    name: &'static str,
    yaml: String,
    want: Vec<Want>,
    /// No other problem may be reported. Cases where two nodes end up
    /// with one name are not exact: the clash also makes their derived
    /// MACs equal, reported as a second problem (see the report).
    exact: bool,
}

fn case(name: &'static str, yaml: impl Into<String>, want: &[Want]) -> Case {
    Case {
        name,
        yaml: yaml.into(),
        want: want.to_vec(),
        exact: true,
    }
}

/// A case whose listed problems must all be reported, among others.
fn clash(name: &'static str, yaml: impl Into<String>, want: &[Want]) -> Case {
    Case {
        exact: false,
        ..case(name, yaml, want)
    }
}

fn spec_file() -> &'static Path {
    Path::new("/t/cluster.yaml")
}

fn load_err(yaml: &str) -> SpecError {
    match load_str(yaml, spec_file(), &LoadOptions::default()) {
        Ok(c) => panic!("expected problems, the spec loaded: {c:?}\n{yaml}"),
        Err(e) => e,
    }
}

fn load_ok(yaml: &str) -> virtstrap::spec::Cluster {
    match load_str(yaml, spec_file(), &LoadOptions::default()) {
        Ok(c) => c,
        Err(e) => panic!("expected the spec to load:\n{yaml}\n{e}"),
    }
}

fn show(problems: &[SpecProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}\n"))
        .collect::<String>()
}

fn matches(p: &SpecProblem, w: &Want) -> bool {
    p.path == w.0 && p.mark.map(|m| (m.line, m.col)) == w.1 && p.message.contains(w.2)
}

fn invalid_cases() -> Vec<Case> {
    let nic_net = "networks:\n  - {name: n, cidr: 10.0.0.0/24}\n";
    vec![
        // unknown keys, with a hint when one is close
        case(
            "unknown top-level key",
            format!("{H}nodes:\n  - name: a\nnetwork: []\n"),
            &[(
                "$.network",
                Some((5, 1)),
                "unknown key network (did you mean networks?)",
            )],
        ),
        case(
            "unknown top-level key, no close match",
            format!("{H}nodes:\n  - name: a\nzzzzzzzz: 1\n"),
            &[(
                "$.zzzzzzzz",
                Some((5, 1)),
                "unknown key zzzzzzzz (allowed: name, connect, os, image,",
            )],
        ),
        case(
            "unknown key in defaults",
            format!("{H}defaults:\n  memroy: 4GiB\nnodes:\n  - name: a\n"),
            &[(
                "$.defaults.memroy",
                Some((4, 3)),
                "unknown key memroy (did you mean memory?)",
            )],
        ),
        case(
            "name is not a defaults key",
            format!("{H}defaults:\n  name: x\nnodes:\n  - name: a\n"),
            &[("$.defaults.name", Some((4, 3)), "unknown key name (allowed: role,")],
        ),
        case(
            "unknown key in a node",
            format!("{H}nodes:\n  - name: a\n    vcpu: 2\n"),
            &[(
                "$.nodes.0.vcpu",
                Some((5, 5)),
                "unknown key vcpu (did you mean vcpus?)",
            )],
        ),
        case(
            "unknown key in a disk",
            format!("{H}nodes:\n  - name: a\n    disk: {{pool: default, size: 20GiB, sise: 1}}\n"),
            &[(
                "$.nodes.0.disk.sise",
                Some((5, 40)),
                "unknown key sise (did you mean size?)",
            )],
        ),
        case(
            "unknown key in a network",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - name: k8s\n    cidr: 10.0.0.0/24\n    mdoe: nat\n"),
            &[(
                "$.networks.0.mdoe",
                Some((8, 5)),
                "unknown key mdoe (did you mean mode?)",
            )],
        ),
        case(
            "unknown key in the image",
            "name: demo\nimage: {pool: default, volume: v, fromat: raw}\nnodes:\n  - name: a\n",
            &[(
                "$.image.fromat",
                Some((2, 35)),
                "unknown key fromat (did you mean format?)",
            )],
        ),
        case(
            "unknown key in a node's NIC",
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: default, addr: 1.2.3.4}}\n"),
            &[(
                "$.nodes.0.networks.0.addr",
                Some((6, 25)),
                "unknown key addr (allowed: name, ip, mac)",
            )],
        ),
        case(
            "a key that is not a string",
            format!("{H}nodes:\n  - name: a\n    [x]: 1\n"),
            &[("$.nodes.0", Some((5, 5)), "keys must be plain strings")],
        ),
        // wrong types
        case(
            "name is a list",
            "name: [a]\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n",
            &[("$.name", Some((1, 7)), "expected a string")],
        ),
        case(
            "the root is a list",
            "- a\n",
            &[("$", Some((1, 1)), "expected a mapping (key: value lines)")],
        ),
        case(
            "the root is a scalar",
            "hello\n",
            &[("$", Some((1, 1)), "expected a mapping")],
        ),
        case(
            "a node is a scalar",
            format!("{H}nodes:\n  - name: b\n  - a\n"),
            &[("$.nodes.1", Some((5, 5)), "expected a mapping")],
        ),
        case(
            "disk is a scalar",
            format!("{H}nodes:\n  - name: a\n    disk: 20GiB\n"),
            &[("$.nodes.0.disk", Some((5, 11)), "expected a mapping")],
        ),
        case(
            "a node's networks is a scalar",
            format!("{H}nodes:\n  - name: a\n    networks: default\n"),
            &[("$.nodes.0.networks", Some((5, 15)), "expected a list")],
        ),
        case(
            "ssh_authorized_keys is a mapping",
            format!("{H}ssh_authorized_keys: {{a: b}}\nnodes:\n  - name: a\n"),
            &[(
                "$.ssh_authorized_keys",
                Some((3, 22)),
                "expected a string or a list of strings",
            )],
        ),
        case(
            "vcpus is a word",
            format!("{H}nodes:\n  - name: a\n    vcpus: two\n"),
            &[(
                "$.nodes.0.vcpus",
                Some((5, 12)),
                "expected a number of vCPUs (a whole number)",
            )],
        ),
        case(
            "vcpus is negative",
            format!("{H}nodes:\n  - name: a\n    vcpus: -1\n"),
            &[("$.nodes.0.vcpus", Some((5, 12)), "expected a number of vCPUs")],
        ),
        case(
            "count is a word",
            format!("{H}nodes:\n  - name: a\n    count: many\n"),
            &[("$.nodes.0.count", Some((5, 12)), "expected a count (a whole number)")],
        ),
        case(
            "count is negative",
            format!("{H}nodes:\n  - name: a\n    count: -2\n"),
            &[("$.nodes.0.count", Some((5, 12)), "expected a count")],
        ),
        // numbers and sizes out of range or malformed
        case(
            "vcpus 0",
            format!("{H}nodes:\n  - name: a\n    vcpus: 0\n"),
            &[(
                "$.nodes.0.vcpus",
                Some((5, 12)),
                "vcpus 0 is out of range (1 to 1024)",
            )],
        ),
        case(
            "vcpus 2000",
            format!("{H}nodes:\n  - name: a\n    vcpus: 2000\n"),
            &[(
                "$.nodes.0.vcpus",
                Some((5, 12)),
                "vcpus 2000 is out of range (1 to 1024)",
            )],
        ),
        case(
            "vcpus 0 in defaults",
            format!("{H}defaults:\n  vcpus: 0\nnodes:\n  - name: a\n"),
            &[("$.defaults.vcpus", Some((4, 10)), "vcpus 0 is out of range")],
        ),
        case(
            "memory with an unknown unit",
            format!("{H}nodes:\n  - name: a\n    memory: 4 gigs\n"),
            &[(
                "$.nodes.0.memory",
                Some((5, 13)),
                "unknown size unit \"gigs\" in \"4 gigs\"",
            )],
        ),
        case(
            "memory is not a number",
            format!("{H}nodes:\n  - name: a\n    memory: lots\n"),
            &[(
                "$.nodes.0.memory",
                Some((5, 13)),
                "\"lots\" is not a size (write e.g. 4GiB or 512MiB)",
            )],
        ),
        case(
            "memory is a mapping",
            format!("{H}nodes:\n  - name: a\n    memory: {{a: 1}}\n"),
            &[("$.nodes.0.memory", Some((5, 13)), "expected a size such as 4GiB")],
        ),
        case(
            "memory too small",
            format!("{H}nodes:\n  - name: a\n    memory: 64MiB\n"),
            &[(
                "$.nodes.0.memory",
                Some((5, 13)),
                "memory 64MiB is out of range (128MiB to 16TiB)",
            )],
        ),
        case(
            "memory not a whole number of MiB",
            format!("{H}nodes:\n  - name: a\n    memory: 1.5KiB\n"),
            &[(
                "$.nodes.0.memory",
                Some((5, 13)),
                "memory must be a whole number of MiB",
            )],
        ),
        case(
            "disk too small",
            format!("{H}nodes:\n  - name: a\n    disk: {{pool: default, size: 1KiB}}\n"),
            &[(
                "$.nodes.0.disk.size",
                Some((5, 33)),
                "a disk must be at least 1MiB",
            )],
        ),
        case(
            "extra disk of size 0",
            format!("{H}nodes:\n  - name: a\n    extra_disks:\n      - {{pool: p, size: 0}}\n"),
            &[(
                "$.nodes.0.extra_disks.0.size",
                Some((6, 25)),
                "a disk must be at least 1MiB",
            )],
        ),
        case(
            "disk without size",
            format!("{H}nodes:\n  - name: a\n    disk: {{pool: default}}\n"),
            &[(
                "$.nodes.0.disk.size",
                Some((5, 11)),
                "size is required (e.g. 20GiB)",
            )],
        ),
        case(
            "disk without pool",
            format!("{H}nodes:\n  - name: a\n    disk: {{size: 1}}\n"),
            &[("$.nodes.0.disk.pool", Some((5, 11)), "pool is required")],
        ),
        case(
            "count 0",
            format!("{H}nodes:\n  - name: b\n  - name: a\n    count: 0\n"),
            &[(
                "$.nodes.1.count",
                Some((6, 12)),
                "count 0 is out of range (1 to 10000)",
            )],
        ),
        // missing required fields
        case(
            "missing cluster name",
            "image: {pool: default, volume: v}\nnodes:\n  - name: a\n",
            &[(
                "$.name",
                Some((1, 1)),
                "name is required (the cluster's name)",
            )],
        ),
        case(
            "missing image",
            "name: demo\nnodes:\n  - name: a\n",
            &[("$.image", Some((1, 1)), "image is required")],
        ),
        case(
            "a node without a name",
            format!("{H}nodes:\n  - name: b\n  - vcpus: 2\n"),
            &[("$.nodes.1.name", Some((5, 5)), "name is required")],
        ),
        case(
            "a NIC without a network name",
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{ip: 10.0.0.5}}\n"),
            &[("$.nodes.0.networks.0.name", Some((6, 9)), "name is required")],
        ),
        case(
            "boot without kernel",
            format!("{H}nodes:\n  - name: a\n    boot: {{cmdline: x}}\n"),
            &[("$.nodes.0.boot.kernel", Some((5, 11)), "kernel is required")],
        ),
        // invalid names
        case(
            "uppercase node name",
            format!("{H}nodes:\n  - name: Master1\n"),
            &[(
                "$.nodes.0.name",
                Some((4, 11)),
                "\"Master1\" is not a valid name: use 1 to 63 lowercase letters",
            )],
        ),
        case(
            "underscore in a node name",
            format!("{H}nodes:\n  - name: master_1\n"),
            &[("$.nodes.0.name", Some((4, 11)), "\"master_1\" is not a valid name")],
        ),
        case(
            "node name of 64 characters",
            format!("{H}nodes:\n  - name: {}\n", "a".repeat(64)),
            &[("$.nodes.0.name", Some((4, 11)), "use 1 to 63 lowercase")],
        ),
        case(
            "cluster name of 41 characters",
            format!(
                "name: {}\nimage: {{pool: default, volume: v}}\nnodes:\n  - name: a\n",
                "c".repeat(41)
            ),
            &[("$.name", Some((1, 7)), "use 1 to 40 lowercase")],
        ),
        case(
            "node name with a leading '-'",
            format!("{H}nodes:\n  - name: '-a'\n"),
            &[(
                "$.nodes.0.name",
                Some((4, 11)),
                "\"-a\" is not a valid name: use 1 to 63 lowercase letters, digits and '-', not starting or ending with '-'",
            )],
        ),
        case(
            "node name with a trailing '-'",
            format!("{H}nodes:\n  - name: a-\n"),
            &[("$.nodes.0.name", Some((4, 11)), "\"a-\" is not a valid name")],
        ),
        case(
            "invalid pool name",
            format!("{H}nodes:\n  - name: a\npools:\n  - {{name: P, path: /a}}\n"),
            &[("$.pools.0.name", Some((6, 12)), "\"P\" is not a valid name: use 1 to 64")],
        ),
        case(
            "invalid network name",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: N_1, cidr: 10.0.0.0/24}}\n"),
            &[("$.networks.0.name", Some((6, 12)), "\"N_1\" is not a valid name")],
        ),
        // duplicates
        clash(
            "duplicate node names",
            format!("{H}nodes:\n  - name: a\n  - name: b\n  - name: a\n"),
            &[(
                "$.nodes.2.name",
                Some((6, 11)),
                "node a clashes with the node at line 4 (both make domain demo-a)",
            )],
        ),
        clash(
            "duplicate node names, domains named after nodes",
            "name: demo\ndomain_name: node\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n  - name: a\n",
            &[(
                "$.nodes.1.name",
                Some((6, 11)),
                "clashes with the node at line 5 (both make domain a)",
            )],
        ),
        clash(
            "count expansion clashes with a later node",
            format!("{H}nodes:\n  - name: worker\n    count: 2\n  - name: worker1\n"),
            &[(
                "$.nodes.1.name",
                Some((6, 11)),
                "node worker1 clashes with the node at line 4",
            )],
        ),
        clash(
            "count expansion clashes with an earlier node",
            format!("{H}nodes:\n  - name: worker1\n  - name: worker\n    count: 2\n"),
            &[(
                "$.nodes.1.name",
                Some((5, 11)),
                "node worker1 clashes with the node at line 4",
            )],
        ),
        case(
            "duplicate pool names",
            format!("{H}nodes:\n  - name: a\npools:\n  - {{name: p, path: /a}}\n  - {{name: p, path: /b}}\n"),
            &[(
                "$.pools.1.name",
                Some((7, 12)),
                "pool p is declared twice (first at line 6)",
            )],
        ),
        // bad enumerations
        case(
            "bad role",
            format!("{H}nodes:\n  - name: a\n    role: boss\n"),
            &[(
                "$.nodes.0.role",
                Some((5, 11)),
                "unknown role \"boss\" (control-plane, worker or etcd)",
            )],
        ),
        case(
            "bad role in a list",
            format!("{H}nodes:\n  - name: a\n    roles: [worker, boss]\n"),
            &[("$.nodes.0.roles.1", Some((5, 21)), "unknown role \"boss\"")],
        ),
        case(
            "bad os",
            format!("{H}os: windows\nnodes:\n  - name: a\n"),
            &[("$.os", Some((3, 5)), "unknown os \"windows\" (fcos or flatcar)")],
        ),
        case(
            "bad domain_name",
            format!("{H}domain_name: short\nnodes:\n  - name: a\n"),
            &[(
                "$.domain_name",
                Some((3, 14)),
                "unknown domain_name \"short\" (prefixed or node)",
            )],
        ),
        case(
            "bad domain_type",
            format!("{H}nodes:\n  - name: a\n    domain_type: xen\n"),
            &[(
                "$.nodes.0.domain_type",
                Some((5, 18)),
                "unknown domain_type \"xen\" (kvm, or qemu",
            )],
        ),
        case(
            "bad image format",
            "name: demo\nimage: {pool: default, volume: v, format: vmdk}\nnodes:\n  - name: a\n",
            &[(
                "$.image.format",
                Some((2, 43)),
                "unknown image format \"vmdk\" (qcow2 or raw)",
            )],
        ),
        case(
            "bad network mode",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, mode: routed, cidr: 10.0.0.0/24}}\n"),
            &[(
                "$.networks.0.mode",
                Some((6, 21)),
                "unknown network mode \"routed\" (nat, isolated or bridge)",
            )],
        ),
        // networks and addresses
        case(
            "bridge network without bridge",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, mode: bridge}}\n"),
            &[(
                "$.networks.0.bridge",
                Some((6, 5)),
                "bridge mode needs bridge",
            )],
        ),
        case(
            "bridge network with a cidr",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, mode: bridge, bridge: br0, cidr: 10.0.0.0/24}}\n"),
            &[("$.networks.0.cidr", Some((6, 48)), "remove cidr")],
        ),
        case(
            "nat network without cidr",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n}}\n"),
            &[(
                "$.networks.0.cidr",
                Some((6, 5)),
                "cidr is required for nat and isolated networks",
            )],
        ),
        case(
            "prefix length 33",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, cidr: 10.0.0.0/33}}\n"),
            &[(
                "$.networks.0.cidr",
                Some((6, 21)),
                "\"10.0.0.0/33\" is not an IPv4 CIDR",
            )],
        ),
        case(
            "cidr is a word",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, cidr: banana}}\n"),
            &[("$.networks.0.cidr", Some((6, 21)), "\"banana\" is not an IPv4 CIDR")],
        ),
        case(
            "cidr too small",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, cidr: 10.0.0.0/30}}\n"),
            &[(
                "$.networks.0.cidr",
                Some((6, 21)),
                "10.0.0.0/30 is too small for guests (use a /29 or larger)",
            )],
        ),
        case(
            "cidr with host bits",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, cidr: 10.0.0.1/24}}\n"),
            &[(
                "$.networks.0.cidr",
                Some((6, 21)),
                "10.0.0.1/24 has host bits set (did you mean 10.0.0.0/24?)",
            )],
        ),
        case(
            "overlapping cidrs",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, cidr: 10.0.0.0/16}}\n  - {{name: m, cidr: 10.0.5.0/24}}\n"),
            &[(
                "$.networks.1.cidr",
                Some((7, 21)),
                "network m (10.0.5.0/24) overlaps network n (10.0.0.0/16)",
            )],
        ),
        case(
            "the same cidr twice",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, cidr: 10.0.0.0/24}}\n  - {{name: m, cidr: 10.0.0.0/24}}\n"),
            &[("$.networks.1.cidr", Some((7, 21)), "overlaps network n")],
        ),
        case(
            "ip is not an address",
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: n, ip: 10.0.0.300}}\n{nic_net}"),
            &[(
                "$.nodes.0.networks.0.ip",
                Some((6, 23)),
                "\"10.0.0.300\" is not an IPv4 address",
            )],
        ),
        case(
            "malformed MAC",
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: default, mac: '52:54:00:zz:00:01'}}\n"),
            &[(
                "$.nodes.0.networks.0.mac",
                Some((6, 30)),
                "\"52:54:00:zz:00:01\" is not a MAC address",
            )],
        ),
        case(
            "MAC with five octets",
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: default, mac: '52:54:00:00:01'}}\n"),
            &[("$.nodes.0.networks.0.mac", Some((6, 30)), "is not a MAC address")],
        ),
        case(
            "multicast MAC",
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: default, mac: '01:00:5e:00:00:01'}}\n"),
            &[(
                "$.nodes.0.networks.0.mac",
                Some((6, 30)),
                "01:00:5e:00:00:01 is a multicast address",
            )],
        ),
        case(
            "relative pool path",
            format!("{H}nodes:\n  - name: a\npools:\n  - {{name: p, path: rel}}\n"),
            &[("$.pools.0.path", Some((6, 21)), "pool path must be absolute")],
        ),
        // files
        case(
            "missing Butane files, cluster and node",
            format!("{H}butane: [common.bu]\nnodes:\n  - name: a\n    butane: node.bu\n"),
            &[
                ("$.butane.0", Some((3, 10)), "file /t/common.bu does not exist"),
                ("$.nodes.0.butane", Some((6, 13)), "file /t/node.bu does not exist"),
            ],
        ),
        case(
            "missing Butane file in defaults",
            format!("{H}defaults:\n  butane: [x.bu]\nnodes:\n  - name: a\n    count: 2\n"),
            &[("$.defaults.butane.0", Some((4, 12)), "file /t/x.bu does not exist")],
        ),
        case(
            "missing boot kernel and initrd",
            format!("{H}nodes:\n  - name: a\n    boot: {{kernel: vmlinuz, initrd: initrd.img}}\n"),
            &[
                ("$.nodes.0.boot.kernel", Some((5, 20)), "file /t/vmlinuz does not exist"),
                ("$.nodes.0.boot.initrd", Some((5, 37)), "file /t/initrd.img does not exist"),
            ],
        ),
        // YAML itself
        case(
            "tab indentation",
            format!("{H}nodes:\n\t- name: a\n"),
            &[("$", Some((4, 1)), "YAML syntax: tabs disallowed")],
        ),
        case(
            "duplicate key",
            format!("{H}nodes:\n  - name: a\nname: again\n"),
            &[(
                "$",
                Some((5, 1)),
                "YAML syntax: mapping key \"name\" already defined at line 1",
            )],
        ),
        case(
            "unclosed flow sequence",
            format!("{H}nodes: [a\n"),
            &[("$", Some((4, 1)), "YAML syntax: while parsing a flow sequence")],
        ),
        case(
            "empty file",
            "",
            &[("$", None, "the spec is empty (see `virtstrap init`)")],
        ),
        case(
            "only comments",
            "# nothing here\n",
            &[("$", None, "the spec is empty")],
        ),
        // the write-up's vars file
        case(
            "vars file: unknown key in a k8s_node entry",
            "k8s_node:\n  - node_name: m1\n    vmemory: 4096\n",
            &[(
                "$.k8s_node.0.vmemory",
                Some((3, 5)),
                "unknown key vmemory (allowed: node_name, vcpus, vmem, disk, networks, is_master)",
            )],
        ),
        case(
            "vars file: k8s_node is not a list",
            "k8s_node: 3\n",
            &[("$.k8s_node", Some((1, 11)), "k8s_node must be a list of nodes")],
        ),
        clash(
            "vars file: duplicate node_name",
            "k8s_node:\n  - node_name: m1\n  - node_name: m1\n",
            &[(
                "$.k8s_node.1.node_name",
                Some((3, 16)),
                "node m1 clashes with the node at line 2 (both make domain m1)",
            )],
        ),
        case(
            "vars file: invalid node_name",
            "k8s_node:\n  - node_name: Master1\n",
            &[("$.k8s_node.0.node_name", Some((2, 16)), "\"Master1\" is not a valid name")],
        ),
        case(
            "vars file: bad disk size",
            "k8s_node:\n  - node_name: m1\n    disk: {pool: bulk, size: big}\n",
            &[("$.k8s_node.0.disk.size", Some((3, 30)), "\"big\" is not a size")],
        ),
        // several problems in one file: all reported, in file order
        clash(
            "several problems across the file",
            "name: Demo\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n    vcpus: 0\n    memory: 4 gigs\n  - name: a\n    role: boss\nnetworks:\n  - {name: n, cidr: 10.0.0.1/24}\n",
            &[
                ("$.name", Some((1, 7)), "\"Demo\" is not a valid name"),
                ("$.nodes.0.vcpus", Some((5, 12)), "vcpus 0 is out of range"),
                ("$.nodes.0.memory", Some((6, 13)), "unknown size unit \"gigs\""),
                ("$.nodes.1.name", Some((7, 11)), "node a clashes with the node at line 4"),
                ("$.nodes.1.role", Some((8, 11)), "unknown role \"boss\""),
                ("$.networks.0.cidr", Some((10, 21)), "has host bits set"),
            ],
        ),
        case(
            "unknown keys, a bad cidr and a missing file",
            format!("{H}butane: [gone.bu]\nnodes:\n  - name: a\n    vcpu: 2\n    disk: {{pool: p, size: 20GiB, sise: 1}}\nnetworks:\n  - {{name: n, cidr: 10.0.0.0/30}}\nfoo: 1\n"),
            &[
                ("$.butane.0", Some((3, 10)), "file /t/gone.bu does not exist"),
                ("$.nodes.0.vcpu", Some((6, 5)), "did you mean vcpus?"),
                ("$.nodes.0.disk.sise", Some((7, 34)), "did you mean size?"),
                ("$.networks.0.cidr", Some((9, 21)), "too small for guests"),
                ("$.foo", Some((10, 1)), "unknown key foo"),
            ],
        ),
        case(
            "a network inside another twice over",
            format!("{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, cidr: 10.0.0.0/8}}\n  - {{name: m, cidr: 10.1.0.0/16}}\n  - {{name: o, cidr: 10.1.2.0/24}}\n"),
            &[
                ("$.networks.1.cidr", Some((7, 21)), "network m (10.1.0.0/16) overlaps network n"),
                ("$.networks.2.cidr", Some((8, 21)), "network o (10.1.2.0/24) overlaps network n"),
                ("$.networks.2.cidr", Some((8, 21)), "network o (10.1.2.0/24) overlaps network m"),
            ],
        ),
    ]
}

#[test]
fn invalid_specs_report_path_position_and_message() {
    let cases = invalid_cases();
    assert!(cases.len() >= 35, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let problems = match load_str(&c.yaml, spec_file(), &LoadOptions::default()) {
            Ok(_) => {
                failures.push(format!("{}: the spec loaded\n{}", c.name, c.yaml));
                continue;
            }
            Err(e) => e.problems,
        };
        let missing: Vec<&Want> = c
            .want
            .iter()
            .filter(|w| !problems.iter().any(|p| matches(p, w)))
            .collect();
        if !missing.is_empty() || (c.exact && problems.len() != c.want.len()) {
            failures.push(format!(
                "{}: want {:?}\ngot:\n{}",
                c.name,
                c.want,
                show(&problems)
            ));
        }
        for p in &problems {
            if p.file != spec_file() {
                failures.push(format!(
                    "{}: problem names file {}",
                    c.name,
                    p.file.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn problems_are_in_file_order() {
    let e = load_err(
        "name: Demo\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n    vcpus: 0\n  - name: a\n    role: boss\nnetworks:\n  - {name: n, cidr: 10.0.0.1/24}\n",
    );
    let lines: Vec<usize> = e
        .problems
        .iter()
        .map(|p| p.mark.map_or(0, |m| m.line))
        .collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted, "{e}");
    assert!(lines.len() >= 5, "{e}");
}

#[test]
fn problem_display_is_file_line_col_path_message() {
    let e = load_err(&format!("{H}nodes:\n  - name: a\n    vcpus: 0\n"));
    assert_eq!(
        e.problems[0].to_string(),
        "/t/cluster.yaml:5:12: $.nodes.0.vcpus: vcpus 0 is out of range (1 to 1024)"
    );
    let text = e.to_string();
    assert!(text.starts_with("the spec has 1 problem:\n"), "{text}");
    assert!(
        text.contains("  /t/cluster.yaml:5:12: $.nodes.0.vcpus:"),
        "{text}"
    );
}

/// Address and MAC cross-checks (after expansion) are detected with the
/// right key path and message. Their position is the NIC entry's start,
/// not the `ip:`/`mac:` value (a block-style NIC names the line of its
/// `name:`), so it is not asserted here.
#[test]
fn nic_cross_checks_are_detected() {
    let net = "networks:\n  - {name: n, cidr: 10.0.0.0/24}\n";
    let one = |ip: &str| {
        format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: n, ip: {ip}}}\n{net}")
    };
    let cases: Vec<(String, &str, &str)> = vec![
        (
            one("10.0.1.5"),
            "$.nodes.0.networks.0.ip",
            "ip 10.0.1.5 is outside network n (10.0.0.0/24)",
        ),
        (
            one("10.0.0.1"),
            "$.nodes.0.networks.0.ip",
            "ip 10.0.0.1 is reserved in 10.0.0.0/24 (network, gateway or broadcast address)",
        ),
        (
            one("10.0.0.255"),
            "$.nodes.0.networks.0.ip",
            "ip 10.0.0.255 is reserved",
        ),
        (one("10.0.0.0"), "$.nodes.0.networks.0.ip", "ip 10.0.0.0 is reserved"),
        (
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: u, ip: 10.0.0.5}}\n  - name: b\n    networks:\n      - {{name: u, ip: 10.0.0.5}}\n"),
            "$.nodes.1.networks.0.ip",
            "ip 10.0.0.5 is also given to node a",
        ),
        (
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: n, ip: 10.0.0.5}}\n  - name: b\n    networks:\n      - {{name: n, ip: 10.0.0.5}}\n{net}"),
            "$.nodes.1.networks.0.ip",
            "ip 10.0.0.5 is also given to node a",
        ),
        (
            format!("{H}nodes:\n  - name: w\n    count: 2\n    networks:\n      - {{name: n, ip: 10.0.0.5}}\n{net}"),
            "$.nodes.0.networks.0.ip",
            "ip 10.0.0.5 is also given to node w1",
        ),
        (
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: default, mac: '52:54:00:00:00:01'}}\n  - name: b\n    networks:\n      - {{name: default, mac: '52:54:00:00:00:01'}}\n"),
            "$.nodes.1.networks.0.mac",
            "mac 52:54:00:00:00:01 is also given to node a",
        ),
        (
            format!("{H}nodes:\n  - name: a\n    networks:\n      - {{name: default, mac: '52:54:00:AA:00:01'}}\n  - name: b\n    networks:\n      - {{name: default, mac: '52:54:00:aa:00:01'}}\n"),
            "$.nodes.1.networks.0.mac",
            "mac 52:54:00:aa:00:01 is also given to node a",
        ),
    ];
    for (yaml, path, msg) in cases {
        let e = load_err(&yaml);
        assert_eq!(e.problems.len(), 1, "{yaml}\n{e}");
        let p = &e.problems[0];
        assert_eq!(p.path, path, "{yaml}\n{e}");
        assert!(p.message.contains(msg), "{yaml}\n{e}");
        assert!(p.mark.is_some(), "{yaml}\n{e}");
    }
}

/// A network name declared twice is reported at the second name.
#[test]
fn duplicate_network_names_are_detected() {
    let e = load_err(&format!(
        "{H}nodes:\n  - name: a\nnetworks:\n  - {{name: n, cidr: 10.0.0.0/24}}\n  - {{name: n, cidr: 10.0.1.0/24}}\n"
    ));
    assert_eq!(e.problems.len(), 1, "{e}");
    let p = &e.problems[0];
    assert!(
        p.message
            .contains("network n is declared twice (first at line 6)"),
        "{e}"
    );
    assert_eq!(p.mark.map(|m| m.line), Some(7), "{e}");
    assert_eq!(p.path, "$.networks.1.name", "{e}");
}

/// Missing or unusable `nodes:` is reported at its place (a second,
/// positionless "no nodes" problem comes with it).
#[test]
fn missing_or_malformed_nodes_are_reported() {
    let want = |yaml: &str, w: Want| {
        let e = load_err(yaml);
        assert!(e.problems.iter().any(|p| matches(p, &w)), "{yaml}\n{e}");
    };
    want(
        H,
        ("$.nodes", Some((1, 1)), "nodes is required (a list of VMs)"),
    );
    want(
        &format!("{H}nodes: a\n"),
        ("$.nodes", Some((3, 8)), "expected a list"),
    );
    want(
        &format!("{H}nodes:\n  a: 1\n"),
        ("$.nodes", Some((4, 3)), "expected a list"),
    );
    let e = load_err(&format!("{H}nodes: []\n"));
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].path, "$.nodes", "{e}");
    assert!(
        e.problems[0].message.contains("the cluster has no nodes"),
        "{e}"
    );
}

/// An image given but incomplete names the missing key.
#[test]
fn incomplete_image_names_the_missing_key() {
    let e = load_err("name: demo\nimage: {pool: default}\nnodes:\n  - name: a\n");
    let w: Want = ("$.image.volume", Some((2, 8)), "image.volume is required");
    assert!(e.problems.iter().any(|p| matches(p, &w)), "{e}");
}

#[test]
fn load_reports_an_unreadable_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.yaml");
    let e = match load(&path, &LoadOptions::default()) {
        Ok(c) => panic!("loaded {c:?}"),
        Err(e) => e,
    };
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].file, path);
    assert_eq!(e.problems[0].path, "$");
    assert!(
        e.problems[0].message.contains("cannot read the spec"),
        "{e}"
    );
}

// ---- specs that load ----

fn seed_vars() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/seed/vars.yml"
    ))
}

#[test]
fn seed_vars_file_loads() {
    let c = match load(seed_vars(), &LoadOptions::default()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.name, "cluster");
    assert_eq!(c.os, Os::Fcos);
    assert_eq!(c.image.pool, "default");
    assert_eq!(c.image.volume, "fedora-coreos.qcow2");
    assert_eq!(c.image.format, "qcow2");
    assert!(c.butane.is_empty());
    assert!(c.pools.is_empty() && c.networks.is_empty());
    assert_eq!(c.nodes.len(), 1);
    let n = &c.nodes[0];
    assert_eq!(n.name, "master1");
    assert_eq!(n.vcpus, 2);
    assert_eq!(n.memory_mib, 4096);
    assert_eq!(n.disk.pool, "bulk");
    assert_eq!(n.disk.size_bytes, 20 * GIB);
    let nets: Vec<&str> = n.networks.iter().map(|x| x.network.as_str()).collect();
    assert_eq!(nets, ["external", "default"]);
    assert!(n.networks.iter().all(|x| x.ip.is_none() && x.mac.is_none()));
    assert_eq!(n.roles, [Role::ControlPlane]);
    assert_eq!(n.domain_type, DomainType::Kvm);
    assert!(n.boot.is_none() && n.extra_disks.is_empty());
    assert_eq!(c.domain_name(n), "master1");
    assert_eq!(c.node("master1"), Some(n));
}

#[test]
fn vars_file_takes_name_and_butane_from_options() {
    let opts = LoadOptions {
        extra_butane: vec!["/x/node.bu".into()],
        name: Some("potato".into()),
    };
    let c = match load(seed_vars(), &opts) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.name, "potato");
    assert_eq!(c.butane, [Path::new("/x/node.bu")]);
    // domains keep the write-up's names whatever the cluster's
    assert_eq!(c.domain_name(&c.nodes[0]), "master1");
}

#[test]
fn vars_file_defaults_and_other_keys() {
    let c = load_ok(
        "ansible_user: core\nk8s_node:\n  - node_name: master1\n    is_master: true\n  - node_name: worker1\n    vmem: 8GiB\n    disk: {pool: bulk, size: 40}\n",
    );
    assert_eq!(c.nodes.len(), 2);
    let (m, w) = (&c.nodes[0], &c.nodes[1]);
    assert_eq!(m.roles, [Role::ControlPlane]);
    assert_eq!(w.roles, [Role::Worker]);
    assert_eq!(w.memory_mib, 8192);
    assert_eq!(w.disk.size_bytes, 40 * GIB);
    assert_eq!(m.vcpus, 2);
    assert_eq!(m.memory_mib, 4096);
}

#[test]
fn count_expands_to_numbered_nodes() {
    let c = load_ok(&format!(
        "{H}nodes:\n  - name: master\n    count: 1\n  - name: worker\n    count: 3\n    vcpus: 4\n  - name: lb\n"
    ));
    let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["master1", "worker1", "worker2", "worker3", "lb"]);
    assert!(c.nodes[1..4].iter().all(|n| n.vcpus == 4));
    assert_eq!(c.nodes[0].vcpus, 2);
    let domains: Vec<String> = c.nodes.iter().map(|n| c.domain_name(n)).collect();
    assert_eq!(
        domains,
        [
            "demo-master1",
            "demo-worker1",
            "demo-worker2",
            "demo-worker3",
            "demo-lb"
        ]
    );
}

#[test]
fn built_in_defaults() {
    let c = load_ok(&format!("{H}nodes:\n  - name: a\n"));
    assert_eq!(c.name, "demo");
    assert_eq!(c.connect, None);
    assert_eq!(c.os, Os::Fcos);
    assert_eq!(c.image.format, "qcow2");
    let n = &c.nodes[0];
    assert_eq!(n.roles, [Role::Worker]);
    assert_eq!(n.vcpus, 2);
    assert_eq!(n.memory_mib, 4096);
    assert_eq!(n.disk.pool, "default");
    assert_eq!(n.disk.size_bytes, 20 * GIB);
    assert_eq!(n.networks.len(), 1);
    assert_eq!(n.networks[0].network, "default");
    assert_eq!(n.domain_type, DomainType::Kvm);
    assert!(n.butane.is_empty() && n.boot.is_none());
    assert_eq!(c.domain_name(n), "demo-a");
}

#[test]
fn defaults_are_inherited_and_overridden() {
    let c = load_ok(&format!(
        "{H}os: flatcar\ndomain_name: node\ndefaults:\n  roles: [worker, etcd]\n  vcpus: 4\n  memory: 8GiB\n  disk: {{pool: fast, size: 40GiB}}\n  extra_disks:\n    - {{pool: bulk, size: 100GiB}}\n  networks:\n    - k8s\n    - {{name: storage, mac: '52:54:00:AB:CD:EF'}}\n  domain_type: qemu\nnodes:\n  - name: a\n  - name: b\n    role: control-plane\n    vcpus: 8\n    memory: 16384\n    disk: {{pool: slow, size: 10}}\n    extra_disks: []\n    networks: [k8s]\n    domain_type: kvm\nnetworks:\n  - {{name: k8s, cidr: 192.168.150.0/24}}\n  - {{name: storage, mode: isolated, cidr: 192.168.151.0/24}}\n  - {{name: lan, mode: bridge, bridge: br0}}\n"
    ));
    assert_eq!(c.os, Os::Flatcar);
    let (a, b) = (&c.nodes[0], &c.nodes[1]);
    assert_eq!(a.roles, [Role::Worker, Role::Etcd]);
    assert_eq!(a.vcpus, 4);
    assert_eq!(a.memory_mib, 8192);
    assert_eq!(
        (a.disk.pool.as_str(), a.disk.size_bytes),
        ("fast", 40 * GIB)
    );
    assert_eq!(a.extra_disks.len(), 1);
    assert_eq!(a.extra_disks[0].size_bytes, 100 * GIB);
    assert_eq!(a.networks.len(), 2);
    assert_eq!(a.networks[1].network, "storage");
    assert_eq!(a.networks[1].mac.as_deref(), Some("52:54:00:ab:cd:ef"));
    assert_eq!(a.domain_type, DomainType::Qemu);
    assert_eq!(b.roles, [Role::ControlPlane]);
    assert_eq!(b.vcpus, 8);
    assert_eq!(b.memory_mib, 16384);
    assert_eq!(
        (b.disk.pool.as_str(), b.disk.size_bytes),
        ("slow", 10 * GIB)
    );
    assert!(b.extra_disks.is_empty());
    assert_eq!(b.networks.len(), 1);
    assert_eq!(b.domain_type, DomainType::Kvm);
    assert_eq!(c.domain_name(b), "b");
    let modes: Vec<NetMode> = c.networks.iter().map(|n| n.mode).collect();
    assert_eq!(modes, [NetMode::Nat, NetMode::Isolated, NetMode::Bridge]);
    assert_eq!(
        c.network("k8s").and_then(|n| n.cidr).map(|n| n.to_string()),
        Some("192.168.150.0/24".to_string())
    );
    assert_eq!(
        c.network("lan").and_then(|n| n.bridge.clone()).as_deref(),
        Some("br0")
    );
}

#[test]
fn fixed_addresses_load() {
    let c = load_ok(&format!(
        "{H}nodes:\n  - name: a\n    networks:\n      - {{name: n, ip: 10.0.0.2, mac: '52:54:00:00:00:02'}}\n  - name: b\n    networks:\n      - name: n\n        ip: 10.0.0.254\nnetworks:\n  - {{name: n, cidr: 10.0.0.0/24}}\n"
    ));
    assert_eq!(c.nodes[0].networks[0].ip, Some([10, 0, 0, 2].into()));
    assert_eq!(c.nodes[1].networks[0].ip, Some([10, 0, 0, 254].into()));
}

#[test]
fn sizes_in_every_unit() {
    const MIB: u64 = 1024 * 1024;
    let memory: &[(&str, u64)] = &[
        ("4096", 4096),
        ("4096MiB", 4096),
        ("4096M", 4096),
        ("4GiB", 4096),
        ("4G", 4096),
        ("1.5GiB", 1536),
        ("\"2 GiB\"", 2048),
        ("1TiB", 1024 * 1024),
        ("1T", 1024 * 1024),
        ("4194304KiB", 4096),
        ("4194304K", 4096),
        ("4194304k", 4096),
        ("4294967296B", 4096),
        ("128MiB", 128),
        ("16TiB", 16 * 1024 * 1024),
    ];
    for (text, mib) in memory {
        let c = load_ok(&format!("{H}nodes:\n  - name: a\n    memory: {text}\n"));
        assert_eq!(c.nodes[0].memory_mib, *mib, "memory: {text}");
    }
    let disk: &[(&str, u64)] = &[
        ("20", 20 * GIB),
        ("20GiB", 20 * GIB),
        ("20G", 20 * GIB),
        ("10GB", 10_000_000_000),
        ("10000MB", 10_000_000_000),
        ("10000000KB", 10_000_000_000),
        ("10000000kB", 10_000_000_000),
        ("1TB", 1_000_000_000_000),
        ("1TiB", 1024 * GIB),
        ("512MiB", 512 * MIB),
        ("1MiB", MIB),
        ("1048576B", MIB),
        ("1024KiB", MIB),
        ("2.5G", 5 * GIB / 2),
    ];
    for (text, bytes) in disk {
        let c = load_ok(&format!(
            "{H}nodes:\n  - name: a\n    disk: {{pool: p, size: {text}}}\n"
        ));
        assert_eq!(c.nodes[0].disk.size_bytes, *bytes, "size: {text}");
    }
    let e = load_err(&format!("{H}nodes:\n  - name: a\n    memory: 17TiB\n"));
    assert!(
        e.problems[0]
            .message
            .contains("memory 17TiB is out of range"),
        "{e}"
    );
}

#[test]
fn names_at_the_length_limits_load() {
    let c = load_ok(&format!(
        "name: {}\nimage: {{pool: default, volume: v}}\nnodes:\n  - name: {}\n",
        "c".repeat(40),
        "a".repeat(63)
    ));
    assert_eq!(c.name.len(), 40);
    assert_eq!(c.nodes[0].name.len(), 63);
}

#[test]
fn direct_kernel_boot_needs_no_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("vmlinuz"), "k").expect("write kernel");
    let spec = dir.path().join("cluster.yaml");
    let c = match load_str(
        "name: demo\nnodes:\n  - name: a\n    boot: {kernel: vmlinuz, cmdline: console=ttyS0}\n",
        &spec,
        &LoadOptions::default(),
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let boot = c.nodes[0].boot.as_ref().expect("boot");
    assert_eq!(boot.kernel, dir.path().join("vmlinuz"));
    assert_eq!(boot.cmdline.as_deref(), Some("console=ttyS0"));
    assert_eq!(boot.initrd, None);
}

#[test]
fn butane_paths_are_relative_to_the_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["common.bu", "node.bu"] {
        std::fs::write(dir.path().join(f), "variant: fcos\nversion: 1.4.0\n").expect("write");
    }
    let spec = dir.path().join("cluster.yaml");
    let c = match load_str(
        &format!("{H}butane: common.bu\nnodes:\n  - name: a\n    butane: [node.bu]\n"),
        &spec,
        &LoadOptions {
            extra_butane: vec!["/first.bu".into()],
            name: None,
        },
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        c.butane,
        [
            Path::new("/first.bu").to_path_buf(),
            dir.path().join("common.bu")
        ]
    );
    assert_eq!(c.nodes[0].butane, [dir.path().join("node.bu")]);
}

#[test]
fn init_starter_spec_loads() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/cli/init/cluster.yaml"
    ));
    let c = match load(path, &LoadOptions::default()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["master1", "worker1", "worker2"]);
    assert_eq!(c.nodes[0].roles, [Role::ControlPlane]);
    assert_eq!(c.nodes[0].butane.len(), 1);
    assert!(c.nodes[1..].iter().all(|n| n.roles == [Role::Worker]));
}

/// A static address on a network the spec does not declare is the host's
/// to check (the plan reads that network's range), not the spec's.
#[test]
fn a_static_ip_on_an_undeclared_network_loads() {
    let text = format!(
        "{H}nodes:\n  - name: a\n    networks:\n      - {{name: default, ip: 192.168.122.9}}\n"
    );
    let c = virtstrap::spec::load_str(&text, Path::new("/x/cluster.yaml"), &LoadOptions::default())
        .expect("loads: the host checks the range");
    assert_eq!(
        c.nodes[0].networks[0].ip,
        Some("192.168.122.9".parse().expect("ip"))
    );
}

/// `ssh_authorized_keys` items may name a public key file, relative to the
/// spec; a file that cannot be read is an error at its line and column.
#[test]
fn ssh_keys_may_come_from_a_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("me.pub"),
        "# mine\nssh-ed25519 AAAAfile me@x\n\n",
    )
    .expect("key");
    let text = format!("{H}ssh_authorized_keys:\n  - ssh-ed25519 AAAAinline a@b\n  - {{ file: me.pub }}\nnodes: [ {{ name: a }} ]\n");
    let path = dir.path().join("cluster.yaml");
    let c = virtstrap::spec::load_str(&text, &path, &LoadOptions::default()).expect("loads");
    assert_eq!(
        c.ssh_authorized_keys,
        ["ssh-ed25519 AAAAinline a@b", "ssh-ed25519 AAAAfile me@x"]
    );
    let missing = text.replace("me.pub", "nope.pub");
    let e = virtstrap::spec::load_str(&missing, &path, &LoadOptions::default())
        .expect_err("missing file");
    let shown = e.to_string();
    assert!(
        shown.contains(
            "cluster.yaml:5:13: $.ssh_authorized_keys.1.file: cannot read the key file nope.pub"
        ),
        "{shown}"
    );
    assert!(shown.contains("ssh-keygen -t ed25519"), "{shown}");
}
