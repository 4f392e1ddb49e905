//! The Ansible inventory kubespray reads, made from the spec: which node
//! is in which of kubespray's groups and the variables each host needs.
//! It sits beside spec -> render -> plan -> apply, at the end: pure data
//! in ([`Cluster`] and each node's address on its first network), text
//! out in one of three [`Format`]s. Where the addresses come from is the
//! caller's business: [`planned_addresses`] gives the ones the spec
//! reserves; the host's DHCP leases give the ones the nodes have.
//!
//! The groups follow kubespray's `docs/ansible/inventory.md`:
//! `kube_control_plane` (role control-plane), `kube_node` (role worker),
//! `etcd` (role etcd, or the control-plane nodes when no node has that
//! role: stacked etcd) and `k8s_cluster`, whose children are the first
//! two. A node with no role at all (`roles: []`) is listed with its
//! variables but in no group (Ansible calls that `ungrouped`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::render::addr;
use crate::spec::{Cluster, Os, Placement, Role};

mod groups;
mod ini;
mod json;
mod yaml;

pub use groups::{etcd_members, even_etcd, EtcdFrom, EvenEtcd};

/// Each node's address on its first network, by node name. A node that
/// is missing, or maps to `None`, has no known address.
pub type Addresses = BTreeMap<String, Option<Ipv4Addr>>;

/// The groups kubespray fills from the inventory, in the order written.
pub const GROUPS: [Group; 3] = [Group::KubeControlPlane, Group::KubeNode, Group::Etcd];

/// The group whose children are `kube_control_plane` and `kube_node`.
/// kubespray derives it itself; writing it helps tools that do not.
pub const K8S_CLUSTER: &str = "k8s_cluster";

/// The children of [`K8S_CLUSTER`].
pub const K8S_CLUSTER_CHILDREN: [Group; 2] = [Group::KubeControlPlane, Group::KubeNode];

/// One of kubespray's host groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// `kube_control_plane`: nodes with role control-plane.
    KubeControlPlane,
    /// `kube_node`: nodes with role worker.
    KubeNode,
    /// `etcd`: see [`EtcdFrom`].
    Etcd,
}

impl Group {
    /// The group's name in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::KubeControlPlane => "kube_control_plane",
            Group::KubeNode => "kube_node",
            Group::Etcd => "etcd",
        }
    }
}

/// How the inventory is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A YAML inventory (`hosts.yaml`): `all: {hosts, children}`.
    Kubespray,
    /// An INI inventory shaped like kubespray's sample `inventory.ini`.
    Ini,
    /// The JSON that `ansible-inventory --list` prints (what a dynamic
    /// inventory script prints).
    Json,
}

/// One host: a node and the variables kubespray reads from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// The node's name (the inventory hostname).
    pub name: String,
    /// The node's address on its first network: `ansible_host`, `ip`
    /// and `access_ip`. `None`: unknown, and those three are left out.
    pub address: Option<Ipv4Addr>,
    /// `etcd_member_name` (`etcd1`, `etcd2`, ... in etcd group order),
    /// on etcd members only.
    pub etcd_member_name: Option<String>,
    /// `ansible_user`: the OS's default user.
    pub ansible_user: String,
    /// Variables the OS needs (Flatcar: Python and binaries in /opt/bin,
    /// as kubespray's `docs/operating_systems/flatcar.md` asks).
    pub os_vars: Vec<(&'static str, &'static str)>,
    /// `virtstrap_libvirt_host`: the spec's name of the libvirt host the
    /// node runs on, in a cluster over several (`hosts:`), where known.
    pub libvirt_host: Option<String>,
}

impl Host {
    /// Every variable of the host, in the order written.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = Vec::new();
        if let Some(a) = self.address {
            for key in ["ansible_host", "ip", "access_ip"] {
                vars.push((key, a.to_string()));
            }
        }
        if let Some(m) = &self.etcd_member_name {
            vars.push(("etcd_member_name", m.clone()));
        }
        vars.push(("ansible_user", self.ansible_user.clone()));
        vars.extend(self.os_vars.iter().map(|&(k, v)| (k, v.to_string())));
        if let Some(h) = &self.libvirt_host {
            vars.push(("virtstrap_libvirt_host", h.clone()));
        }
        vars
    }
}

