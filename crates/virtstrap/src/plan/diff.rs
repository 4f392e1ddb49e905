//! Desired against actual: the ordered steps that make the host match the
//! spec ([`diff`]) or remove what this cluster made ([`destroy`]). Pure:
//! both read only a [`Desired`] and an [`Actual`] snapshot, so every case
//! is a unit test over a hand-built host (spec -> desired -> **plan** ->
//! apply).
//!
//! Only what the spec sets is compared: libvirt's own defaults are not
//! drift. Ownership comes from the records the host keeps (see
//! [`crate::render::owner`]); an object with a clashing name that is not
//! this cluster's is a conflict, never changed, unless `adopt`.
//!
//! A node is built in an order that keeps every interrupted apply
//! recoverable: define the domain first (recording ownership of the
//! volumes it is about to get, with an empty `ignition-hash`), create the
//! volumes, upload Ignition, redefine with the hash, then start. The next
//! apply finishes whatever step was missing; destroy removes whatever the
//! record lists.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::libvirt::PoolState;
use crate::spec::size::human;

use crate::render::owner::Reservation;

use super::action::{step, tag, Action, Change, Plan, Step};
use super::actual::HostEntry;
use super::actual::{Actual, ActualDomain};
use super::address;
use super::desired::{Desired, DesiredNode, DomainXml};
use super::refusals;
use super::PlanError;

/// The steps that make the host match `want`. With `adopt`, objects with
/// clashing names that virtstrap does not own are taken over instead of
/// refused.
pub fn diff(want: &Desired, actual: &Actual, adopt: bool) -> Result<Plan, PlanError> {
    let mut conflicts = Vec::new();
    refusals::stopped_pools(want, actual, &mut conflicts);
    refusals::stopped_networks(want, actual, &mut conflicts);
    let unreadable = !conflicts.is_empty();
    refusals::missing_pools(want, actual, &mut conflicts);
    refusals::pool_clashes(want, actual, &mut conflicts);
    refusals::network_clashes(want, actual, &mut conflicts);
    if unreadable {
        // nothing can be looked up in a stopped pool
        return Err(PlanError::Conflicts(conflicts));
    }
    let mut steps = Vec::new();
    pool_steps(want, actual, &mut steps);
    network_steps(want, actual, &mut steps);
    refusals::missing_base_image(want, actual, &mut conflicts);
    let addresses = address::plan(want, actual, &mut conflicts);
    for node in &want.nodes {
        let from = steps.len();
        let cx = NodeCx::new(want, actual, node, &addresses);
        cx.steps(adopt, &mut steps, &mut conflicts);
        tag(&mut steps, from, &node.node);
    }
    if conflicts.is_empty() {
        Ok(Plan {
            steps,
            notes: addresses.notes,
        })
    } else {
        Err(PlanError::Conflicts(conflicts))
    }
}

/// One node's part of the diff: the spec's node, the host, and the
/// addresses the address plan reserved for it.
pub(super) struct NodeCx<'a> {
    pub(super) want: &'a Desired,
    pub(super) actual: &'a Actual,
    pub(super) node: &'a DesiredNode,
    pub(super) reserved: &'a [Reservation],
}

impl<'a> NodeCx<'a> {
    /// `node`'s part, with what `addresses` reserved for it.
    pub(super) fn new(
        want: &'a Desired,
        actual: &'a Actual,
        node: &'a DesiredNode,
        addresses: &'a address::Addresses,
    ) -> NodeCx<'a> {
        let reserved = addresses
            .reservations
            .get(&node.node)
            .map_or(&[][..], Vec::as_slice);
        NodeCx {
            want,
            actual,
            node,
            reserved,
        }
    }
}

