//! Desired state vs the host's: an ordered list of actions, each with its
//! reason. Third step of spec -> render -> plan -> apply.
//!
//! [`desired`] renders what the spec wants; [`make_plan`] looks at the
//! host through a [`Backend`] and compares only what the spec sets
//! (libvirt's own defaults are not drift). Ownership comes from libvirt
//! itself: a domain's `<vs:owner>` names its cluster and node and lists
//! its volumes; a network's names its cluster; a pool virtstrap created
//! holds a marker volume. Nothing else is ever changed or deleted.
//!
//! A node is built in an order that keeps every interrupted apply
//! recoverable: define the domain first (recording ownership of the
//! volumes it is about to get, with an empty `ignition-hash`), create the
//! volumes, upload Ignition, redefine with the hash, then start. The next
//! apply finishes whatever step was missing; destroy removes whatever the
//! record lists.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::libvirt::fake::element;
use crate::libvirt::{Backend, BackendError, NetworkState, PoolState};
use crate::render::domain::{domain_xml_with_ignition, spec_hash, DomainOptions};
use crate::render::host::HostFacts;
use crate::render::ignition::{ignition_hash, node_ignition, ButaneSet, IgnitionError};
use crate::render::network::{dhcp_host_xml, dhcp_hosts, network_xml};
use crate::render::storage::{node_volumes, pool_xml, VolumeXml};
use crate::spec::{Cluster, Node};

/// What the spec wants on the host.
#[derive(Clone, Debug)]
pub struct Desired {
    /// Cluster name (the owner tag).
    pub cluster: String,
    /// Declared pools: name and XML.
    pub pools: Vec<(String, String)>,
    /// Declared networks.
    pub networks: Vec<DesiredNetwork>,
    /// The base image every root overlay needs: pool, volume.
    pub base_image: Option<(String, String)>,
    /// Nodes.
    pub nodes: Vec<DesiredNode>,
}

/// A declared network and its reservations.
#[derive(Clone, Debug)]
pub struct DesiredNetwork {
    /// Name.
    pub name: String,
    /// XML (with every reservation).
    pub xml: String,
    /// One `<host mac= name= ip=/>` per node NIC: (mac, xml).
    pub hosts: Vec<(String, String)>,
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
    /// The Ignition config's bytes.
    pub ignition: Arc<[u8]>,
    /// Its hash.
    pub ignition_hash: String,
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
}

/// What every node's domain XML is rendered from.
#[derive(Debug)]
struct RenderInput {
    cluster: Cluster,
    host: HostFacts,
    opts: DomainOptions,
}

/// A node's domain definition, rendered when a step needs its text: a
/// plan of a thousand nodes holds no domain XML, and a step that runs
/// holds one only while libvirt reads it.
#[derive(Clone)]
pub struct DomainXml {
    input: Arc<RenderInput>,
    node: usize,
    ignition_hash: Arc<str>,
}

impl DomainXml {
    /// The `<domain>` XML.
    pub fn render(&self) -> String {
        let i = &self.input;
        domain_xml_with_ignition(
            &i.cluster,
            self.spec(),
            &i.host,
            &i.opts,
            &self.ignition_hash,
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
        Arc::ptr_eq(&self.input, &other.input)
            && self.node == other.node
            && self.ignition_hash == other.ignition_hash
    }
}

impl Eq for DomainXml {}

impl std::fmt::Debug for DomainXml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainXml")
            .field("node", &self.node())
            .field("ignition_hash", &self.ignition_hash)
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
    });
    let mut nodes = Vec::with_capacity(cluster.nodes.len());
    for (i, node) in cluster.nodes.iter().enumerate() {
        let ign = node_ignition(cluster, node, butane)?;
        let hash = ignition_hash(&ign.json);
        nodes.push(DesiredNode {
            node: node.name.clone(),
            domain: cluster.domain_name(node),
            definition: DomainXml {
                input: Arc::clone(&input),
                node: i,
                ignition_hash: hash.as_str().into(),
            },
            spec_hash: spec_hash(cluster, node, host, opts),
            vcpus: node.vcpus,
            memory_mib: node.memory_mib,
            volumes: node_volumes(cluster, node, host),
            root_capacity: node.disk.size_bytes,
            ignition: ign.json.into_bytes().into(),
            ignition_hash: hash,
        });
    }
    let networks = cluster
        .networks
        .iter()
        .map(|n| DesiredNetwork {
            name: n.name.clone(),
            xml: network_xml(cluster, n),
            hosts: dhcp_hosts(cluster, n)
                .iter()
                .map(|h| (h.mac.clone(), dhcp_host_xml(h)))
                .collect(),
        })
        .collect();
    let needs_image = cluster.nodes.iter().any(|n| n.boot.is_none());
    Ok(Desired {
        cluster: cluster.name.clone(),
        pools: cluster
            .pools
            .iter()
            .map(|p| (p.name.clone(), pool_xml(p)))
            .collect(),
        networks,
        base_image: needs_image.then(|| (cluster.image.pool.clone(), cluster.image.volume.clone())),
        nodes,
    })
}