/// A whole inventory: every node as a host, and who is in which group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inventory {
    /// The cluster's name (named in the header of YAML and INI).
    pub cluster: String,
    /// Every node, in spec order.
    pub hosts: Vec<Host>,
    /// `kube_control_plane`, in spec order.
    pub kube_control_plane: Vec<String>,
    /// `kube_node`, in spec order.
    pub kube_node: Vec<String>,
    /// `etcd`, in spec order.
    pub etcd: Vec<String>,
    /// Why those nodes are in `etcd`.
    pub etcd_from: EtcdFrom,
}

impl Inventory {
    /// The members of `group`.
    pub fn group(&self, group: Group) -> &[String] {
        match group {
            Group::KubeControlPlane => &self.kube_control_plane,
            Group::KubeNode => &self.kube_node,
            Group::Etcd => &self.etcd,
        }
    }

    /// Hosts with no known address (listed without `ansible_host`, `ip`
    /// and `access_ip`), in spec order.
    pub fn unaddressed(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| h.address.is_none())
            .map(|h| h.name.as_str())
            .collect()
    }

    /// Hosts in no group (nodes with no role), in spec order.
    pub fn ungrouped(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .map(|h| h.name.as_str())
            .filter(|n| !GROUPS.iter().any(|&g| self.group(g).iter().any(|m| m == n)))
            .collect()
    }

    /// The inventory as text in `format`, ending in a newline.
    pub fn to_text(&self, format: Format) -> String {
        match format {
            Format::Kubespray => yaml::write(self),
            Format::Ini => ini::write(self),
            Format::Json => json::write(self),
        }
    }

    /// The comment lines YAML and INI start with: what this is and, if
    /// any, which hosts lack an address.
    fn header(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "Ansible inventory for kubespray: cluster {}, written by virtstrap.",
            self.cluster
        )];
        let missing = self.unaddressed();
        if !missing.is_empty() {
            lines.push(format!(
                "No address known for {}: listed without ansible_host, ip and access_ip.",
                missing.join(", ")
            ));
        }
        lines
    }
}

/// The inventory of `cluster`, each node at its address in `addresses`
/// (see [`Addresses`]).
pub fn build(cluster: &Cluster, addresses: &Addresses) -> Inventory {
    let (etcd_from, etcd) = etcd_members(cluster);
    let with = |role: Role| -> Vec<String> {
        cluster
            .nodes
            .iter()
            .filter(|n| n.roles.contains(&role))
            .map(|n| n.name.clone())
            .collect()
    };
    let etcd: Vec<String> = etcd.iter().map(|n| n.name.clone()).collect();
    let hosts = cluster
        .nodes
        .iter()
        .map(|node| Host {
            name: node.name.clone(),
            address: addresses.get(&node.name).copied().flatten(),
            etcd_member_name: etcd
                .iter()
                .position(|m| *m == node.name)
                .map(|i| format!("etcd{}", i + 1)),
            ansible_user: cluster.os.default_user().to_string(),
            os_vars: os_vars(cluster.os),
            libvirt_host: match &node.placement {
                Placement::Host(h) => Some(h.clone()),
                Placement::Single | Placement::Spread => None,
            },
        })
        .collect();
    Inventory {
        cluster: cluster.name.clone(),
        hosts,
        kube_control_plane: with(Role::ControlPlane),
        kube_node: with(Role::Worker),
        etcd,
        etcd_from,
    }
}

/// Name the libvirt host of every node in `placed` (node -> host), as
/// found on the hosts: spread nodes too.
pub fn place(inv: &mut Inventory, placed: &BTreeMap<String, String>) {
    for h in &mut inv.hosts {
        if let Some(p) = placed.get(&h.name) {
            h.libvirt_host = Some(p.clone());
        }
    }
}

/// The addresses the spec reserves: each node's on its first network
/// ([`addr::ip`]); `None` where the spec reserves none (the network is
/// not declared, or has no CIDR) and for a node with no network.
pub fn planned_addresses(cluster: &Cluster) -> Addresses {
    let ips = addr::ips(cluster);
    cluster
        .nodes
        .iter()
        .zip(ips)
        .map(|(node, nics)| (node.name.clone(), nics.first().copied().flatten()))
        .collect()
}

/// Host variables `os` needs beside the defaults.
fn os_vars(os: Os) -> Vec<(&'static str, &'static str)> {
    match os {
        Os::Fcos => vec![],
        // /usr is read-only on Flatcar: kubespray's bootstrap puts Python
        // and the Kubernetes binaries in /opt/bin
        Os::Flatcar => vec![
            ("ansible_python_interpreter", "/opt/bin/python"),
            ("bin_dir", "/opt/bin"),
        ],
    }
}

#[cfg(test)]
mod tests;
