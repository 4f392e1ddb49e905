//! Addresses known before anything boots: every NIC's MAC and, on networks
//! the spec declares, its IPv4 address. Part of render (spec -> libvirt
//! objects); the network XML turns them into DHCP reservations and the
//! inventory can name each node's IP from the spec alone.
//!
//! Address plan of a declared nat/isolated network with CIDR `N/p`
//! (p <= 30): the first host (`.1` in a /24) is the gateway libvirt's bridge
//! takes; the **lower half** of the CIDR (after the gateway) holds the
//! reservations, assigned in node order, skipping every address the spec
//! gives explicitly to some NIC on that network; the **upper half** (up to
//! the last host) is the dynamic DHCP range for anything else. In a /24:
//! gateway `.1`, reservations `.2`-`.127`, DHCP range `.128`-`.254`.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::spec::{Cluster, Nic};

/// The deterministic MAC of the NIC of `node` in `cluster` on `network`
/// (see [`crate::spec::derived_mac`]).
pub fn mac(cluster: &str, node: &str, network: &str) -> String {
    crate::spec::derived_mac(cluster, node, network)
}

/// The MAC `nic` of `node` gets: the spec's own (lowercased, as libvirt
/// reports it) or [`mac`].
pub fn nic_mac(cluster: &Cluster, node: &str, nic: &Nic) -> String {
    match &nic.mac {
        Some(m) => m.to_ascii_lowercase(),
        None => mac(&cluster.name, node, &nic.network),
    }
}

/// The IPv4 address of NIC `nic_index` of node `node_index`: the spec's
/// `ip` if given; else, on a declared network with a CIDR, the next free
/// reservation (see the module doc). `None` for an undeclared
/// (pre-existing) network, a network without CIDR, a full CIDR, or
/// indices out of range.
pub fn ip(cluster: &Cluster, node_index: usize, nic_index: usize) -> Option<Ipv4Addr> {
    *ips(cluster).get(node_index)?.get(nic_index)?
}

/// Every NIC's address as [`ip`] gives it, per node and per NIC, in one
/// pass over the NICs (a hash set of the explicit addresses per network,
/// and one walk of each network's reservable addresses): linear in the
/// number of NICs, so a hundred thousand nodes cost no more per node than
/// three. Loops over nodes use this, not [`ip`].
pub fn ips(cluster: &Cluster) -> Vec<Vec<Option<Ipv4Addr>>> {
    let mut taken: HashMap<&str, HashSet<Ipv4Addr>> = HashMap::new();
    for nic in cluster.nodes.iter().flat_map(|n| &n.networks) {
        if let Some(ip) = nic.ip {
            taken.entry(nic.network.as_str()).or_default().insert(ip);
        }
    }
    let none = HashSet::new();
    let mut free: HashMap<&str, Box<dyn Iterator<Item = Ipv4Addr> + '_>> = HashMap::new();
    for net in &cluster.networks {
        if let Some(cidr) = net.cidr {
            let held = taken.get(net.name.as_str()).unwrap_or(&none);
            let left = reservable(cidr).filter(move |a| !held.contains(a));
            free.insert(net.name.as_str(), Box::new(left));
        }
    }
    cluster
        .nodes
        .iter()
        .map(|node| {
            node.networks
                .iter()
                .map(|nic| match nic.ip {
                    Some(ip) => Some(ip),
                    None => free.get_mut(nic.network.as_str())?.next(),
                })
                .collect()
        })
        .collect()
}

/// The gateway of `cidr`: its first host, which libvirt's bridge takes.
/// `None` for a /31 or /32, which have no room for guests.
pub fn gateway(cidr: Ipv4Net) -> Option<Ipv4Addr> {
    (cidr.prefix_len() <= 30).then(|| offset(cidr, 1))
}

/// The dynamic DHCP range of `cidr`: its upper half, without the
/// broadcast address. `None` for a /31 or /32.
pub fn dhcp_range(cidr: Ipv4Net) -> Option<(Ipv4Addr, Ipv4Addr)> {
    (cidr.prefix_len() <= 30).then(|| (offset(cidr, half(cidr)), offset(cidr, size(cidr) - 2)))
}

/// Addresses reservations are taken from: the lower half after the gateway.
fn reservable(cidr: Ipv4Net) -> impl Iterator<Item = Ipv4Addr> {
    let end = if cidr.prefix_len() <= 30 {
        half(cidr)
    } else {
        2
    };
    (2..end).map(move |i| offset(cidr, i))
}

fn size(cidr: Ipv4Net) -> u64 {
    1u64 << (32 - u32::from(cidr.prefix_len()))
}

fn half(cidr: Ipv4Net) -> u64 {
    size(cidr) / 2
}

