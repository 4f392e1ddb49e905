//! What the spec wants on the host, rendered: the first input of the
//! diff (spec -> render -> **desired** -> plan -> apply). Pure: a loaded
//! spec, its Butane and facts about the host in; pools, networks and
//! every node's volumes, Ignition and domain definition out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::render::addr::{ips, nic_mac};
use crate::render::domain::{domain_xml_recorded, spec_hash, DomainOptions};
use crate::render::host::HostFacts;
use crate::render::ignition::{ignition_hash, node_ignition, ButaneSet, IgnitionError};
use crate::render::network::{dhcp_host_xml, dhcp_hosts, network_xml};
use crate::render::owner::Reservation;
use crate::render::storage::{node_volumes, pool_xml, VolumeXml};
use crate::spec::{Cluster, Node};

/// What the spec wants on the host.
#[derive(Clone, Debug)]
pub struct Desired {
    /// Cluster name (the owner tag).
    pub cluster: String,
    /// Declared pools: name and XML.
    pub pools: Vec<(String, String)>,
    /// Declared pools' directories, by name (checked against the host's).
    pub pool_paths: BTreeMap<String, PathBuf>,
    /// Declared networks.
    pub networks: Vec<DesiredNetwork>,
    /// The base image every root overlay needs: pool, volume.
    pub base_image: Option<(String, String)>,
    /// Nodes.
    pub nodes: Vec<DesiredNode>,
}

/// A declared network and its reservations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredNetwork {
    /// Name.
    pub name: String,
    /// XML (with every reservation).
    pub xml: String,
    /// One `<host mac= name= ip=/>` per node NIC: (mac, xml).
    pub hosts: Vec<(String, String)>,
    /// The declaration (mode, cidr, bridge), checked against a network
    /// of that name the host already has.
    pub declared: crate::spec::Network,
}

/// One node's objects.
#[derive(Clone, Debug)]
pub struct DesiredNode {
    /// Node name.
    pub node: String,
    /// Domain name.
    pub domain: String,
    /// The domain definition (owner metadata with the Ignition hash).
    pub definition: DomainXml,
    /// Its `spec-hash`, compared with the one the host records.
    pub spec_hash: String,
    /// vCPUs (compared with the host's).
    pub vcpus: u32,
    /// Memory in MiB (compared with the host's).
    pub memory_mib: u64,
    /// Volumes: root overlay, data disks, Ignition (last).
    pub volumes: Vec<VolumeXml>,
    /// Root disk capacity in bytes.
    pub root_capacity: u64,
    /// The Ignition config, rendered again when its upload runs.
    pub ignition: IgnitionBytes,
    /// Its hash.
    pub ignition_hash: String,
    /// Its network interfaces, in spec order.
    pub nics: Vec<DesiredNic>,
}

/// One network interface of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredNic {
    /// The network.
    pub network: String,
    /// Its MAC (lowercase).
    pub mac: String,
    /// The address the spec gives it: a static `ip:`, or its reservation
    /// on a declared network with a CIDR.
    pub ip: Option<std::net::Ipv4Addr>,
}

impl Desired {
    /// The pools the nodes' volumes and the base image are in.
    pub fn pools_used(&self) -> BTreeSet<&str> {
        let volumes = self.nodes.iter().flat_map(|n| &n.volumes);
        volumes
            .map(|v| v.pool.as_str())
            .chain(self.base_image.iter().map(|(pool, _)| pool.as_str()))
            .collect()
    }

    /// The networks the nodes' NICs attach to.
    pub fn networks_used(&self) -> BTreeSet<&str> {
        let nics = self
            .nodes
            .iter()
            .flat_map(|n| &n.definition.spec().networks);
        nics.map(|nic| nic.network.as_str()).collect()
    }

    /// Whether the spec declares the pool `name`.
    pub fn declares_pool(&self, name: &str) -> bool {
        self.pools.iter().any(|(p, _)| p == name)
    }

    /// Whether the spec declares the network `name`.
    pub fn declares_network(&self, name: &str) -> bool {
        self.networks.iter().any(|n| n.name == name)
    }
}

/// What every node's domain XML and Ignition are rendered from.
#[derive(Debug)]
struct RenderInput {
    cluster: Cluster,
    host: HostFacts,
    opts: DomainOptions,
    butane: ButaneSet,
}

/// A node's Ignition config, rendered when its upload runs: a plan holds
/// only its length and hash, so planning three hundred nodes with 4 MB
/// configs each holds one config at a time, not all of them. Two are
/// equal when they are the same node's config with the same hash.
#[derive(Clone)]
pub struct IgnitionBytes {
    input: Arc<RenderInput>,
    node: usize,
    len: usize,
    hash: Arc<str>,
}

impl IgnitionBytes {
    /// The config's JSON, rendered again (as it was when planned: the
    /// rendering is pure).
    pub fn bytes(&self) -> Result<Vec<u8>, IgnitionError> {
        let i = &self.input;
        node_ignition(&i.cluster, &i.cluster.nodes[self.node], &i.butane)
            .map(|ign| ign.json.into_bytes())
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: an Ignition config has a version).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl PartialEq for IgnitionBytes {
    fn eq(&self, other: &Self) -> bool {
        self.input.cluster.nodes[self.node].name == other.input.cluster.nodes[other.node].name
            && self.hash == other.hash
    }
}

impl Eq for IgnitionBytes {}

impl std::fmt::Debug for IgnitionBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IgnitionBytes")
            .field("node", &self.input.cluster.nodes[self.node].name)
            .field("len", &self.len)
            .field("hash", &self.hash)
            .finish()
    }
}

