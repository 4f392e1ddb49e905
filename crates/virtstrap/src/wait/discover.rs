//! Where a node answers: each interface's address, from the DHCP lease
//! its libvirt network handed out, else the host's ARP table, else the
//! QEMU guest agent (the order the design gives: the cheapest and surest
//! first). Reads the host through the [`Backend`]; changes nothing.

use std::net::Ipv4Addr;

use crate::libvirt::{AddressSource, Backend, BackendError};
use crate::plan::actual::ActualDomain;
use crate::plan::DesiredNode;
use crate::render::addr::{ips, nic_mac};
use crate::spec::Cluster;

/// An address found, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The address.
    pub ip: Ipv4Addr,
    /// Who knew it.
    pub source: AddressSource,
}

/// Each of `macs`' address on the running domain `domain`, in order.
pub fn discover(
    backend: &dyn Backend,
    domain: &str,
    macs: &[String],
) -> Result<Vec<Option<Found>>, BackendError> {
    let mut found = vec![None; macs.len()];
    for source in [
        AddressSource::Lease,
        AddressSource::Arp,
        AddressSource::Agent,
    ] {
        if found.iter().all(Option::is_some) {
            break;
        }
        for a in backend.interface_addresses(domain, source)? {
            let Some(i) = macs.iter().position(|m| m.eq_ignore_ascii_case(&a.mac)) else {
                continue;
            };
            if found[i].is_none() {
                found[i] = Some(Found { ip: a.ip, source });
            }
        }
    }
    Ok(found)
}

/// The address a node's first interface should take: the spec's (a
/// static `ip:`, or its reservation on a declared network), else the
/// DHCP host entry its record lists on a network virtstrap does not own.
pub fn reserved(node: &DesiredNode, domain: Option<&ActualDomain>) -> Option<Ipv4Addr> {
    let nic = node.nics.first()?;
    nic.ip.or_else(|| {
        let owner = domain?.owner.as_ref()?;
        let r = owner.reservations.iter().find(|r| r.mac == nic.mac)?;
        Some(r.ip)
    })
}

/// A node's first interface: the address it should take, and the one it
/// has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAddress {
    /// Node name.
    pub node: String,
    /// What the spec or the node's record reserves.
    pub reserved: Option<Ipv4Addr>,
    /// What discovery found (none when not running or not yet leased).
    pub found: Option<Found>,
}

impl NodeAddress {
    /// The address to reach the node at: the one found, else the
    /// reserved one.
    pub fn best(&self) -> Option<Ipv4Addr> {
        self.found.map(|f| f.ip).or(self.reserved)
    }

    /// Whether the node answers at another address than it should.
    pub fn differs(&self) -> bool {
        matches!((self.reserved, self.found), (Some(r), Some(f)) if r != f.ip)
    }
}

/// The first interface of every node of `cluster` (in spec order), as the
/// host has it. Needs no rendering: MACs and reservations come from the
/// spec and the domains' records.
pub fn addresses(
    backend: &dyn Backend,
    cluster: &Cluster,
) -> Result<Vec<NodeAddress>, BackendError> {
    let mut out = Vec::with_capacity(cluster.nodes.len());
    let ips = ips(cluster);
    for (i, node) in cluster.nodes.iter().enumerate() {
        let Some(nic) = node.networks.first() else {
            out.push(NodeAddress {
                node: node.name.clone(),
                reserved: None,
                found: None,
            });
            continue;
        };
        let mac = nic_mac(cluster, &node.name, nic);
        let domain = cluster.domain_name(node);
        let actual = backend
            .domain(&domain)?
            .map(|d| ActualDomain::from_state(&d));
        let ours = actual.as_ref().filter(|d| {
            d.owner
                .as_ref()
                .is_some_and(|o| o.is_node(&cluster.name, &node.name))
        });
        let recorded = ours
            .and_then(|d| d.owner.as_ref())
            .and_then(|o| o.reservations.iter().find(|r| r.mac == mac).map(|r| r.ip));
        let found = match ours {
            Some(d) if d.running => discover(backend, &domain, std::slice::from_ref(&mac))?
                .into_iter()
                .next()
                .flatten(),
            _ => None,
        };
        out.push(NodeAddress {
            node: node.name.clone(),
            reserved: ips[i].first().copied().flatten().or(recorded),
            found,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::fake::{FakeBackend, FakeState};
    use crate::libvirt::InterfaceAddress;

    #[test]
    fn the_lease_comes_first_then_arp_then_the_agent() {
        let mut s = FakeState::default();
        let at = |mac: &str, ip: &str| InterfaceAddress {
            mac: mac.into(),
            ip: ip.parse().expect("ip"),
        };
        s.addresses.insert(
            ("d".into(), AddressSource::Arp),
            vec![
                at("52:54:00:00:00:01", "10.0.0.9"),
                at("52:54:00:00:00:02", "10.0.1.2"),
            ],
        );
        s.addresses.insert(
            ("d".into(), AddressSource::Lease),
            vec![at("52:54:00:00:00:01", "10.0.0.1")],
        );
        s.addresses.insert(
            ("d".into(), AddressSource::Agent),
            vec![at("52:54:00:00:00:03", "10.0.2.3")],
        );
        let b = FakeBackend::with_state(s);
        let macs = [
            "52:54:00:00:00:01",
            "52:54:00:00:00:02",
            "52:54:00:00:00:03",
            "52:54:00:00:00:04",
        ]
        .map(String::from);
        let found = discover(&b, "d", &macs).expect("fake");
        let got: Vec<_> = found
            .iter()
            .map(|f| f.map(|f| (f.ip.to_string(), f.source)))
            .collect();
        assert_eq!(
            got,
            [
                Some(("10.0.0.1".into(), AddressSource::Lease)),
                Some(("10.0.1.2".into(), AddressSource::Arp)),
                Some(("10.0.2.3".into(), AddressSource::Agent)),
                None,
            ]
        );
    }
}
