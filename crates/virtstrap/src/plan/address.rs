//! Addresses known before boot on networks the spec does not declare
//! (`default`, or any libvirt network with DHCP someone else made): part
//! of the diff (spec -> desired -> **plan** -> apply), pure. Each node
//! NIC on such a network gets a DHCP host entry at an address inside the
//! network's DHCP range that no other host entry and no current lease
//! holds; the domain's owner record lists the entries, so destroy removes
//! exactly those and every foreign entry stays as it was. A static `ip:`
//! is checked against the network instead of chosen. A network without
//! libvirt's DHCP (bridge mode onto a host bridge) gets no entry: its
//! addresses are found, not reserved.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::render::owner::Reservation;

use super::actual::{Actual, NetworkDhcp};
use super::desired::{Desired, DesiredNic, DesiredNode};

/// The address plan: each node's reservations, and what could not be
/// reserved and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addresses {
    /// Each node's reservations (by node name), in NIC order.
    pub reservations: BTreeMap<String, Vec<Reservation>>,
    /// Networks whose addresses are found, not reserved, and why.
    pub notes: Vec<String>,
}

/// Reserve an address for every NIC on a network the spec does not
/// declare; problems (a static address outside the network or taken, a
/// full range) go to `conflicts`.
pub fn plan(want: &Desired, actual: &Actual, conflicts: &mut Vec<String>) -> Addresses {
    let mut out = Addresses::default();
    let mut picked: BTreeMap<&str, BTreeSet<Ipv4Addr>> = BTreeMap::new();
    for node in &want.nodes {
        let recorded = recorded(want, actual, node);
        let mut mine = Vec::new();
        for nic in node
            .nics
            .iter()
            .filter(|n| !want.declares_network(&n.network))
        {
            let Some(net) = actual.network(&nic.network) else {
                continue; // reported by the diff: missing network
            };
            let Some(dhcp) = &net.dhcp else {
                let note = format!(
                    "network {} has no DHCP run by libvirt: its addresses are found, not reserved",
                    nic.network
                );
                if !out.notes.contains(&note) {
                    out.notes.push(note);
                }
                continue;
            };
            let taken = picked.entry(nic.network.as_str()).or_default();
            let ip = match choose(dhcp, nic, &recorded, taken) {
                Ok(ip) => ip,
                Err(why) => {
                    conflicts.push(format!(
                        "node {} on network {}: {why}",
                        node.node, nic.network
                    ));
                    continue;
                }
            };
            taken.insert(ip);
            mine.push(Reservation {
                network: nic.network.clone(),
                mac: nic.mac.clone(),
                ip,
            });
        }
        out.reservations.insert(node.node.clone(), mine);
    }
    out
}

/// What the node's owner record lists, if the domain is this node's.
fn recorded(want: &Desired, actual: &Actual, node: &DesiredNode) -> Vec<Reservation> {
    actual
        .domain(&node.domain)
        .and_then(|d| d.owner.as_ref())
        .filter(|o| o.is_node(&want.cluster, &node.node))
        .map(|o| o.reservations.clone())
        .unwrap_or_default()
}

/// The address for `nic`: the host entry its MAC already has (a killed
/// apply's, or ours), else what its record says, else the spec's static
/// address, else the lowest free one in the DHCP range.
fn choose(
    dhcp: &NetworkDhcp,
    nic: &DesiredNic,
    recorded: &[Reservation],
    picked: &BTreeSet<Ipv4Addr>,
) -> Result<Ipv4Addr, String> {
    let entry = dhcp
        .hosts
        .iter()
        .find(|h| h.mac.as_deref() == Some(nic.mac.as_str()));
    if let Some(ip) = entry.and_then(|h| h.ip) {
        return match nic.ip {
            Some(want) if want != ip => Err(format!(
                "the network's host entry for {} says {ip}, the spec says {want}: remove the \
                 entry (virsh net-update {} delete ip-dhcp-host ...) or change the spec",
                nic.mac, nic.network
            )),
            _ => Ok(ip),
        };
    }
    let held = |ip: Ipv4Addr| held_by_others(dhcp, &nic.mac, ip) || picked.contains(&ip);
    if let Some(want) = nic.ip {
        if let Some(subnet) = dhcp.subnet.filter(|s| !s.contains(&want)) {
            return Err(format!(
                "ip {want} is outside the network's subnet {subnet}"
            ));
        }
        if held(want) {
            return Err(format!("ip {want} is held by another host entry or lease"));
        }
        return Ok(want);
    }
    let before = recorded
        .iter()
        .find(|r| r.network == nic.network && r.mac == nic.mac)
        .map(|r| r.ip);
    if let Some(ip) = before.filter(|&ip| !held(ip)) {
        return Ok(ip);
    }
    free_in_range(dhcp, &held).ok_or_else(|| {
        "no free address left in the network's DHCP range (every one is held by a host entry \
         or a lease): widen the range or give the node a static ip"
            .to_string()
    })
}

/// Whether a host entry or lease of another MAC holds `ip`.
fn held_by_others(dhcp: &NetworkDhcp, mac: &str, ip: Ipv4Addr) -> bool {
    let host = dhcp
        .hosts
        .iter()
        .any(|h| h.ip == Some(ip) && h.mac.as_deref() != Some(mac));
    let lease = dhcp.leases.iter().any(|l| l.ip == ip && l.mac != mac);
    host || lease
}

fn free_in_range(dhcp: &NetworkDhcp, held: &dyn Fn(Ipv4Addr) -> bool) -> Option<Ipv4Addr> {
    dhcp.ranges.iter().find_map(|&(start, end)| {
        (u32::from(start)..=u32::from(end))
            .map(Ipv4Addr::from)
            .find(|&ip| !held(ip))
    })
}

/// The `<host/>` XML of a reservation, for `virNetworkUpdate`: named
/// after the domain, which is unique on the host (libvirt refuses a
/// second entry with the same name on one network).
pub fn host_xml(r: &Reservation, domain: &str) -> String {
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    format!(
        "<host mac='{}' name='{}' ip='{}'/>",
        esc(&r.mac),
        esc(domain),
        r.ip
    )
}
