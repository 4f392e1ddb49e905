//! The INI inventory, shaped like kubespray's sample `inventory.ini`:
//! every host on one line under `[all]` with its variables
//! (`name ansible_host=... ip=... etcd_member_name=...`), then each group
//! naming its hosts, in the sample's order. Stacked etcd is written as
//! the sample writes it, `[etcd:children]` = `kube_control_plane`; etcd
//! on nodes of their own as `[etcd]` with those hosts.
//!
//! No value needs quoting: host names are DNS labels (the spec checks),
//! the values IPv4 addresses, `etcdN`, the OS user and fixed paths, none
//! of which Ansible's INI parser reads as anything but a string.

use std::fmt::Write as _;

use super::{EtcdFrom, Group, Inventory, K8S_CLUSTER, K8S_CLUSTER_CHILDREN};

/// The groups in the sample's order (etcd before kube_node).
const ORDER: [Group; 3] = [Group::KubeControlPlane, Group::Etcd, Group::KubeNode];

/// The INI inventory of `inv`.
pub(super) fn write(inv: &Inventory) -> String {
    let mut out = String::new();
    for line in inv.header() {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str("[all]\n");
    for host in &inv.hosts {
        out.push_str(&host.name);
        for (key, value) in host.vars() {
            let _ = write!(out, " {key}={value}");
        }
        out.push('\n');
    }
    for group in ORDER {
        out.push('\n');
        if group == Group::Etcd && inv.etcd_from == EtcdFrom::ControlPlane {
            let _ = writeln!(out, "[etcd:children]\n{}", Group::KubeControlPlane.as_str());
            continue;
        }
        let _ = writeln!(out, "[{}]", group.as_str());
        for name in inv.group(group) {
            let _ = writeln!(out, "{name}");
        }
    }
    let _ = writeln!(out, "\n[{K8S_CLUSTER}:children]");
    for child in K8S_CLUSTER_CHILDREN {
        let _ = writeln!(out, "{}", child.as_str());
    }
    out
}
