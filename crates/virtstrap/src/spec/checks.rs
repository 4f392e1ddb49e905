//! Checks across the whole cluster, run once nodes are expanded.
//!
//! The last part of the spec step (spec -> render -> plan -> apply): what
//! no single field shows. Two nodes that make the same domain, a pool or
//! network declared twice, overlapping CIDRs, a fixed address outside its
//! network or given twice, a MAC (given or derived) used twice, a file
//! that does not exist. Each problem points at where the spec wrote the
//! offending value, from the positions the reader kept.
//!
//! It also holds the one rule for names that become libvirt objects or
//! paths on the host (pools, volumes, networks, bridges), which the
//! readers apply where each name is written.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use virtstrap_butane::yaml::Mark;
use virtstrap_butane::KeyPath;

use super::reader::Reader;
use super::{Cluster, Nic};

/// What a name refers to on the host, which decides its length limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ObjectName {
    /// A libvirt storage pool (its config file is `<name>.xml`).
    Pool,
    /// A volume: a file name inside its pool's directory.
    Volume,
    /// A libvirt network (its config file is `<name>.xml`).
    Network,
    /// A Linux network interface (a host bridge).
    Bridge,
}

impl ObjectName {
    /// How the name is called in a message, and its longest length.
    fn what(self) -> (&'static str, usize) {
        match self {
            ObjectName::Pool => ("pool", 64),
            // a file name: NAME_MAX
            ObjectName::Volume => ("volume", 255),
            ObjectName::Network => ("network", 64),
            // IFNAMSIZ (16) less the terminating NUL
            ObjectName::Bridge => ("host bridge", 15),
        }
    }
}

/// Why `name` cannot name a `kind` object on the host, if it cannot.
///
/// One strict rule for all of them, narrower than libvirt's own (which
/// refuses only '/' in pool, volume and network names) and than Linux's
/// for interfaces (no '/', ':' or whitespace, at most 15 bytes): ASCII
/// letters, digits, '-', '_', '.' and '+', not starting with '.' (so
/// never `.`, `..` or a hidden file) or '-' (never read as an option).
/// So a name can never leave its pool's directory, break the XML or a
/// QEMU option list it is written into, or be shown as markup.
pub(super) fn object_name_problem(name: &str, kind: ObjectName) -> Option<String> {
    let (what, max) = kind.what();
    let chars_ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'));
    let ok = !name.is_empty()
        && name.len() <= max
        && chars_ok
        && !name.starts_with('.')
        && !name.starts_with('-');
    (!ok).then(|| {
        format!(
            "{name:?} is not a valid {what} name: use 1 to {max} ASCII letters, digits, \
             '-', '_', '.' and '+', not starting with '.' or '-'"
        )
    })
}

impl Reader {
    /// Record a problem unless `name` may name a `kind` object on the
    /// host (see [`object_name_problem`]); whether it may.
    pub(super) fn check_object_name(
        &mut self,
        name: &str,
        kind: ObjectName,
        path: &KeyPath,
        mark: Mark,
    ) -> bool {
        match object_name_problem(name, kind) {
            Some(msg) => {
                self.err(path, Some(mark), msg);
                false
            }
            None => true,
        }
    }

    /// `--name`, a vars file's cluster name, follows the rule of the
    /// spec's `name:`; it was not written in the file, so it has no
    /// position there.
    pub(super) fn check_name_arg(&mut self, name: &str) {
        let before = self.problems.len();
        self.check_name(name, &KeyPath::root(), Mark { line: 1, col: 1 }, 40);
        for p in &mut self.problems[before..] {
            p.mark = None;
            p.message = format!("--name {}", p.message);
        }
    }

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
        let mut domains: HashSet<String> = HashSet::new();
        for (n, node) in c.nodes.iter().enumerate() {
            // a node whose name clashes is reported once, by its name
            if !domains.insert(c.domain_name(node)) {
                continue;
            }
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