/// One host operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Define, build and start a pool with virtstrap's marker volume.
    CreatePool {
        /// Pool name.
        name: String,
        /// Its XML.
        xml: String,
    },
    /// Finish a pool an interrupted apply left running but not defined:
    /// marker volume, definition, autostart.
    FinishPool {
        /// Pool name.
        name: String,
    },
    /// Define and start a network.
    CreateNetwork {
        /// Network name.
        name: String,
        /// Its XML.
        xml: String,
    },
    /// Start a network this cluster made that is not running (an apply
    /// was cut short between defining and starting it).
    StartNetwork {
        /// Network name.
        name: String,
    },
    /// Add a DHCP reservation to a network.
    AddDhcpHost {
        /// Network name.
        network: String,
        /// `<host/>` XML.
        xml: String,
    },
    /// Define (or redefine) a domain.
    DefineDomain {
        /// Domain name.
        name: String,
        /// Its definition.
        xml: DomainXml,
    },
    /// Create a volume.
    CreateVolume {
        /// Pool.
        pool: String,
        /// Volume XML.
        xml: Arc<str>,
        /// Volume name.
        name: String,
    },
    /// Upload a volume's bytes.
    Upload {
        /// Pool.
        pool: String,
        /// Volume name.
        name: String,
        /// Contents.
        data: Arc<[u8]>,
    },
    /// Grow a volume.
    Resize {
        /// Pool.
        pool: String,
        /// Volume name.
        name: String,
        /// New capacity in bytes.
        capacity: u64,
    },
    /// Start a domain.
    StartDomain {
        /// Domain name.
        name: String,
    },
    /// Power a domain off.
    StopDomain {
        /// Domain name.
        name: String,
    },
    /// Undefine a (stopped) domain.
    UndefineDomain {
        /// Domain name.
        name: String,
    },
    /// Delete a volume.
    DeleteVolume {
        /// Pool.
        pool: String,
        /// Volume name.
        name: String,
    },
    /// Delete a network.
    DeleteNetwork {
        /// Network name.
        name: String,
    },
    /// Delete the ownership marker, then the pool.
    DeletePool {
        /// Pool name.
        name: String,
    },
}