/// A node's domain definition, rendered when a step needs its text: a
/// plan of a thousand nodes holds no domain XML, and a step that runs
/// holds one only while libvirt reads it. Two are equal when they define
/// the same node with the same `spec-hash` and Ignition hash, which is
/// what the rendered text follows from.
#[derive(Clone)]
pub struct DomainXml {
    input: Arc<RenderInput>,
    node: usize,
    spec_hash: Arc<str>,
    ignition_hash: Arc<str>,
    reservations: Arc<[Reservation]>,
}

impl DomainXml {
    /// The `<domain>` XML.
    pub fn render(&self) -> String {
        let i = &self.input;
        domain_xml_recorded(
            &i.cluster,
            self.spec(),
            &i.host,
            &i.opts,
            &self.ignition_hash,
            &self.reservations,
        )
    }

    /// The definition while Ignition is not yet uploaded: an empty
    /// `ignition-hash`, so an apply cut short redoes the upload.
    pub fn pending(&self) -> DomainXml {
        DomainXml {
            ignition_hash: Arc::from(""),
            ..self.clone()
        }
    }

    /// This definition recording `reservations` (DHCP host entries on
    /// networks the spec does not declare).
    pub fn with_reservations(&self, reservations: &[Reservation]) -> DomainXml {
        DomainXml {
            reservations: reservations.into(),
            ..self.clone()
        }
    }

    /// The reservations it records.
    pub fn reservations(&self) -> &[Reservation] {
        &self.reservations
    }

    /// The node as the spec has it.
    pub fn spec(&self) -> &Node {
        &self.input.cluster.nodes[self.node]
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.spec().name
    }

    /// Whether this is the [`DomainXml::pending`] definition.
    pub fn is_pending(&self) -> bool {
        self.ignition_hash.is_empty()
    }
}

impl PartialEq for DomainXml {
    fn eq(&self, other: &Self) -> bool {
        self.node() == other.node()
            && self.spec_hash == other.spec_hash
            && self.ignition_hash == other.ignition_hash
            && self.reservations == other.reservations
    }
}

impl Eq for DomainXml {}

impl std::fmt::Debug for DomainXml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainXml")
            .field("node", &self.node())
            .field("spec_hash", &self.spec_hash)
            .field("ignition_hash", &self.ignition_hash)
            .field("reservations", &self.reservations)
            .finish()
    }
}

/// Render everything the spec wants. Domain XML is the exception: only
/// its hash is computed here, the text when a step defines it.
pub fn desired(
    cluster: &Cluster,
    butane: &ButaneSet,
    host: &HostFacts,
    opts: &DomainOptions,
) -> Result<Desired, IgnitionError> {
    let input = Arc::new(RenderInput {
        cluster: cluster.clone(),
        host: host.clone(),
        opts: *opts,
        butane: butane.clone(),
    });
    let ips = ips(cluster);
    let nodes = cluster
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| desired_node(&input, i, node, &ips[i]))
        .collect::<Result<Vec<_>, _>>()?;
    let needs_image = cluster.nodes.iter().any(|n| n.boot.is_none());
    Ok(Desired {
        cluster: cluster.name.clone(),
        pools: cluster
            .pools
            .iter()
            .map(|p| (p.name.clone(), pool_xml(p)))
            .collect(),
        pool_paths: cluster
            .pools
            .iter()
            .map(|p| (p.name.clone(), p.path.clone()))
            .collect(),
        networks: desired_networks(cluster),
        base_image: needs_image.then(|| (cluster.image.pool.clone(), cluster.image.volume.clone())),
        nodes,
    })
}

fn desired_node(
    input: &Arc<RenderInput>,
    i: usize,
    node: &Node,
    ips: &[Option<std::net::Ipv4Addr>],
) -> Result<DesiredNode, IgnitionError> {
    let RenderInput {
        cluster,
        host,
        opts,
        butane,
    } = &**input;
    let ign = node_ignition(cluster, node, butane)?;
    let hash = ignition_hash(&ign.json);
    let spec_hash = spec_hash(cluster, node, host, opts);
    Ok(DesiredNode {
        node: node.name.clone(),
        domain: cluster.domain_name(node),
        definition: DomainXml {
            input: Arc::clone(input),
            node: i,
            spec_hash: spec_hash.as_str().into(),
            ignition_hash: hash.as_str().into(),
            reservations: Arc::from([]),
        },
        spec_hash,
        vcpus: node.vcpus,
        memory_mib: node.memory_mib,
        volumes: node_volumes(cluster, node, host),
        root_capacity: node.disk.size_bytes,
        ignition: IgnitionBytes {
            input: Arc::clone(input),
            node: i,
            len: ign.json.len(),
            hash: hash.as_str().into(),
        },
        ignition_hash: hash,
        nics: node
            .networks
            .iter()
            .enumerate()
            .map(|(k, nic)| DesiredNic {
                network: nic.network.clone(),
                mac: nic_mac(cluster, &node.name, nic),
                ip: ips[k],
            })
            .collect(),
    })
}

fn desired_networks(cluster: &Cluster) -> Vec<DesiredNetwork> {
    let network = |n: &crate::spec::Network| DesiredNetwork {
        name: n.name.clone(),
        xml: network_xml(cluster, n),
        hosts: dhcp_hosts(cluster, n)
            .iter()
            .map(|h| (h.mac.clone(), dhcp_host_xml(h)))
            .collect(),
        declared: n.clone(),
    };
    cluster.networks.iter().map(network).collect()
}
