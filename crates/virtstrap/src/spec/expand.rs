//! `count` expansion: the nodes as written become the nodes there are.
//!
//! Part of the spec step (spec -> render -> plan -> apply), between
//! reading and the cross-checks. Each node as written gets every field
//! it left out from `defaults:`, else from the built-in default, and a
//! node with `count: N` becomes N nodes named `name1`..`nameN`. The
//! positions of each expanded node's name and NICs are kept, so the
//! cross-checks can point at what the spec wrote.

use virtstrap_butane::yaml::Mark;
use virtstrap_butane::KeyPath;

use super::node::NodePart;
use super::reader::{At, Reader};
use super::{Disk, DomainType, Host, Nic, Node as SpecNode, Placement, Role};

impl Reader {
    /// Defaults applied, `count` expanded.
    pub(super) fn expand(
        &mut self,
        defaults: &NodePart,
        parts: Vec<NodePart>,
        hosts: Option<&[Host]>,
    ) -> Vec<SpecNode> {
        let mut nodes = Vec::new();
        for part in parts {
            let Some(name) = part.name.clone() else {
                continue;
            };
            self.check_name(&name.v, &name.path, name.mark, 63);
            let Some(count) = self.count(&part) else {
                continue;
            };
            self.check_numbered_length(&name, &part, count);
            let nics = nics_or_default(&part, defaults, &name);
            let placement = self.placement(&part, defaults, &name, hosts);
            for i in 1..=count {
                self.srcs.node_names.push((name.path.clone(), name.mark));
                let marks = self.nic_srcs(&nics);
                self.srcs.nics.push(marks);
                let node_name = numbered(&name.v, part.count.is_some(), i);
                let mut node = defaulted(&part, defaults, node_name, &nics);
                node.placement = placement.clone();
                nodes.push(node);
            }
        }
        nodes
    }

    /// How many nodes `part` makes: its `count`, else 1; `None` (and a
    /// problem) when the count is out of range.
    fn count(&mut self, part: &NodePart) -> Option<u64> {
        match &part.count {
            Some(c) if c.v == 0 || c.v > 10_000 => {
                self.err(
                    &c.path,
                    Some(c.mark),
                    format!("count {} is out of range (1 to 10000)", c.v),
                );
                None
            }
            Some(c) => Some(c.v),
            None => Some(1),
        }
    }

    /// `name` and the largest `count` suffix make one hostname, which is
    /// one DNS label: at most 63 characters.
    fn check_numbered_length(&mut self, name: &At<String>, part: &NodePart, count: u64) {
        if part.count.is_none() {
            return;
        }
        let longest = name.v.len() + count.to_string().len();
        if name.v.len() <= 63 && longest > 63 {
            let msg = format!(
                "with count {count}, node {} makes names of up to {longest} characters \
                 ({}{count}); a hostname is at most 63: shorten the name to {} characters",
                name.v,
                name.v,
                63 - count.to_string().len()
            );
            self.err(&name.path, Some(name.mark), msg);
        }
    }

    /// Per NIC: its path and where its ip and mac were written (the NIC's
    /// own position when they were not).
    fn nic_srcs(&self, nics: &[At<Nic>]) -> Vec<(KeyPath, Mark, Mark)> {
        nics.iter()
            .map(|n| {
                let found = self.nic_marks.iter().find(|(m, _, _)| *m == n.mark);
                let (ip, mac) = found.map_or((n.mark, n.mark), |(_, ip, mac)| (*ip, *mac));
                (n.path.clone(), ip, mac)
            })
            .collect()
    }
}

/// The node's NICs, else the defaults', else one on the `default`
/// network, placed at the node's name.
fn nics_or_default(part: &NodePart, defaults: &NodePart, name: &At<String>) -> Vec<At<Nic>> {
    pick(&part.networks, &defaults.networks).unwrap_or_else(|| {
        vec![At {
            v: Nic {
                network: "default".into(),
                ip: None,
                mac: None,
            },
            path: name.path.clone(),
            mark: name.mark,
        }]
    })
}

/// The `i`th node's name: `name` alone, or `name` and `i` when the node
/// has a `count`.
fn numbered(name: &str, counted: bool, i: u64) -> String {
    if counted {
        format!("{name}{i}")
    } else {
        name.to_string()
    }
}

/// Node `name` of `part`: each field its own, else the default's, else
/// the built-in default.
fn defaulted(part: &NodePart, defaults: &NodePart, name: String, nics: &[At<Nic>]) -> SpecNode {
    SpecNode {
        name,
        roles: pick(&part.roles, &defaults.roles).unwrap_or_else(|| vec![Role::Worker]),
        vcpus: part.vcpus.or(defaults.vcpus).unwrap_or(2),
        memory_mib: part.memory_mib.or(defaults.memory_mib).unwrap_or(4096),
        disk: pick(&part.disk, &defaults.disk).unwrap_or_else(|| Disk {
            pool: "default".into(),
            size_bytes: 20 * 1024 * 1024 * 1024,
        }),
        extra_disks: pick(&part.extra_disks, &defaults.extra_disks).unwrap_or_default(),
        networks: nics.iter().map(|n| n.v.clone()).collect(),
        butane: pick(&part.butane, &defaults.butane)
            .map(|files| files.into_iter().map(|f| f.v).collect())
            .unwrap_or_default(),
        domain_type: part
            .domain_type
            .or(defaults.domain_type)
            .unwrap_or(DomainType::Kvm),
        boot: pick(&part.boot, &defaults.boot).map(|b| b.v),
        placement: Placement::Single,
    }
}

/// The node's own value, else the default's.
fn pick<T: Clone>(own: &Option<T>, default: &Option<T>) -> Option<T> {
    own.clone().or_else(|| default.clone())
}
