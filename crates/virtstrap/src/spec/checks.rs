//! Checks across the whole cluster, run once nodes are expanded.
//!
//! The last part of the spec step (spec -> render -> plan -> apply): what
//! no single field shows. Two nodes that make the same domain, a pool or
//! network declared twice, overlapping CIDRs, a fixed address outside its
//! network or given twice, a MAC (given or derived) used twice, a file
//! that does not exist. Each problem points at where the spec wrote the
//! offending value, from the positions the reader kept.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::reader::Reader;
use super::{Cluster, Nic};

impl Reader {
    /// Checks across the whole cluster, after expansion.
    pub(super) fn check(&mut self, c: &Cluster) {
        self.check_duplicates(c);
        self.check_reservations(c);
        self.check_networks(c);
        self.check_nics(c);
        self.check_files(c);
    }

    /// Two nodes that make one domain name; a pool or network declared
    /// twice.
    fn check_duplicates(&mut self, c: &Cluster) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let srcs = std::mem::take(&mut self.srcs.node_names);
        for (i, node) in c.nodes.iter().enumerate() {
            let domain = c.domain_name(node);
            if let Some(&first) = seen.get(&domain) {
                let (path, mark) = &srcs[i];
                let (_, fmark) = &srcs[first];
                self.err(
                    path,
                    Some(*mark),
                    format!("node {} clashes with the node at line {} (both make domain {domain}); rename one", node.name, fmark.line),
                );
            } else {
                seen.insert(domain, i);
            }
        }
        self.srcs.node_names = srcs;
        for (names, srcs, what) in [
            (
                c.pools.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                std::mem::take(&mut self.srcs.pools),
                "pool",
            ),
            (
                c.networks.iter().map(|n| n.name.clone()).collect(),
                std::mem::take(&mut self.srcs.networks),
                "network",
            ),
        ] {
            for (i, name) in names.iter().enumerate() {
                if let Some(first) = names[..i].iter().position(|n| n == name) {
                    let (path, mark) = &srcs[i];
                    self.err(
                        path,
                        Some(*mark),
                        format!(
                            "{what} {name} is declared twice (first at line {})",
                            srcs[first].1.line
                        ),
                    );
                }
            }
        }
    }

    /// Declared networks whose address ranges overlap.
    fn check_networks(&mut self, c: &Cluster) {
        let srcs = std::mem::take(&mut self.srcs.cidrs);
        for (i, a) in c.networks.iter().enumerate() {
            for b in &c.networks[..i] {
                if let (Some(x), Some(y)) = (a.cidr, b.cidr) {
                    if x.contains(&y.network()) || y.contains(&x.network()) {
                        let (path, mark) = &srcs[i];
                        self.err(
                            path,
                            Some(*mark),
                            format!("network {} ({x}) overlaps network {} ({y})", a.name, b.name),
                        );
                    }
                }
            }
        }
    }

    /// Each NIC's fixed address fits its network and is nobody else's;
    /// each MAC, given or derived, is used once.
    fn check_nics(&mut self, c: &Cluster) {
        let srcs = std::mem::take(&mut self.srcs.nics);
        let mut ips: HashMap<(String, Ipv4Addr), String> = HashMap::new();
        let mut macs: HashMap<String, String> = HashMap::new();
        let mut domains: Vec<String> = Vec::new();
        for (n, node) in c.nodes.iter().enumerate() {
            // a node whose name clashes is reported once, by its name
            let domain = c.domain_name(node);
            if domains.contains(&domain) {
                continue;
            }
            domains.push(domain);
            for (k, nic) in node.networks.iter().enumerate() {
                let Some((path, ip_mark, mac_mark)) = srcs.get(n).and_then(|s| s.get(k)).cloned()
                else {
                    continue;
                };
                if let Some(ip) = nic.ip {
                    if let Some(msg) = ip_problem(c, nic, ip, &mut ips, &node.name) {
                        self.err(&path.key("ip"), Some(ip_mark), msg);
                    }
                }
                let (mac, derived) = match &nic.mac {
                    Some(m) => (m.clone(), false),
                    None => (super::derived_mac(&c.name, &node.name, &nic.network), true),
                };
                if let Some(other) = macs.insert(mac.clone(), node.name.clone()) {
                    let msg = if derived {
                        format!("the MAC derived for this NIC ({mac}) is also node {other}'s; set mac: on one of them")
                    } else {
                        format!("mac {mac} is also given to node {other}")
                    };
                    self.err(&path.key("mac"), Some(mac_mark), msg);
                }
            }
        }
    }
}

/// What is wrong with a fixed `ip` on `nic`, if anything.
fn ip_problem(
    c: &Cluster,
    nic: &Nic,
    ip: Ipv4Addr,
    taken: &mut HashMap<(String, Ipv4Addr), String>,
    node: &str,
) -> Option<String> {
    let net = &nic.network;
    let also_given = |taken: &mut HashMap<(String, Ipv4Addr), String>| {
        taken
            .insert((net.clone(), ip), node.to_string())
            .map(|other| format!("ip {ip} is also given to node {other}"))
    };
    let Some(network) = c.network(net) else {
        // a network the spec does not declare: its range is the host's,
        // checked when the plan reads the network
        return also_given(taken);
    };
    let Some(cidr) = network.cidr else {
        return Some(format!(
            "ip {ip} cannot be reserved on {} network {net}: its addresses come from the LAN's DHCP",
            network.mode.as_str()
        ));
    };
    if !cidr.contains(&ip) {
        return Some(format!("ip {ip} is outside network {net} ({cidr})"));
    }
    if ip == cidr.network() || ip == cidr.broadcast() || Some(ip) == cidr.hosts().next() {
        return Some(format!(
            "ip {ip} is reserved in {cidr} (network, gateway or broadcast address)"
        ));
    }
    also_given(taken)
}