fn pool_steps(want: &Desired, actual: &Actual, steps: &mut Vec<Step>) {
    for (name, xml) in &want.pools {
        match actual.pool(name) {
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
}

fn network_steps(want: &Desired, actual: &Actual, steps: &mut Vec<Step>) {
    for net in &want.networks {
        let Some(have) = actual.network(&net.name) else {
            steps.push(step(
                Action::CreateNetwork {
                    name: net.name.clone(),
                    xml: net.xml.clone(),
                },
                Change::Create,
                "declared network is missing",
            ));
            continue;
        };
        if !have.owned_by(&want.cluster) {
            continue; // pre-existing: used as it is, never changed
        }
        if !have.active {
            steps.push(step(
                Action::StartNetwork {
                    name: net.name.clone(),
                },
                Change::Update,
                "network is not running",
            ));
        }
        for (mac, host) in &net.hosts {
            if !have.dhcp_macs.contains(&mac.to_ascii_lowercase()) {
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

impl NodeCx<'_> {
    /// The node's steps: create it, replace it, finish it, or update what
    /// drifted.
    fn steps(&self, adopt: bool, steps: &mut Vec<Step>, conflicts: &mut Vec<String>) {
        let (want, actual, node) = (self.want, self.actual, self.node);
        if !may_touch(want, actual, node, adopt, conflicts) {
            return;
        }
        let present: Vec<bool> = node
            .volumes
            .iter()
            .map(|v| actual.volume(&v.pool, &v.name).flatten().is_some())
            .collect();
        let Some(domain) = actual.domain(&node.domain) else {
            self.create(&present, steps, Change::Create, &Arc::from("new node"));
            return;
        };
        if let Some(reason) = adopting(want, node, domain) {
            // never rebuilt: its volumes are not this cluster's to delete
            self.create(&present, steps, Change::Update, &Arc::from(reason));
            return;
        }
        let recorded = domain
            .owner
            .as_ref()
            .map(|o| o.ignition_hash.as_str())
            .unwrap_or_default();
        let root = node
            .volumes
            .first()
            .and_then(|v| actual.volume(&v.pool, &v.name).flatten());
        if let Some(reason) = replace_reason(node, recorded, root) {
            let reason: Arc<str> = Arc::from(reason);
            let volumes = node.volumes.iter().zip(&present);
            let existing = volumes
                .filter(|(_, &p)| p)
                .map(|(v, _)| (&*v.pool, &*v.name));
            let change = Change::Replace;
            remove_node(
                &node.domain,
                domain.running,
                existing,
                &[],
                steps,
                change,
                &reason,
            );
            let none = vec![false; node.volumes.len()];
            self.create(&none, steps, Change::Replace, &reason);
        } else if recorded.is_empty() {
            // an earlier apply stopped before Ignition was uploaded
            let reason = Arc::from("finishing an interrupted apply");
            self.create(&present, steps, Change::Update, &reason);
        } else {
            self.update(domain, root, &present, steps);
        }
    }

    /// The final definition: the spec's, recording the reservations.
    fn definition(&self) -> DomainXml {
        self.node.definition.with_reservations(self.reserved)
    }

    /// Add the host entries of the node's reservations that the networks
    /// do not have.
    fn reserve(&self, steps: &mut Vec<Step>, change: Change, reason: &Arc<str>) {
        for r in self.reserved {
            if has_entry(self.actual, r) {
                continue;
            }
            let add = Action::AddDhcpHost {
                network: r.network.clone(),
                xml: address::host_xml(r, &self.node.domain),
            };
            steps.push(step(add, change, reason.clone()));
        }
    }

    /// In-place changes of a complete node: grow the root disk, recreate
    /// missing volumes, redefine on vCPU, memory, definition or
    /// reservation drift, add missing host entries, start.
    fn update(
        &self,
        domain: &ActualDomain,
        root: Option<u64>,
        present: &[bool],
        steps: &mut Vec<Step>,
    ) {
        let node = self.node;
        if let Some(c) = root.filter(|&c| c < node.root_capacity) {
            let root_vol = &node.volumes[0];
            steps.push(step(
                Action::Resize {
                    pool: root_vol.pool.clone(),
                    name: root_vol.name.clone(),
                    capacity: node.root_capacity,
                },
                Change::Update,
                format!("disk {} -> {}", human(c), human(node.root_capacity)),
            ));
        }
        let missing = Arc::from("volume is missing");
        for (v, _) in node.volumes.iter().zip(present).filter(|(_, &p)| !p) {
            steps.push(create_volume(v, Change::Create, &missing));
        }
        let mut changes = drift(node, domain);
        let recorded = domain
            .owner
            .as_ref()
            .map_or(&[][..], |o| o.reservations.as_slice());
        if recorded != self.reserved {
            changes.push("recording its DHCP host entries".into());
        }
        if !changes.is_empty() {
            let define = Action::DefineDomain {
                name: node.domain.clone(),
                xml: self.definition(),
            };
            let why = format!("{} (effective at next boot)", changes.join(", "));
            steps.push(step(define, Change::Update, why));
        }
        self.reserve(
            steps,
            Change::Update,
            &Arc::from("address reservation is missing"),
        );
        if !domain.running {
            let start = Action::StartDomain {
                name: node.domain.clone(),
            };
            steps.push(step(start, Change::Update, "domain is not running"));
        }
    }

    /// Define (pending), create missing volumes, upload Ignition, define
    /// (final), add its host entries, start. Both definitions record the
    /// reservations, so an apply cut short leaves no entry unrecorded.
    pub(super) fn create(
        &self,
        present: &[bool],
        steps: &mut Vec<Step>,
        change: Change,
        reason: &Arc<str>,
    ) {
        let node = self.node;
        let domain = |xml: DomainXml| Action::DefineDomain {
            name: node.domain.clone(),
            xml,
        };
        let definition = self.definition();
        steps.push(step(domain(definition.pending()), change, reason.clone()));
        for (v, _) in node.volumes.iter().zip(present).filter(|(_, &p)| !p) {
            steps.push(create_volume(v, change, reason));
        }
        if let Some(ign) = node.volumes.last() {
            let upload = Action::Upload {
                pool: ign.pool.clone(),
                name: ign.name.clone(),
                data: node.ignition.clone(),
            };
            steps.push(step(upload, change, reason.clone()));
        }
        steps.push(step(domain(definition), change, reason.clone()));
        self.reserve(steps, change, reason);
        let start = Action::StartDomain {
            name: node.domain.clone(),
        };
        steps.push(step(start, change, reason.clone()));
    }
}

/// Whether the network of `r` has its host entry (MAC and address).
fn has_entry(actual: &Actual, r: &Reservation) -> bool {
    host_entry(actual, r).is_some()
}

fn host_entry<'a>(actual: &'a Actual, r: &Reservation) -> Option<&'a HostEntry> {
    let dhcp = actual.network(&r.network)?.dhcp.as_ref()?;
    dhcp.hosts
        .iter()
        .find(|h| h.mac.as_deref() == Some(&*r.mac) && h.ip == Some(r.ip))
}
/// What `--adopt` does to a domain of the node's name that is not this
/// cluster's node, if it is not: it is taken over in place.
fn adopting(want: &Desired, node: &DesiredNode, domain: &ActualDomain) -> Option<String> {
    let whose = match &domain.owner {
        Some(o) if o.is_node(&want.cluster, &node.node) => return None,
        Some(o) => format!("owned by cluster {} node {}", o.cluster, o.node),
        None => "not created by virtstrap".into(),
    };
    let when = if domain.running {
        "effective at its next boot"
    } else {
        "then started"
    };
    Some(format!(
        "--adopt: taking over domain {} ({whose}): its definition is replaced with the \
         spec's ({when}), missing volumes are created and Ignition is uploaded (Ignition \
         runs only if its disk has never booted)",
        node.domain
    ))
}

/// Whether the node's domain and volumes are this cluster's (or taken
/// over with `adopt`); a foreign one is a conflict.
fn may_touch(
    want: &Desired,
    actual: &Actual,
    node: &DesiredNode,
    adopt: bool,
    conflicts: &mut Vec<String>,
) -> bool {
    let domain = actual.domain(&node.domain);
    let owner = domain.and_then(|d| d.owner.as_ref());
    let ours = owner.is_some_and(|o| o.is_node(&want.cluster, &node.node));
    if domain.is_some() && !ours && !adopt {
        let whose = match owner {
            Some(o) => format!("owned by cluster {} node {}", o.cluster, o.node),
            None => "not created by virtstrap".into(),
        };
        conflicts.push(format!(
            "domain {} exists and is {whose}: refusing to touch it (rename the node, or --adopt to take it over)",
            node.domain
        ));
        return false;
    }
    let listed: BTreeSet<&(String, String)> = owner
        .filter(|_| ours)
        .map(|o| o.volumes.iter().collect())
        .unwrap_or_default();
    for v in &node.volumes {
        let there = actual.volume(&v.pool, &v.name).flatten().is_some();
        if there && !listed.contains(&(v.pool.clone(), v.name.clone())) && !adopt {
            conflicts.push(format!(
                "volume {}/{} exists and no virtstrap domain records it: refusing to touch it (--adopt to take it over)",
                v.pool, v.name
            ));
        }
    }
    true
}

/// Why the node must be rebuilt, if it must: its Ignition changed (it runs
/// only on first boot), or its root disk would shrink.
fn replace_reason(node: &DesiredNode, recorded: &str, root: Option<u64>) -> Option<String> {
    if !recorded.is_empty() && recorded != node.ignition_hash {
        return Some(
            "Ignition changed: Ignition runs only on first boot, so the node is rebuilt".into(),
        );
    }
    root.filter(|&c| c > node.root_capacity).map(|c| {
        format!(
            "disk {} -> {}: volumes cannot shrink",
            human(c),
            human(node.root_capacity)
        )
    })
}

/// What differs between the definition the spec wants and the host's.
fn drift(node: &DesiredNode, domain: &ActualDomain) -> Vec<String> {
    let mut changes = Vec::new();
    if let Some(v) = domain.vcpus.filter(|&v| v != node.vcpus) {
        changes.push(format!("vcpus {v} -> {}", node.vcpus));
    }
    if let Some(m) = domain.memory_mib.filter(|&m| m != node.memory_mib) {
        changes.push(format!("memory {m} -> {} MiB", node.memory_mib));
    }
    let their_hash = domain.owner.as_ref().map(|o| o.spec_hash.as_str());
    if changes.is_empty() && their_hash != Some(node.spec_hash.as_str()) {
        changes.push("domain definition changed".into());
    }
    changes
}

fn create_volume(v: &crate::render::storage::VolumeXml, change: Change, reason: &Arc<str>) -> Step {
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

/// Stop (if running), delete each of `volumes` (pool, name), remove each
/// of `hosts` (network, `<host/>` XML), then undefine: the record goes
/// last, so a run cut short leaves nothing it no longer lists.
fn remove_node<'a>(
    domain: &str,
    running: bool,
    volumes: impl Iterator<Item = (&'a str, &'a str)>,
    hosts: &[(String, String)],
    steps: &mut Vec<Step>,
    change: Change,
    reason: &Arc<str>,
) {
    let name = domain.to_string();
    if running {
        let stop = Action::StopDomain { name: name.clone() };
        steps.push(step(stop, change, reason.clone()));
    }
    for (pool, name) in volumes {
        let delete = Action::DeleteVolume {
            pool: pool.to_string(),
            name: name.to_string(),
        };
        steps.push(step(delete, change, reason.clone()));
    }
    for (network, xml) in hosts {
        let delete = Action::DeleteDhcpHost {
            network: network.clone(),
            xml: xml.clone(),
        };
        steps.push(step(delete, change, reason.clone()));
    }
    steps.push(step(
        Action::UndefineDomain { name },
        change,
        reason.clone(),
    ));
}
/// Everything this cluster owns among the spec's objects, in reverse
/// order: domains (stopped, undefined) and the volumes they record, then
/// declared networks and pools virtstrap created.
pub fn destroy(want: &Desired, actual: &Actual) -> Result<Plan, PlanError> {
    let mut steps = Vec::new();
    let mut conflicts = Vec::new();
    let reason: Arc<str> = Arc::from("destroy");
    for node in &want.nodes {
        let from = steps.len();
        destroy_node(want, actual, node, &reason, &mut steps, &mut conflicts);
        tag(&mut steps, from, &node.node);
    }
    for net in &want.networks {
        if actual
            .network(&net.name)
            .is_some_and(|n| n.owned_by(&want.cluster))
        {
            let delete = Action::DeleteNetwork {
                name: net.name.clone(),
            };
            steps.push(step(delete, Change::Delete, reason.clone()));
        }
    }
    for (name, _) in &want.pools {
        let ours = actual
            .pool(name)
            .is_some_and(|p| half_made(p) || actual.marked_pools.contains(name));
        if ours {
            let delete = Action::DeletePool { name: name.clone() };
            steps.push(step(delete, Change::Delete, reason.clone()));
        }
    }
    if conflicts.is_empty() {
        Ok(Plan {
            steps,
            notes: Vec::new(),
        })
    } else {
        Err(PlanError::Conflicts(conflicts))
    }
}

/// Stop and undefine the node's domain if it is this cluster's node, and
/// delete every volume its record lists that is there.
fn destroy_node(
    want: &Desired,
    actual: &Actual,
    node: &DesiredNode,
    reason: &Arc<str>,
    steps: &mut Vec<Step>,
    conflicts: &mut Vec<String>,
) {
    let Some(domain) = actual.domain(&node.domain) else {
        return;
    };
    let Some(owner) = domain
        .owner
        .as_ref()
        .filter(|o| o.is_node(&want.cluster, &node.node))
    else {
        return;
    };
    let mut present = Vec::new();
    for (pool, name) in &owner.volumes {
        match actual.volume(pool, name) {
            Some(Some(_)) => present.push((pool.as_str(), name.as_str())),
            Some(None) => {}
            None => conflicts.push(format!(
                "pool {pool} exists but is not started, so volume {pool}/{name} of node {} \
                 cannot be deleted: start it (virsh pool-start {pool})",
                node.node
            )),
        }
    }
    let hosts = recorded_hosts(actual, &owner.reservations, &node.domain);
    let change = Change::Delete;
    remove_node(
        &node.domain,
        domain.running,
        present.into_iter(),
        &hosts,
        steps,
        change,
        reason,
    );
}

/// The host entries of `reservations` their networks still have, as
/// (network, `<host/>` XML) for their removal: matched by MAC and address,
/// so an entry someone else changed since is left alone.
fn recorded_hosts(
    actual: &Actual,
    reservations: &[Reservation],
    domain: &str,
) -> Vec<(String, String)> {
    let entry = |r: &Reservation| {
        let h = host_entry(actual, r)?;
        let xml = address::host_xml(r, h.name.as_deref().unwrap_or(domain));
        Some((r.network.clone(), xml))
    };
    reservations.iter().filter_map(entry).collect()
}

/// A declared pool running but not defined: only
/// [`crate::libvirt::Backend::create_pool`] cut short makes one (it
/// defines the pool last), so it is this cluster's, to finish or to
/// remove.
pub(super) fn half_made(p: &PoolState) -> bool {
    p.active && !p.persistent
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
