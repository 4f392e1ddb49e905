//! Which host each node of a cluster over several hosts runs on.
//!
//! Part of planning (spec -> desired -> **placement** -> diff -> apply),
//! pure: the spec's `host:` pins a node; a node with `placement: spread`
//! that already exists on one of the hosts stays there (adding a host,
//! or a change in free memory, never moves a node that exists); every
//! other spread node goes, in spec order, to the host with the most free
//! memory left after the new nodes placed before it, ties to the host
//! written first. The same spec, hosts and readings give the same
//! placement.

use std::collections::HashMap;

use crate::spec::{Node, Placement};

/// What placement knows of one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRoom {
    /// The spec's name for the host.
    pub name: String,
    /// Its free memory, in bytes, as the host reported it.
    pub free_bytes: u64,
}

/// The host of every node, by node name. `existing` maps the name of a
/// node found on a host to that host's name. Nodes without `hosts:`
/// ([`Placement::Single`]) are left out.
pub fn place(
    nodes: &[Node],
    hosts: &[HostRoom],
    existing: &HashMap<String, String>,
) -> HashMap<String, String> {
    let mut room: Vec<i128> = hosts.iter().map(|h| i128::from(h.free_bytes)).collect();
    let index = |name: &str| hosts.iter().position(|h| h.name == name);
    let mut out = HashMap::new();
    let mut spread = Vec::new();
    for n in nodes {
        let fixed = match &n.placement {
            Placement::Single => continue,
            Placement::Host(h) => Some((h.clone(), existing.get(&n.name) != Some(h))),
            Placement::Spread => existing
                .get(&n.name)
                .filter(|h| index(h).is_some())
                .map(|h| (h.clone(), false)),
        };
        match fixed {
            Some((host, new)) => {
                if let (true, Some(i)) = (new, index(&host)) {
                    room[i] -= memory(n);
                }
                out.insert(n.name.clone(), host);
            }
            None => spread.push(n),
        }
    }
    for n in spread {
        // the most room; max_by_key keeps the last of equals, so walk
        // the hosts backwards to keep the first written
        let Some(i) = (0..hosts.len()).rev().max_by_key(|&i| room[i]) else {
            break;
        };
        room[i] -= memory(n);
        out.insert(n.name.clone(), hosts[i].name.clone());
    }
    out
}

/// A node's memory in bytes.
fn memory(n: &Node) -> i128 {
    i128::from(n.memory_mib) * 1024 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testutil::demo;

    const MIB: u64 = 1024 * 1024;

    fn nodes(spec: &[(&str, u64, Placement)]) -> Vec<Node> {
        let template = demo().nodes[0].clone();
        spec.iter()
            .map(|(name, mib, p)| Node {
                name: (*name).into(),
                memory_mib: *mib,
                placement: p.clone(),
                ..template.clone()
            })
            .collect()
    }

    fn rooms(spec: &[(&str, u64)]) -> Vec<HostRoom> {
        spec.iter()
            .map(|(name, mib)| HostRoom {
                name: (*name).into(),
                free_bytes: mib * MIB,
            })
            .collect()
    }

    fn sorted(m: &HashMap<String, String>) -> Vec<(String, String)> {
        let mut v: Vec<_> = m.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
        v.sort();
        v
    }

    fn pairs(spec: &[(&str, &str)]) -> Vec<(String, String)> {
        spec.iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect()
    }

    #[test]
    fn spread_fills_the_host_with_most_free_memory_first() {
        let n = nodes(&[
            ("w1", 1024, Placement::Spread),
            ("w2", 1024, Placement::Spread),
            ("w3", 1024, Placement::Spread),
            ("w4", 1024, Placement::Spread),
        ]);
        // a: 3 GiB free, b: 2.5 GiB: a (2 left), b (1.5), a (1), b (0.5)
        let got = place(&n, &rooms(&[("a", 3072), ("b", 2560)]), &HashMap::new());
        assert_eq!(
            sorted(&got),
            pairs(&[("w1", "a"), ("w2", "b"), ("w3", "a"), ("w4", "b")])
        );
    }

    #[test]
    fn ties_go_to_the_host_written_first() {
        let n = nodes(&[("w1", 512, Placement::Spread)]);
        let got = place(&n, &rooms(&[("b", 1024), ("a", 1024)]), &HashMap::new());
        assert_eq!(sorted(&got), pairs(&[("w1", "b")]));
    }

    #[test]
    fn pinned_nodes_stay_pinned_and_use_their_hosts_room() {
        let n = nodes(&[
            ("cp", 2048, Placement::Host("a".into())),
            ("w1", 1024, Placement::Spread),
            ("one", 64, Placement::Single),
        ]);
        // a has 2.5 GiB but cp takes 2 of it: w1 goes to b (1 GiB)
        let got = place(&n, &rooms(&[("a", 2560), ("b", 1024)]), &HashMap::new());
        assert_eq!(sorted(&got), pairs(&[("cp", "a"), ("w1", "b")]));
    }

    #[test]
    fn existing_nodes_never_move_when_a_host_is_added() {
        let n = nodes(&[
            ("w1", 1024, Placement::Spread),
            ("w2", 1024, Placement::Spread),
            ("w3", 1024, Placement::Spread),
        ]);
        let first = place(&n, &rooms(&[("a", 4096)]), &HashMap::new());
        assert!(first.values().all(|h| h == "a"));
        // a new, emptier host: what exists stays on a; only a new node
        // (w4) would go to c
        let mut more = n.clone();
        more.extend(nodes(&[("w4", 1024, Placement::Spread)]));
        let hosts = rooms(&[("a", 1024), ("c", 8192)]);
        let got = place(&more, &hosts, &first);
        assert_eq!(
            sorted(&got),
            pairs(&[("w1", "a"), ("w2", "a"), ("w3", "a"), ("w4", "c")])
        );
        // and the same readings give the same answer
        assert_eq!(place(&more, &hosts, &first), got);
    }

    #[test]
    fn a_node_found_on_a_host_no_longer_listed_is_placed_again() {
        let n = nodes(&[("w1", 1024, Placement::Spread)]);
        let existing = HashMap::from([("w1".to_string(), "gone".to_string())]);
        let got = place(&n, &rooms(&[("a", 1024)]), &existing);
        assert_eq!(sorted(&got), pairs(&[("w1", "a")]));
    }
}