impl Action {
    /// What the action does to which object, for humans: `create volume
    /// default/x.qcow2`.
    pub fn describe(&self) -> String {
        match self {
            Action::CreatePool { name, .. } => format!("create pool {name}"),
            Action::FinishPool { name } => format!("finish pool {name}"),
            Action::CreateNetwork { name, .. } => format!("create network {name}"),
            Action::StartNetwork { name } => format!("start network {name}"),
            Action::AddDhcpHost { network, xml } => {
                let mac = attr_value(xml, "mac").unwrap_or_default();
                format!("reserve an address for {mac} on network {network}")
            }
            Action::DefineDomain { name, xml } if xml.is_pending() => {
                format!("define domain {name} (Ignition pending)")
            }
            Action::DefineDomain { name, .. } => format!("define domain {name}"),
            Action::CreateVolume { pool, name, .. } => format!("create volume {pool}/{name}"),
            Action::Upload { pool, name, data } => {
                format!("upload Ignition to {pool}/{name} ({} bytes)", data.len())
            }
            Action::Resize {
                pool,
                name,
                capacity,
            } => format!(
                "resize volume {pool}/{name} to {}",
                crate::spec::size::human(*capacity)
            ),
            Action::StartDomain { name } => format!("start domain {name}"),
            Action::StopDomain { name } => format!("stop domain {name}"),
            Action::UndefineDomain { name } => format!("undefine domain {name}"),
            Action::DeleteVolume { pool, name } => format!("delete volume {pool}/{name}"),
            Action::DeleteNetwork { name } => format!("delete network {name}"),
            Action::DeletePool { name } => format!("delete pool {name}"),
        }
    }
}

/// The kind of change a step makes, as `plan` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// A new object.
    Create,
    /// An object changed in place.
    Update,
    /// An object removed and made again.
    Replace,
    /// An object removed.
    Delete,
}

/// One step: what, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The operation.
    pub action: Action,
    /// Create, update, replace or delete.
    pub change: Change,
    /// Why (`memory 4096 -> 8192 MiB`, `Ignition changed: ...`).
    pub reason: Arc<str>,
    /// The node the step belongs to (empty for pools and networks):
    /// steps of one node run in order, different nodes in parallel.
    pub node: Arc<str>,
}

/// The steps, in order, or why there can be none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Steps in execution order (each node's steps stay in order).
    pub steps: Vec<Step>,
}

/// Why planning failed: the host could not be read, or an object virtstrap
/// does not own stands in the way.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Reading the host failed.
    #[error(transparent)]
    Host(#[from] BackendError),
    /// Objects that are not virtstrap's clash with the spec.
    #[error("{}", .0.join("\n"))]
    Conflicts(Vec<String>),
}

/// The ownership marker volume in a pool virtstrap created.
pub fn pool_marker(cluster: &str) -> String {
    format!("{cluster}.virtstrap-pool")
}

fn marker_xml(cluster: &str) -> String {
    format!(
        "<volume><name>{}</name><capacity unit=\"bytes\">0</capacity><target><format type=\"raw\"/></target></volume>",
        pool_marker(cluster)
    )
}

/// What a domain's `<vs:owner>` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    /// Cluster.
    pub cluster: String,
    /// Node.
    pub node: String,
    /// Ignition hash (empty while pending).
    pub ignition_hash: String,
    /// Listed volumes: (pool, name).
    pub volumes: Vec<(String, String)>,
}

/// Read the owner element of a domain's XML, if it has one.
pub fn owner_of(xml: &str) -> Option<Owner> {
    let start = xml.find(":owner ")?;
    let tag_end = xml[start..].find('>')? + start;
    let tag = &xml[start..tag_end];
    let attr = |name: &str| attr_value(tag, name).unwrap_or_default();
    let body_end = xml[tag_end..]
        .find(":owner>")
        .map_or(tag_end, |e| e + tag_end);
    let mut volumes = Vec::new();
    let mut rest = &xml[tag_end..body_end];
    while let Some(i) = rest.find(":volume ") {
        let end = rest[i..].find('>').map_or(rest.len(), |e| e + i);
        let v = &rest[i..end];
        if let (Some(p), Some(n)) = (attr_value(v, "pool"), attr_value(v, "name")) {
            volumes.push((p, n));
        }
        rest = &rest[end..];
    }
    Some(Owner {
        cluster: attr("cluster"),
        node: attr("node"),
        ignition_hash: attr("ignition-hash"),
        volumes,
    })
}

