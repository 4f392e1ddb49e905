//! The write-up's Ansible vars file, accepted as it is.
//!
//! The spec step's other way in (spec -> render -> plan -> apply): when
//! the root has a `k8s_node` list, it is read here instead of as a
//! `cluster.yaml`, with the same field readers, expansion and
//! cross-checks.
//!
//! ```yaml
//! k8s_node:
//!   - node_name: master1
//!     vcpus: 2
//!     vmem: 4096          # MiB
//!     disk: {pool: bulk, size: 20}   # GiB
//!     networks: [external, default]
//!     is_master: true
//! ```
//!
//! What such a file cannot say gets stated defaults: cluster name
//! `cluster` (or `--name`), base image `default/fedora-coreos.qcow2`, the
//! default URI, roles control-plane (is_master) or worker, Butane files
//! from `--butane`. Other top-level keys (an Ansible vars file has many)
//! are left alone.

use virtstrap_butane::yaml::{Node, NodeKind};
use virtstrap_butane::KeyPath;

use super::load::LoadOptions;
use super::node::NodePart;
use super::reader::{At, Reader};
use super::{Cluster, DomainNaming, Image, Os, Role};

/// Base image a vars file's nodes boot from.
pub const VARS_IMAGE_POOL: &str = "default";
/// Base image volume a vars file's nodes boot from.
pub const VARS_IMAGE_VOLUME: &str = "fedora-coreos.qcow2";

/// The cluster a vars file describes; `None` when it has no readable
/// `k8s_node` list.
pub(super) fn read(r: &mut Reader, root: &Node, opts: &LoadOptions) -> Option<Cluster> {
    let NodeKind::Map(entries) = &root.kind else {
        return None;
    };
    let list_node = entries
        .iter()
        .find(|(k, _)| matches!(&k.kind, NodeKind::Scalar { value, .. } if value == "k8s_node"))?;
    let path = KeyPath::root().key("k8s_node");
    let NodeKind::Seq(items) = &list_node.1.kind else {
        r.err(
            &path,
            Some(list_node.1.mark),
            "k8s_node must be a list of nodes",
        );
        return None;
    };
    if items.is_empty() {
        r.err(&path, Some(list_node.1.mark), "k8s_node lists no nodes");
    }
    let mut parts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(part) = node(r, item, &path.index(i)) {
            parts.push(part);
        }
    }
    let nodes = r.expand(&NodePart::default(), parts, None);
    let name = opts.name.clone().unwrap_or_else(|| "cluster".into());
    // it prefixes every volume and domain name, as a spec's `name:` does
    r.check_name_arg(&name);
    Some(Cluster {
        name,
        connect: None,
        os: Os::Fcos,
        image: Image {
            pool: VARS_IMAGE_POOL.into(),
            volume: VARS_IMAGE_VOLUME.into(),
            format: "qcow2".into(),
        },
        ssh_authorized_keys: Vec::new(),
        butane: opts.extra_butane.clone(),
        // the write-up names its domains after the nodes
        domain_name: DomainNaming::Node,
        nodes,
        pools: Vec::new(),
        networks: Vec::new(),
        hosts: Vec::new(),
    })
}

/// One `k8s_node` entry as written; `None` when it cannot be read or has
/// no `node_name`.
fn node(r: &mut Reader, item: &Node, path: &KeyPath) -> Option<NodePart> {
    let f = r.map(
        item,
        path,
        &[
            "node_name",
            "vcpus",
            "vmem",
            "disk",
            "networks",
            "is_master",
        ],
    )?;
    let mut part = NodePart::default();
    let name = r.required_string(&f, "node_name")?;
    part.name = Some(At {
        v: name,
        path: path.key("node_name"),
        mark: f.get("node_name").map_or(f.mark, |n| n.mark),
    });
    if let Some(n) = f.get("vcpus") {
        part.vcpus = r.vcpus(n, &path.key("vcpus"));
    }
    if let Some(n) = f.get("vmem") {
        part.memory_mib = r.memory(n, &path.key("vmem"));
    }
    if let Some(n) = f.get("disk") {
        part.disk = r.disk(n, &path.key("disk"));
    }
    if let Some(n) = f.get("networks") {
        part.networks = Some(r.nics(n, &path.key("networks")));
    }
    let master = f
        .get("is_master")
        .is_some_and(|n| is_master(r, n, &path.key("is_master")));
    part.roles = Some(vec![if master {
        Role::ControlPlane
    } else {
        Role::Worker
    }]);
    Some(part)
}

/// `is_master`: true/True/yes/on or false/False/no/off, as Ansible vars
/// files write booleans; anything else is a problem (and a worker).
fn is_master(r: &mut Reader, n: &Node, path: &KeyPath) -> bool {
    match &n.kind {
        NodeKind::Scalar { value, .. } => match value.as_str() {
            "true" | "True" | "yes" | "on" => true,
            "false" | "False" | "no" | "off" => false,
            other => {
                let msg = format!("is_master must be true or false, not {other:?}");
                r.err(path, Some(n.mark), msg);
                false
            }
        },
        _ => {
            r.err(path, Some(n.mark), "is_master must be true or false");
            false
        }
    }
}
