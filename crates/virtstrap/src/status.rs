//! Each node as the host has it, beside what the spec says: what `status`
//! prints. Read from libvirt (the domain's state, vCPUs and memory, the
//! root volume's capacity) and the address each node was found at (lease,
//! ARP, agent); where the host differs from the spec, both are kept and
//! the row is marked as drift. Reads the host, changes
//! nothing (beside spec -> plan -> apply, not part of it).

use crate::libvirt::{Backend, BackendError};
use crate::plan::actual::ActualDomain;
use crate::render::addr::nic_mac;
use crate::render::host::{console_log_path, HostFacts};
use crate::render::storage::root_volume_name;
use crate::spec::size::human;
use crate::spec::Cluster;
use crate::wait::discover::addresses;

/// What a node has: vCPUs, memory, root disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    /// vCPUs.
    pub vcpus: Option<u32>,
    /// Memory in MiB.
    pub memory_mib: Option<u64>,
    /// Root disk capacity in bytes.
    pub disk_bytes: Option<u64>,
}

impl Sizes {
    /// What the spec gives `node`.
    pub fn of_spec(node: &crate::spec::Node) -> Sizes {
        Sizes {
            vcpus: Some(node.vcpus),
            memory_mib: Some(node.memory_mib),
            disk_bytes: Some(node.disk.size_bytes),
        }
    }
}

/// One node's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    /// Node name.
    pub node: String,
    /// Domain name.
    pub domain: String,
    /// `running`, `shut off`, `absent`, or `foreign` (a domain of that
    /// name that is not this node's).
    pub state: &'static str,
    /// What the spec says.
    pub spec: Sizes,
    /// What the host has (all `None` when the domain is absent or
    /// foreign).
    pub host: Sizes,
    /// Each difference, `vcpus 4 (spec 2)`; empty when none.
    pub drift: Vec<String>,
    /// MAC on the first network.
    pub mac: Option<String>,
    /// Reserved address on the first network.
    pub ip: Option<String>,
    /// The address the node has there, and where it was found
    /// (`lease`, `arp`, `agent`).
    pub found: Option<(String, &'static str)>,
    /// The serial console log.
    pub console_log: String,
}

/// Every node of `c`, as `backend` has it.
pub fn status(
    backend: &dyn Backend,
    c: &Cluster,
    facts: &HostFacts,
) -> Result<Vec<NodeStatus>, BackendError> {
    let addresses = addresses(backend, c)?;
    let mut rows = Vec::with_capacity(c.nodes.len());
    for (node, address) in c.nodes.iter().zip(addresses) {
        let domain = c.domain_name(node);
        let spec = Sizes::of_spec(node);
        let actual = backend
            .domain(&domain)?
            .map(|d| ActualDomain::from_state(&d));
        let ours = actual
            .as_ref()
            .and_then(|d| d.owner.as_ref())
            .is_some_and(|o| o.cluster == c.name);
        let (state, host) = match &actual {
            None => ("absent", Sizes::default()),
            Some(_) if !ours => ("foreign", Sizes::default()),
            Some(d) => {
                let root = backend.volume(&node.disk.pool, &root_volume_name(c, node))?;
                let state = if d.running { "running" } else { "shut off" };
                let host = Sizes {
                    vcpus: d.vcpus,
                    memory_mib: d.memory_mib,
                    disk_bytes: root.map(|v| v.capacity),
                };
                (state, host)
            }
        };
        let nic = node.networks.first();
        let mut drift = drift(&spec, &host);
        if let (Some(r), Some(f)) = (
            address.reserved,
            address.found.filter(|_| address.differs()),
        ) {
            drift.push(format!("address {} (reserved {r})", f.ip));
        }
        rows.push(NodeStatus {
            node: node.name.clone(),
            state,
            spec,
            host,
            drift,
            mac: nic.map(|n| nic_mac(c, &node.name, n)),
            ip: address.reserved.map(|a| a.to_string()),
            found: address.found.map(|f| (f.ip.to_string(), f.source.name())),
            console_log: console_log_path(facts, &domain).display().to_string(),
            domain,
        });
    }
    Ok(rows)
}

/// Where the host has a value and it is not the spec's.
fn drift(spec: &Sizes, host: &Sizes) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(h), Some(s)) = (host.vcpus, spec.vcpus) {
        if h != s {
            out.push(format!("vcpus {h} (spec {s})"));
        }
    }
    if let (Some(h), Some(s)) = (host.memory_mib, spec.memory_mib) {
        if h != s {
            out.push(format!("memory {h} MiB (spec {s} MiB)"));
        }
    }
    if let (Some(h), Some(s)) = (host.disk_bytes, spec.disk_bytes) {
        if h != s {
            out.push(format!("disk {} (spec {})", human(h), human(s)));
        }
    }
    out
}

impl NodeStatus {
    /// A node whose host did not answer: state `unknown`, the spec's
    /// sizes, nothing found.
    pub fn unknown(c: &Cluster, node: &crate::spec::Node) -> NodeStatus {
        NodeStatus {
            node: node.name.clone(),
            domain: c.domain_name(node),
            state: "unknown",
            spec: Sizes::of_spec(node),
            host: Sizes::default(),
            drift: Vec::new(),
            mac: node.networks.first().map(|n| nic_mac(c, &node.name, n)),
            ip: None,
            found: None,
            console_log: "-".into(),
        }
    }

    /// The sizes to show: the host's where it has them, else the spec's.
    pub fn shown(&self) -> Sizes {
        Sizes {
            vcpus: self.host.vcpus.or(self.spec.vcpus),
            memory_mib: self.host.memory_mib.or(self.spec.memory_mib),
            disk_bytes: self.host.disk_bytes.or(self.spec.disk_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_names_each_difference_and_only_where_the_host_has_a_value() {
        let spec = Sizes {
            vcpus: Some(2),
            memory_mib: Some(2048),
            disk_bytes: Some(20 << 30),
        };
        let host = Sizes {
            vcpus: Some(4),
            memory_mib: Some(2048),
            disk_bytes: None,
        };
        assert_eq!(drift(&spec, &host), vec!["vcpus 4 (spec 2)".to_string()]);
        assert!(drift(&spec, &Sizes::default()).is_empty());
        assert!(drift(&spec, &spec).is_empty());
    }
}
