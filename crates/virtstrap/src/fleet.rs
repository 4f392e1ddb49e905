//! A cluster over several libvirt hosts (`hosts:`): connect to every
//! host at once, find which host each existing node is on, place the new
//! ones ([`crate::plan::placement`]), and split the cluster into one
//! [`Session`] per host, each holding the nodes that run there.
//!
//! Where every command on such a spec starts (spec -> **connect** ->
//! plan -> apply, once per host). libvirt is the only engine: there is
//! no agent and no state file; a node's host is found on the hosts
//! themselves (the domain's owner record), so placement survives any
//! machine the command runs from.
//!
//! Addresses are planned over the whole cluster, then each host's share
//! is pinned: two hosts never reserve the same address on a network the
//! spec declares.

use std::collections::HashMap;

use crate::libvirt::real::LibvirtBackend;
use crate::libvirt::{Backend, BackendError};
use crate::plan::placement::{place, HostRoom};
use crate::render::addr::ips;
use crate::render::domain::DomainOptions;
use crate::render::ignition::ButaneSet;
use crate::render::owner;
use crate::session::{connect, Session, SessionError};
use crate::spec::{Cluster, Host, Placement};

/// One host of the cluster and its share of it.
pub struct Member {
    /// The spec's name for the host.
    pub name: String,
    /// The host, with only the nodes placed on it.
    pub session: Session,
}

/// Every host that answered, and what was left out.
pub struct Fleet {
    /// The hosts that answered, in the order `hosts:` lists them.
    pub members: Vec<Member>,
    /// Hosts that did not answer: name, URI, why (only with `partial`).
    pub down: Vec<Down>,
    /// Nodes no host that answered has, which may be on a host that did
    /// not (only with `partial`): they are left alone.
    pub unplaced: Vec<String>,
}

/// A host that did not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Down {
    /// The spec's name for it.
    pub name: String,
    /// Its URI.
    pub uri: String,
    /// libvirt's words.
    pub why: String,
}

impl std::fmt::Display for Down {
    /// `box2 (qemu+tcp://10.0.0.2/system)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.uri)
    }
}

impl Down {
    /// For programs: host, uri, why.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "host": self.name, "uri": self.uri, "why": self.why })
    }
}

/// Why the cluster's hosts could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Hosts did not answer; nothing was changed anywhere.
    #[error("{}\nnothing was changed on any host (--partial applies what it can on the hosts that answer)",
        .0.iter().map(|d| format!("host {d} did not answer: {}", d.why)).collect::<Vec<_>>().join("\n"))]
    Down(Vec<Down>),
    /// No host answered.
    #[error("no host of the cluster answered:\n{}",
        .0.iter().map(|d| format!("  {d}: {}", d.why)).collect::<Vec<_>>().join("\n"))]
    NoneUp(Vec<Down>),
    /// Nodes the spec pins to one host exist on another.
    #[error("{}\nnothing was changed; apply does not move nodes between hosts: destroy the \
              cluster (or put host: back) first", .0.join("\n"))]
    Moved(Vec<String>),
    /// A host answered, but reading it failed.
    #[error("host {host}: {source}")]
    Read {
        /// The host's name.
        host: String,
        /// What failed.
        source: SessionError,
    },
}

/// What one host has that placement needs.
struct Seen {
    backend: LibvirtBackend,
    found: Vec<String>,
    free: u64,
}

impl Fleet {
    /// Connect to every host of `cluster` in parallel, place its nodes
    /// and give each host its share. A host that does not answer is an
    /// error unless `partial`, which leaves it (and every node that may
    /// be on it) out.
    ///
    /// For `destroy`, each host's share also holds every node of the
    /// cluster found there, wherever the spec now puts it; otherwise a
    /// node the spec pins to one host but that exists on another is an
    /// error ([`FleetError::Moved`]).
    pub fn open(
        cluster: &Cluster,
        butane: &ButaneSet,
        opts: DomainOptions,
        partial: bool,
        destroy: bool,
    ) -> Result<Fleet, FleetError> {
        let answers = connect_all(cluster);
        let mut seen = Vec::new();
        let mut down = Vec::new();
        for (host, answer) in cluster.hosts.iter().zip(answers) {
            match answer {
                Ok(s) => seen.push((host, s)),
                Err(why) => down.push(Down {
                    name: host.name.clone(),
                    uri: host.uri.clone(),
                    why,
                }),
            }
        }
        if seen.is_empty() {
            return Err(FleetError::NoneUp(down));
        }
        if !down.is_empty() && !partial {
            return Err(FleetError::Down(down));
        }
        let (placed, unplaced) = placement(cluster, &seen, &down);
        if !destroy {
            check_moved(&seen, &placed)?;
        }
        let pinned = pinned_addresses(cluster);
        let mut members = Vec::new();
        for (host, s) in seen {
            let also: &[String] = if destroy { &s.found } else { &[] };
            let share = share(cluster, &pinned, &placed, &host.name, also);
            let session = Session::with_backend(share, butane.clone(), s.backend, opts).map_err(
                |source| FleetError::Read {
                    host: host.name.clone(),
                    source,
                },
            )?;
            members.push(Member {
                name: host.name.clone(),
                session,
            });
        }
        Ok(Fleet {
            members,
            down,
            unplaced,
        })
    }
}

