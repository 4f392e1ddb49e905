//! MACs that would collide, derived anew.
//!
//! Part of the spec step (spec -> render -> plan -> apply), after `count`
//! expansion and before the cross-checks. A derived MAC has 24 bits, so
//! among thousands of expanded copies (`count: 10000`) some would share
//! one, and the user could not fix it: the copies have no `mac:` of their
//! own. Here every NIC without a `mac:` whose derived MAC is unique keeps
//! it (existing clusters see no NIC change); of those that share one, the
//! first in spec order keeps it and each other gets the first retry
//! ([`derived_mac_retry`]) that no NIC has, written into its `mac`.
//! Deterministic: the same spec gives the same MACs.

use std::collections::{HashMap, HashSet};

use super::{derived_mac, derived_mac_retry, Cluster};

/// Retries tried per NIC; 24 bits hold far more NICs than a spec can.
const MAX_RETRIES: u64 = 64;

/// Give each NIC whose derived MAC another NIC has (given or derived,
/// earlier in spec order) a MAC nothing else has.
pub(super) fn rederive_colliding(c: &mut Cluster) {
    let mut taken: HashSet<String> = HashSet::new();
    let mut first: HashMap<String, (usize, usize)> = HashMap::new();
    for (n, node) in c.nodes.iter().enumerate() {
        for (k, nic) in node.networks.iter().enumerate() {
            match &nic.mac {
                Some(m) => {
                    taken.insert(m.to_ascii_lowercase());
                }
                None => {
                    let mac = derived_mac(&c.name, &node.name, &nic.network);
                    first.entry(mac.clone()).or_insert((n, k));
                    taken.insert(mac);
                }
            }
        }
    }
    let given: HashSet<String> = c
        .nodes
        .iter()
        .flat_map(|n| n.networks.iter().filter_map(|nic| nic.mac.clone()))
        .map(|m| m.to_ascii_lowercase())
        .collect();
    for (n, node) in c.nodes.iter_mut().enumerate() {
        for (k, nic) in node.networks.iter_mut().enumerate() {
            if nic.mac.is_some() {
                continue;
            }
            let mac = derived_mac(&c.name, &node.name, &nic.network);
            if first.get(&mac) == Some(&(n, k)) && !given.contains(&mac) {
                continue;
            }
            let free = (1..=MAX_RETRIES)
                .map(|a| derived_mac_retry(&c.name, &node.name, &nic.network, a))
                .find(|m| !taken.contains(m));
            // none free: left derived, and the cross-checks report it
            if let Some(m) = free {
                taken.insert(m.clone());
                nic.mac = Some(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use crate::spec::{derived_mac, load_str, LoadOptions};

    /// `count` workers on one /8 network.
    fn spec(count: u32) -> String {
        format!(
            "name: demo\nimage: {{pool: default, volume: fcos.qcow2}}\nnetworks:\n  - {{name: big, \
             cidr: 10.0.0.0/8}}\nnodes:\n  - name: w\n    count: {count}\n    networks: [big]\n"
        )
    }

    #[test]
    fn expanded_copies_never_share_a_mac_and_the_rest_keep_theirs() {
        let c = match load_str(&spec(10_000), Path::new("c.yaml"), &LoadOptions::default()) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let first: Vec<String> = c
            .nodes
            .iter()
            .map(|n| derived_mac("demo", &n.name, "big"))
            .collect();
        let distinct: HashSet<&String> = first.iter().collect();
        assert!(
            distinct.len() < first.len(),
            "the case has a collision to resolve"
        );
        let mut seen = HashSet::new();
        for (n, v1) in c.nodes.iter().zip(&first) {
            let nic = &n.networks[0];
            let mac = nic.mac.clone().unwrap_or_else(|| v1.clone());
            assert!(seen.insert(mac.clone()), "{} reuses {mac}", n.name);
            // of NICs sharing a first MAC, only the first keeps it
            let first_with = first.iter().position(|m| m == v1);
            let this = c.nodes.iter().position(|m| m.name == n.name);
            assert_eq!(nic.mac.is_none(), first_with == this, "{}", n.name);
            if first.iter().filter(|m| *m == v1).count() == 1 {
                assert_eq!(nic.mac, None, "{} had no collision", n.name);
            }
        }
    }
}
