//! A small cluster built in code for the render unit tests (the golden
//! tests load real spec files instead).

use std::path::PathBuf;

use crate::spec::{
    Cluster, Disk, DomainNaming, DomainType, Image, NetMode, Network, Nic, Node, Os, Placement,
    Pool,
};

/// Cluster `demo`: nodes `a` (extra disk in pool `bulk`), `b` (fixed IP
/// 10.10.0.3), `c`, all on nat network `k8s` 10.10.0.0/24, `qemu` type.
pub(crate) fn demo() -> Cluster {
    let node = |name: &str, ip: Option<&str>| Node {
        name: name.into(),
        roles: vec![],
        vcpus: 2,
        memory_mib: 2048,
        disk: Disk {
            pool: "default".into(),
            size_bytes: 10 << 30,
        },
        extra_disks: vec![],
        networks: vec![Nic {
            network: "k8s".into(),
            ip: ip.map(|s| s.parse().expect("test IP")),
            mac: None,
        }],
        butane: vec![],
        domain_type: DomainType::Qemu,
        boot: None,
        placement: Placement::Single,
    };
    let mut a = node("a", None);
    a.extra_disks.push(Disk {
        pool: "bulk".into(),
        size_bytes: 1 << 30,
    });
    Cluster {
        name: "demo".into(),
        connect: None,
        os: Os::Fcos,
        image: Image {
            pool: "default".into(),
            volume: "base.qcow2".into(),
            format: "qcow2".into(),
        },
        ssh_authorized_keys: vec![],
        butane: vec![],
        domain_name: DomainNaming::Prefixed,
        nodes: vec![a, node("b", Some("10.10.0.3")), node("c", None)],
        pools: vec![Pool {
            name: "bulk".into(),
            path: PathBuf::from("/srv/bulk"),
        }],
        networks: vec![Network {
            name: "k8s".into(),
            mode: NetMode::Nat,
            cidr: Some("10.10.0.0/24".parse().expect("test CIDR")),
            bridge: None,
        }],
        hosts: vec![],
    }
}