fn attr_value(tag: &str, name: &str) -> Option<String> {
    for quote in ['"', '\''] {
        let key = format!(" {name}={quote}");
        if let Some(i) = tag.find(&key) {
            let rest = &tag[i + key.len()..];
            return rest.find(quote).map(|e| unescape(&rest[..e]));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A domain's vCPUs and memory (MiB) as libvirt reports them.
fn sizes_of(xml: &str) -> (Option<u32>, Option<u64>) {
    let vcpus = element(xml, "vcpu").and_then(|v| v.parse().ok());
    let memory = memory_mib(xml);
    (vcpus, memory)
}

fn memory_mib(xml: &str) -> Option<u64> {
    let i = xml.find("<memory")?;
    let tag_end = xml[i..].find('>')? + i;
    let unit = attr_value(&xml[i..tag_end], "unit").unwrap_or_else(|| "KiB".into());
    let value: u64 = element(&xml[i..], "memory")?.parse().ok()?;
    Some(match unit.as_str() {
        "b" | "bytes" => value / (1024 * 1024),
        "KiB" | "k" => value / 1024,
        "GiB" | "G" => value * 1024,
        _ => value,
    })
}

fn step(action: Action, change: Change, reason: impl Into<Arc<str>>) -> Step {
    Step {
        action,
        change,
        reason: reason.into(),
        node: Arc::from(""),
    }
}

/// Tag the steps from `from` on as `node`'s.
fn tag(steps: &mut [Step], from: usize, node: &str) {
    let node: Arc<str> = Arc::from(node);
    for s in &mut steps[from..] {
        s.node = Arc::clone(&node);
    }
}

/// Compare `want` with the host and list what apply must do. With
/// `adopt`, objects with clashing names that virtstrap does not own are
/// taken over instead of refused.
pub fn make_plan(backend: &dyn Backend, want: &Desired, adopt: bool) -> Result<Plan, PlanError> {
    let mut steps = Vec::new();
    let mut conflicts = Vec::new();
    let cluster = &want.cluster;
    // each pool and network the spec names, looked up once
    let declared_pools = want.pools.iter().map(|(name, _)| name.as_str());
    let pools = look_up(want.pools_used().into_iter().chain(declared_pools), |n| {
        backend.pool(n)
    })?;
    let declared_networks = want.networks.iter().map(|n| n.name.as_str());
    let networks = look_up(
        want.networks_used().into_iter().chain(declared_networks),
        |n| backend.network(n),
    )?;
    inactive_pools(&pools, want, &mut conflicts);
    stopped_networks(&networks, want, &mut conflicts);
    if !conflicts.is_empty() {
        // nothing can be looked up in a stopped pool
        return Err(PlanError::Conflicts(conflicts));
    }
    for (name, xml) in &want.pools {
        match &pools[name.as_str()] {
            None => steps.push(step(
                Action::CreatePool {
                    name: name.clone(),
                    xml: xml.clone(),
                },
                Change::Create,
                "declared pool is missing",
            )),
            Some(p) if half_made(p) => steps.push(step(
                Action::FinishPool { name: name.clone() },
                Change::Update,
                "an interrupted apply left the pool running but not defined",
            )),
            Some(_) => {} // pre-existing, or ours: used as it is
        }
    }
    for net in &want.networks {
        match &networks[net.name.as_str()] {
            None => steps.push(step(
                Action::CreateNetwork {
                    name: net.name.clone(),
                    xml: net.xml.clone(),
                },
                Change::Create,
                "declared network is missing",
            )),
            Some(actual) => {
                let ours = owner_of(&actual.xml).is_some_and(|o| o.cluster == *cluster);
                if !ours {
                    continue; // pre-existing: used as it is, never changed
                }
                if !actual.active {
                    steps.push(step(
                        Action::StartNetwork {
                            name: net.name.clone(),
                        },
                        Change::Update,
                        "network is not running",
                    ));
                }
                for (mac, host) in &net.hosts {
                    if !actual.xml.contains(mac.as_str()) {
                        steps.push(step(
                            Action::AddDhcpHost {
                                network: net.name.clone(),
                                xml: host.clone(),
                            },
                            Change::Update,
                            format!("reservation for {mac} is missing"),
                        ));
                    }
                }
            }
        }
    }
    if let Some((pool, volume)) = &want.base_image {
        let declared = want.pools.iter().any(|(p, _)| p == pool);
        if !declared && backend.volume(pool, volume)?.is_none() {
            conflicts.push(format!(
                "base image {pool}/{volume} does not exist: upload it (virtstrap image pull, or virsh vol-upload)"
            ));
        }
    }
    for node in &want.nodes {
        let from = steps.len();
        plan_node(backend, want, node, adopt, &mut steps, &mut conflicts)?;
        tag(&mut steps, from, &node.node);
    }
    if conflicts.is_empty() {
        Ok(Plan { steps })
    } else {
        Err(PlanError::Conflicts(conflicts))
    }
}

/// A declared pool running but not defined: only [`Backend::create_pool`]
/// cut short makes one (it defines the pool last), so it is this
/// cluster's, to finish or to remove.
fn half_made(p: &PoolState) -> bool {
    p.active && !p.persistent
}

/// Each of `names` (repeats included once) with what the host has by
/// that name.
fn look_up<'a, T>(
    names: impl IntoIterator<Item = &'a str>,
    get: impl Fn(&str) -> Result<Option<T>, BackendError>,
) -> Result<BTreeMap<&'a str, Option<T>>, BackendError> {
    let mut found = BTreeMap::new();
    for name in names {
        if !found.contains_key(name) {
            found.insert(name, get(name)?);
        }
    }
    Ok(found)
}

/// Every pool the spec puts volumes in must be started: libvirt cannot
/// make or find volumes in a stopped one. Pools that do not exist yet are
/// the declared ones apply creates (or a missing base image's, reported
/// on its own).
fn inactive_pools(
    pools: &BTreeMap<&str, Option<PoolState>>,
    want: &Desired,
    conflicts: &mut Vec<String>,
) {
    for pool in want.pools_used() {
        if pools[pool].as_ref().is_some_and(|p| !p.active) {
            conflicts.push(format!(
                "pool {pool} exists but is not started: start it (virsh pool-start {pool})"
            ));
        }
    }
}

/// A network the nodes attach to that is missing and not declared, or
/// exists, is not this cluster's and is not running: domains on it cannot
/// start, and virtstrap never starts what it does not own. (A declared
/// network this cluster made is started by the plan instead.)
fn stopped_networks(
    networks: &BTreeMap<&str, Option<NetworkState>>,
    want: &Desired,
    conflicts: &mut Vec<String>,
) {
    for name in want.networks_used() {
        let Some(net) = &networks[name] else {
            if !want.networks.iter().any(|n| n.name == name) {
                conflicts.push(format!(
                    "network {name} does not exist: create it, or declare it under \
                     `networks:` in the spec so that apply creates it"
                ));
            }
            continue;
        };
        let ours = owner_of(&net.xml).is_some_and(|o| o.cluster == want.cluster);
        if !net.active && !ours {
            conflicts.push(format!(
                "network {name} exists but is not started: start it (virsh net-start {name}; \
                 net-autostart {name} keeps it started after a reboot)"
            ));
        }
    }
}

fn plan_node(
    backend: &dyn Backend,
    want: &Desired,
    node: &DesiredNode,
    adopt: bool,
    steps: &mut Vec<Step>,
    conflicts: &mut Vec<String>,
) -> Result<(), PlanError> {
    let actual = backend.domain(&node.domain)?;
    let owner = actual.as_ref().and_then(|d| owner_of(&d.xml));
    let ours = owner
        .as_ref()
        .is_some_and(|o| o.cluster == want.cluster && o.node == node.node);
    if actual.is_some() && !ours && !adopt {
        let whose = match &owner {
            Some(o) => format!("owned by cluster {} node {}", o.cluster, o.node),
            None => "not created by virtstrap".into(),
        };
        conflicts.push(format!(
            "domain {} exists and is {whose}: refusing to touch it (rename the node, or --adopt to take it over)",
            node.domain
        ));
        return Ok(());
    }
    let listed: BTreeSet<(String, String)> = owner
        .as_ref()
        .filter(|_| ours)
        .map(|o| o.volumes.iter().cloned().collect())
        .unwrap_or_default();
    let mut present = Vec::with_capacity(node.volumes.len());
    for v in &node.volumes {
        let state = backend.volume(&v.pool, &v.name)?;
        let key = (v.pool.clone(), v.name.clone());
        if state.is_some() && !listed.contains(&key) && !adopt {
            conflicts.push(format!(
                "volume {}/{} exists and no virtstrap domain records it: refusing to touch it (--adopt to take it over)",
                v.pool, v.name
            ));
        }
        present.push(state);
    }
    let Some(actual) = actual else {
        create_node(
            node,
            &present,
            steps,
            Change::Create,
            &Arc::from("new node"),
        );
        return Ok(());
    };
    let recorded = owner.map(|o| o.ignition_hash).unwrap_or_default();
    let root = present.first().and_then(|s| s.as_ref()).map(|s| s.capacity);
    let replace = if !recorded.is_empty() && recorded != node.ignition_hash {
        Some(
            "Ignition changed: Ignition runs only on first boot, so the node is rebuilt"
                .to_string(),
        )
    } else {
        root.filter(|&c| c > node.root_capacity).map(|c| {
            format!(
                "disk {} -> {}: volumes cannot shrink",
                crate::spec::size::human(c),
                crate::spec::size::human(node.root_capacity)
            )
        })
    };
    if let Some(reason) = replace {
        remove_node(
            &node.domain,
            actual.running,
            &node.volumes,
            &present,
            steps,
            Change::Replace,
            &Arc::from(reason.as_str()),
        );
        create_node(
            node,
            &vec![None; node.volumes.len()],
            steps,
            Change::Replace,
            &Arc::from(reason),
        );
        return Ok(());
    }
    if recorded.is_empty() {
        // an earlier apply stopped before Ignition was uploaded
        create_node(
            node,
            &present,
            steps,
            Change::Update,
            &Arc::from("finishing an interrupted apply"),
        );
        return Ok(());
    }
    if let Some(c) = root.filter(|&c| c < node.root_capacity) {
        let root_vol = &node.volumes[0];
        steps.push(step(
            Action::Resize {
                pool: root_vol.pool.clone(),
                name: root_vol.name.clone(),
                capacity: node.root_capacity,
            },
            Change::Update,
            format!(
                "disk {} -> {}",
                crate::spec::size::human(c),
                crate::spec::size::human(node.root_capacity)
            ),
        ));
    }
    for (v, state) in node.volumes.iter().zip(&present) {
        if state.is_none() {
            steps.push(create_volume(
                v,
                Change::Create,
                &Arc::from("volume is missing"),
            ));
        }
    }
    let (vcpus, memory) = sizes_of(&actual.xml);
    let mut changes = Vec::new();
    if vcpus.is_some_and(|v| v != node.vcpus) {
        changes.push(format!("vcpus {} -> {}", vcpus.unwrap_or(0), node.vcpus));
    }
    if memory.is_some_and(|m| m != node.memory_mib) {
        changes.push(format!(
            "memory {} -> {} MiB",
            memory.unwrap_or(0),
            node.memory_mib
        ));
    }
    let their_hash = attr_value(actual.xml.as_str(), "spec-hash");
    if changes.is_empty() && their_hash.as_deref() != Some(node.spec_hash.as_str()) {
        changes.push("domain definition changed".into());
    }
    if !changes.is_empty() {
        steps.push(step(
            Action::DefineDomain {
                name: node.domain.clone(),
                xml: node.definition.clone(),
            },
            Change::Update,
            format!("{} (effective at next boot)", changes.join(", ")),
        ));
    }
    if !actual.running {
        steps.push(step(
            Action::StartDomain {
                name: node.domain.clone(),
            },
            Change::Update,
            "domain is not running",
        ));
    }
    Ok(())
}

fn create_volume(v: &VolumeXml, change: Change, reason: &Arc<str>) -> Step {
    step(
        Action::CreateVolume {
            pool: v.pool.clone(),
            name: v.name.clone(),
            xml: v.xml.clone(),
        },
        change,
        reason.clone(),
    )
}

/// Define (pending), create missing volumes, upload Ignition, define
/// (final), start.
fn create_node(
    node: &DesiredNode,
    present: &[Option<crate::libvirt::VolumeState>],
    steps: &mut Vec<Step>,
    change: Change,
    reason: &Arc<str>,
) {
    let domain = |xml: DomainXml| Action::DefineDomain {
        name: node.domain.clone(),
        xml,
    };
    steps.push(step(
        domain(node.definition.pending()),
        change,
        reason.clone(),
    ));
    for (v, state) in node.volumes.iter().zip(present) {
        if state.is_none() {
            steps.push(create_volume(v, change, reason));
        }
    }
    if let Some(ign) = node.volumes.last() {
        steps.push(step(
            Action::Upload {
                pool: ign.pool.clone(),
                name: ign.name.clone(),
                data: Arc::clone(&node.ignition),
            },
            change,
            reason.clone(),
        ));
    }
    steps.push(step(
        domain(node.definition.clone()),
        change,
        reason.clone(),
    ));
    steps.push(step(
        Action::StartDomain {
            name: node.domain.clone(),
        },
        change,
        reason.clone(),
    ));
}

fn remove_node(
    domain: &str,
    running: bool,
    volumes: &[VolumeXml],
    present: &[Option<crate::libvirt::VolumeState>],
    steps: &mut Vec<Step>,
    change: Change,
    reason: &Arc<str>,
) {
    if running {
        steps.push(step(
            Action::StopDomain {
                name: domain.to_string(),
            },
            change,
            reason.clone(),
        ));
    }
    steps.push(step(
        Action::UndefineDomain {
            name: domain.to_string(),
        },
        change,
        reason.clone(),
    ));
    for (v, state) in volumes.iter().zip(present) {
        if state.is_some() {
            steps.push(step(
                Action::DeleteVolume {
                    pool: v.pool.clone(),
                    name: v.name.clone(),
                },
                change,
                reason.clone(),
            ));
        }
    }
}

/// Everything this cluster owns among the spec's objects, in reverse
/// order: domains (stopped, undefined) and the volumes they record, then
/// declared networks and pools virtstrap created.
pub fn destroy_plan(backend: &dyn Backend, want: &Desired) -> Result<Plan, PlanError> {
    let mut steps = Vec::new();
    for node in &want.nodes {
        let Some(actual) = backend.domain(&node.domain)? else {
            continue;
        };
        let Some(owner) =
            owner_of(&actual.xml).filter(|o| o.cluster == want.cluster && o.node == node.node)
        else {
            continue;
        };
        let recorded: Vec<VolumeXml> = owner
            .volumes
            .iter()
            .map(|(pool, name)| VolumeXml {
                pool: pool.clone(),
                name: name.clone(),
                xml: Arc::from(""),
            })
            .collect();
        let mut present = Vec::with_capacity(recorded.len());
        for v in &recorded {
            present.push(backend.volume(&v.pool, &v.name)?);
        }
        let from = steps.len();
        remove_node(
            &node.domain,
            actual.running,
            &recorded,
            &present,
            &mut steps,
            Change::Delete,
            &Arc::from("destroy"),
        );
        tag(&mut steps, from, &node.node);
    }
    for net in &want.networks {
        let owned = backend
            .network(&net.name)?
            .is_some_and(|n| owner_of(&n.xml).is_some_and(|o| o.cluster == want.cluster));
        if owned {
            steps.push(step(
                Action::DeleteNetwork {
                    name: net.name.clone(),
                },
                Change::Delete,
                "destroy",
            ));
        }
    }
    for (name, _) in &want.pools {
        let Some(p) = backend.pool(name)? else {
            continue;
        };
        if half_made(&p) || backend.volume(name, &pool_marker(&want.cluster))?.is_some() {
            steps.push(step(
                Action::DeletePool { name: name.clone() },
                Change::Delete,
                "destroy",
            ));
        }
    }
    Ok(Plan { steps })
}

/// Run one action. After a `kill -9`, libvirt finishes the calls the
/// dead client had sent, so the next apply can find an object made after
/// it planned: a failed action whose result is nevertheless in place
/// counts as done; a define that collided with this node's own domain,
/// defined meanwhile, is made again over it; and an owned domain that a
/// late start ran again before its undefine is stopped again first.
pub fn execute(backend: &dyn Backend, cluster: &str, action: &Action) -> Result<(), BackendError> {
    run_action(backend, cluster, action).or_else(|e| {
        if already_done(backend, action) {
            Ok(())
        } else if defined_meanwhile(backend, cluster, action) {
            run_action(backend, cluster, action)
        } else if let Some(name) = started_meanwhile(backend, cluster, action) {
            execute(backend, cluster, &Action::StopDomain { name })?;
            run_action(backend, cluster, action)
        } else {
            Err(e)
        }
    })
}

/// The domain `action` undefines, if it is running and this cluster's.
fn started_meanwhile(b: &dyn Backend, cluster: &str, action: &Action) -> Option<String> {
    let Action::UndefineDomain { name } = action else {
        return None;
    };
    let d = b.domain(name).ok().flatten()?;
    let ours = owner_of(&d.xml).is_some_and(|o| o.cluster == cluster);
    (d.running && ours).then(|| name.clone())
}

/// Whether `action` defines a domain that now exists and is recorded as
/// this cluster's same node: never someone else's.
fn defined_meanwhile(b: &dyn Backend, cluster: &str, action: &Action) -> bool {
    let Action::DefineDomain { name, xml } = action else {
        return false;
    };
    b.domain(name)
        .ok()
        .flatten()
        .and_then(|d| owner_of(&d.xml))
        .is_some_and(|o| o.cluster == cluster && o.node == xml.node())
}

fn already_done(b: &dyn Backend, action: &Action) -> bool {
    let domain = |name: &str| b.domain(name).ok();
    let volume = |pool: &str, name: &str| b.volume(pool, name).ok();
    match action {
        Action::StartDomain { name } => domain(name).flatten().is_some_and(|d| d.running),
        Action::StartNetwork { name } => b.network(name).ok().flatten().is_some_and(|n| n.active),
        Action::StopDomain { name } => domain(name).flatten().is_some_and(|d| !d.running),
        Action::UndefineDomain { name } => domain(name).is_some_and(|d| d.is_none()),
        Action::CreateVolume { pool, name, .. } => volume(pool, name).flatten().is_some(),
        Action::DeleteVolume { pool, name } => volume(pool, name).is_some_and(|v| v.is_none()),
        _ => false,
    }
}

fn run_action(backend: &dyn Backend, cluster: &str, action: &Action) -> Result<(), BackendError> {
    match action {
        Action::CreatePool { xml, .. } => backend.create_pool(xml, &marker_xml(cluster)),
        Action::FinishPool { name } => backend.finish_pool(name, &marker_xml(cluster)),
        Action::CreateNetwork { xml, .. } => backend.create_network(xml),
        Action::StartNetwork { name } => backend.start_network(name),
        Action::AddDhcpHost { network, xml } => backend.add_dhcp_host(network, xml),
        Action::DefineDomain { xml, .. } => backend.define_domain(&xml.render()),
        Action::CreateVolume { pool, xml, .. } => backend.create_volume(pool, xml),
        Action::Upload { pool, name, data } => backend.upload_volume(pool, name, data),
        Action::Resize {
            pool,
            name,
            capacity,
        } => backend.resize_volume(pool, name, *capacity),
        Action::StartDomain { name } => backend.start_domain(name),
        Action::StopDomain { name } => backend.stop_domain(name),
        Action::UndefineDomain { name } => backend.undefine_domain(name),
        Action::DeleteVolume { pool, name } => backend.delete_volume(pool, name),
        Action::DeleteNetwork { name } => backend.delete_network(name),
        Action::DeletePool { name } => {
            let marker = pool_marker(cluster);
            if backend.volume(name, &marker)?.is_some() {
                backend.delete_volume(name, &marker)?;
            }
            backend.delete_pool(name)
        }
    }
}