/// Connect to every host at once and read what placement needs: for
/// each, the nodes of this cluster it has and its free memory, or why
/// it did not answer.
fn connect_all(cluster: &Cluster) -> Vec<Result<Seen, String>> {
    at_once(&cluster.hosts, |h| look(cluster, h))
}

/// `f` of every item, each on its own thread (one per host: their calls
/// wait on the network, not on this machine), in the items' order. A
/// thread that panicked panics the caller.
pub fn at_once<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items.iter().map(|i| scope.spawn(move || f(i))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Connect to `host` and read it.
fn look(cluster: &Cluster, host: &Host) -> Result<Seen, String> {
    let backend = connect(&host.uri).map_err(|e| match e {
        SessionError::Connect { why, .. } => why,
        other => other.to_string(),
    })?;
    let (found, free) = read(cluster, &backend).map_err(|e| e.to_string())?;
    Ok(Seen {
        backend,
        found,
        free,
    })
}

/// The nodes of `cluster` that `backend` has (a domain of the node's
/// name whose owner record names this cluster and node), and its free
/// memory.
fn read(cluster: &Cluster, backend: &LibvirtBackend) -> Result<(Vec<String>, u64), BackendError> {
    let mut found = Vec::new();
    for n in &cluster.nodes {
        let Some(d) = backend.domain(&cluster.domain_name(n))? else {
            continue;
        };
        if owner::read(&d.xml).is_some_and(|o| o.is_node(&cluster.name, &n.name)) {
            found.push(n.name.clone());
        }
    }
    Ok((found, backend.free_memory()?))
}

/// Every node's host, and the nodes left out because a host that did
/// not answer may have them: those pinned to it, and spread nodes that
/// no host that answered has.
fn placement(
    cluster: &Cluster,
    seen: &[(&Host, Seen)],
    down: &[Down],
) -> (HashMap<String, String>, Vec<String>) {
    let mut existing = HashMap::new();
    for (host, s) in seen {
        for n in &s.found {
            existing
                .entry(n.clone())
                .or_insert_with(|| host.name.clone());
        }
    }
    let rooms: Vec<HostRoom> = seen
        .iter()
        .map(|(h, s)| HostRoom {
            name: h.name.clone(),
            free_bytes: s.free,
        })
        .collect();
    let is_down = |h: &str| down.iter().any(|d| d.name == h);
    let (left_out, placeable): (Vec<_>, Vec<_>) =
        cluster
            .nodes
            .iter()
            .cloned()
            .partition(|n| match &n.placement {
                Placement::Host(h) => is_down(h),
                Placement::Spread => !down.is_empty() && !existing.contains_key(&n.name),
                Placement::Single => false,
            });
    let placed = place(&placeable, &rooms, &existing);
    (placed, left_out.into_iter().map(|n| n.name).collect())
}

/// Nodes found on a host other than the one the spec pins them to.
fn check_moved(seen: &[(&Host, Seen)], placed: &HashMap<String, String>) -> Result<(), FleetError> {
    let mut moved = Vec::new();
    for (host, s) in seen {
        for n in &s.found {
            match placed.get(n) {
                Some(to) if *to != host.name => moved.push(format!(
                    "node {n} is on host {}, but the spec puts it on host {to}",
                    host.name
                )),
                _ => {}
            }
        }
    }
    if moved.is_empty() {
        Ok(())
    } else {
        Err(FleetError::Moved(moved))
    }
}

/// Every NIC's address planned over the whole cluster, by node name.
fn pinned_addresses(cluster: &Cluster) -> HashMap<String, Vec<Option<std::net::Ipv4Addr>>> {
    cluster
        .nodes
        .iter()
        .zip(ips(cluster))
        .map(|(n, a)| (n.name.clone(), a))
        .collect()
}

/// The cluster as `host` runs it: only the nodes placed there, each NIC
/// with the address the whole cluster's plan gave it.
fn share(
    cluster: &Cluster,
    pinned: &HashMap<String, Vec<Option<std::net::Ipv4Addr>>>,
    placed: &HashMap<String, String>,
    host: &str,
    also: &[String],
) -> Cluster {
    let mut c = cluster.clone();
    c.nodes
        .retain(|n| placed.get(&n.name).is_some_and(|h| h == host) || also.contains(&n.name));
    for n in &mut c.nodes {
        if let Some(addrs) = pinned.get(&n.name) {
            for (nic, ip) in n.networks.iter_mut().zip(addrs) {
                nic.ip = nic.ip.or(*ip);
            }
        }
    }
    c.connect = cluster
        .hosts
        .iter()
        .find(|h| h.name == host)
        .map(|h| h.uri.clone());
    c.hosts.clear();
    c
}
