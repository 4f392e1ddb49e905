//! Storage XML (libvirt's formatstorage,
//! <https://libvirt.org/formatstorage.html>): the directory pools the spec
//! declares and every node's volumes (root overlay, extra disks, Ignition
//! file). Part of render: spec in, XML text out; the planner creates what
//! is missing from it.

use std::sync::Arc;

use crate::spec::{Cluster, Node, Pool};

use super::host::{ignition_volume_name, path_text, pool_path, HostFacts};
use super::xml::Xml;

/// One volume to create: the pool it goes in, its name, its XML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeXml {
    /// Storage pool name.
    pub pool: String,
    /// Volume name.
    pub name: String,
    /// `<volume>` XML for `virStorageVolCreateXML` (shared, not copied,
    /// by the plan steps that create the volume).
    pub xml: Arc<str>,
}

/// Name of the node's root overlay: `<cluster>-<node>-root.qcow2`.
pub fn root_volume_name(cluster: &Cluster, node: &Node) -> String {
    format!("{}-{}-root.qcow2", cluster.name, node.name)
}

/// Name of the node's `n`th extra disk (from 1): `<cluster>-<node>-data<n>.qcow2`.
pub fn data_volume_name(cluster: &Cluster, node: &Node, n: usize) -> String {
    format!("{}-{}-data{n}.qcow2", cluster.name, node.name)
}

/// The root disk: a qcow2 overlay whose backing store is the base image
/// (named with its format: libvirt and QEMU never probe it), as large as
/// the spec's disk; a blank qcow2 when the spec names no image (every
/// node boots a kernel).
pub fn root_volume(cluster: &Cluster, node: &Node, host: &HostFacts) -> VolumeXml {
    let name = root_volume_name(cluster, node);
    let base = pool_path(cluster, host, &cluster.image.pool).join(&cluster.image.volume);
    let mut x = Xml::new(false);
    x.elem("volume", &[], "", |x| {
        x.text("name", &[], &name, "");
        x.text(
            "capacity",
            &[("unit", "bytes")],
            &node.disk.size_bytes.to_string(),
            "",
        );
        x.elem("target", &[], "", |x| {
            x.empty("format", &[("type", "qcow2")], "");
        });
        if !cluster.image.volume.is_empty() {
            x.elem("backingStore", &[], "", |x| {
                x.text("path", &[], &path_text(&base), "");
                x.empty("format", &[("type", &cluster.image.format)], "");
            });
        }
    });
    VolumeXml {
        pool: node.disk.pool.clone(),
        name,
        xml: x.finish().into(),
    }
}

/// The extra disks: empty qcow2 volumes, in spec order.
pub fn data_volumes(cluster: &Cluster, node: &Node) -> Vec<VolumeXml> {
    node.extra_disks
        .iter()
        .enumerate()
        .map(|(i, disk)| {
            let name = data_volume_name(cluster, node, i + 1);
            let xml = plain_volume(&name, disk.size_bytes, "qcow2", None);
            VolumeXml {
                pool: disk.pool.clone(),
                name,
                xml: xml.into(),
            }
        })
        .collect()
}

/// The Ignition file: a raw volume in the root disk's pool, uploaded after
/// creation. Mode 0600: it can hold password hashes, and libvirt hands it
/// to the QEMU process while the domain runs.
pub fn ignition_volume(cluster: &Cluster, node: &Node) -> VolumeXml {
    let name = ignition_volume_name(cluster, node);
    let xml = plain_volume(&name, 0, "raw", Some("0600"));
    VolumeXml {
        pool: node.disk.pool.clone(),
        name,
        xml: xml.into(),
    }
}

/// Every volume of `node`: root, extra disks, Ignition.
pub fn node_volumes(cluster: &Cluster, node: &Node, host: &HostFacts) -> Vec<VolumeXml> {
    let mut v = vec![root_volume(cluster, node, host)];
    v.extend(data_volumes(cluster, node));
    v.push(ignition_volume(cluster, node));
    v
}

fn plain_volume(name: &str, bytes: u64, format: &str, mode: Option<&str>) -> String {
    let mut x = Xml::new(false);
    x.elem("volume", &[], "", |x| {
        x.text("name", &[], name, "");
        x.text("capacity", &[("unit", "bytes")], &bytes.to_string(), "");
        x.elem("target", &[], "", |x| {
            x.empty("format", &[("type", format)], "");
            if let Some(mode) = mode {
                x.elem("permissions", &[], "", |x| x.text("mode", &[], mode, ""));
            }
        });
    });
    x.finish()
}

/// A declared pool: a directory pool at the spec's path. (Pools have no
/// `<metadata>` in libvirt: ownership of a pool is its being declared.)
pub fn pool_xml(pool: &Pool) -> String {
    let mut x = Xml::new(false);
    x.elem("pool", &[("type", "dir")], "", |x| {
        x.text("name", &[], &pool.name, "");
        x.elem("target", &[], "", |x| {
            x.text("path", &[], &path_text(&pool.path), "");
        });
    });
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testutil::demo;

    #[test]
    fn root_overlay_names_base_image_and_its_format() {
        let c = demo();
        let v = root_volume(&c, &c.nodes[0], &HostFacts::default());
        assert_eq!(
            (v.pool.as_str(), v.name.as_str()),
            ("default", "demo-a-root.qcow2")
        );
        assert!(
            v.xml
                .contains("<path>/var/lib/libvirt/images/base.qcow2</path>"),
            "{}",
            v.xml
        );
        assert!(
            v.xml
                .contains("<capacity unit=\"bytes\">10737418240</capacity>"),
            "{}",
            v.xml
        );
    }

    #[test]
    fn extra_disks_are_numbered_from_one_and_ignition_is_private() {
        let c = demo();
        let vols = node_volumes(&c, &c.nodes[0], &HostFacts::default());
        let names: Vec<_> = vols.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            ["demo-a-root.qcow2", "demo-a-data1.qcow2", "demo-a.ign"]
        );
        assert_eq!(vols[1].pool, "bulk");
        assert!(vols[2].xml.contains("<mode>0600</mode>"));
    }
}