fn offset(cidr: Ipv4Net, i: u64) -> Ipv4Addr {
    let base = u64::from(u32::from(cidr.network()));
    Ipv4Addr::from(u32::try_from(base + i).expect("offsets stay inside an IPv4 CIDR"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{
        Disk, DomainNaming, DomainType, Image, NetMode, Network, Node, Os, Placement,
    };

    fn nic(network: &str, ip: Option<&str>) -> Nic {
        Nic {
            network: network.into(),
            ip: ip.map(|s| s.parse().expect("test IP")),
            mac: None,
        }
    }

    fn node(name: &str, networks: Vec<Nic>) -> Node {
        Node {
            name: name.into(),
            roles: vec![],
            vcpus: 1,
            memory_mib: 512,
            disk: Disk {
                pool: "default".into(),
                size_bytes: 1 << 30,
            },
            extra_disks: vec![],
            networks,
            butane: vec![],
            domain_type: DomainType::Qemu,
            boot: None,
            placement: Placement::Single,
        }
    }

    fn cluster(cidr: &str, nodes: Vec<Node>) -> Cluster {
        Cluster {
            name: "c".into(),
            connect: None,
            os: Os::Fcos,
            image: Image {
                pool: "default".into(),
                volume: "b.qcow2".into(),
                format: "qcow2".into(),
            },
            ssh_authorized_keys: vec![],
            butane: vec![],
            domain_name: DomainNaming::Prefixed,
            nodes,
            pools: vec![],
            networks: vec![Network {
                name: "k8s".into(),
                mode: NetMode::Nat,
                cidr: Some(cidr.parse().expect("test CIDR")),
                bridge: None,
            }],
            hosts: vec![],
        }
    }

    #[test]
    fn mac_is_deterministic_and_in_libvirt_range() {
        let a = mac("potato", "master1", "default");
        assert_eq!(a, mac("potato", "master1", "default"));
        assert!(a.starts_with("52:54:00:"), "{a}");
        assert_eq!(a.len(), 17);
        assert!(a
            .chars()
            .all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, mac("potato", "master1", "k8s"));
        assert_ne!(a, mac("potato", "master2", "default"));
    }

    #[test]
    fn mac_fields_are_separated_unambiguously() {
        assert_ne!(mac("a", "b-c", "d"), mac("a-b", "c", "d"));
        assert_ne!(mac("ab", "", "c"), mac("a", "b", "c"));
    }

    #[test]
    fn spec_mac_wins() {
        let c = cluster("10.0.0.0/24", vec![]);
        let mut n = nic("k8s", None);
        n.mac = Some("52:54:00:AA:BB:CC".into());
        assert_eq!(nic_mac(&c, "x", &n), "52:54:00:aa:bb:cc");
        assert_eq!(nic_mac(&c, "x", &nic("k8s", None)), mac("c", "x", "k8s"));
    }

    #[test]
    fn ip_skips_gateway_and_explicit_addresses() {
        let c = cluster(
            "192.168.150.0/24",
            vec![
                node("a", vec![nic("k8s", None)]),
                node("b", vec![nic("k8s", Some("192.168.150.3"))]),
                node("c", vec![nic("default", None), nic("k8s", None)]),
                node("d", vec![nic("k8s", None)]),
            ],
        );
        let got: Vec<_> = [(0, 0), (1, 0), (2, 1), (3, 0)]
            .iter()
            .map(|&(n, k)| ip(&c, n, k).map(|a| a.to_string()))
            .collect();
        let want = [
            "192.168.150.2",
            "192.168.150.3",
            "192.168.150.4",
            "192.168.150.5",
        ];
        assert_eq!(got, want.map(|s| Some(s.to_string())));
        assert_eq!(ip(&c, 2, 0), None, "undeclared network");
        assert_eq!(ip(&c, 9, 0), None, "no such node");
    }

    #[test]
    fn ip_is_none_when_the_lower_half_is_full() {
        // /28: gateway .1, reservations .2-.7, DHCP .8-.14.
        let nodes = (0..7)
            .map(|i| node(&format!("n{i}"), vec![nic("k8s", None)]))
            .collect();
        let c = cluster("10.0.0.0/28", nodes);
        assert_eq!(ip(&c, 5, 0), Some("10.0.0.7".parse().expect("ip")));
        assert_eq!(ip(&c, 6, 0), None);
    }

    #[test]
    fn gateway_and_range_of_a_24() {
        let cidr: Ipv4Net = "192.168.150.0/24".parse().expect("cidr");
        assert_eq!(gateway(cidr), Some(Ipv4Addr::new(192, 168, 150, 1)));
        let (s, e) = dhcp_range(cidr).expect("range");
        assert_eq!(
            (s.to_string(), e.to_string()),
            ("192.168.150.128".into(), "192.168.150.254".into())
        );
        let tiny: Ipv4Net = "10.0.0.0/31".parse().expect("cidr");
        assert_eq!((gateway(tiny), dhcp_range(tiny)), (None, None));
    }
}
