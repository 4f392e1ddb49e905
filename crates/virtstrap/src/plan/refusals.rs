//! What the host cannot hold as it is, found before anything changes:
//! part of the diff (spec -> desired -> **plan** -> apply), pure. Stopped
//! pools and networks the nodes need, pools that do not exist and are not
//! declared, declared pools and networks that exist with other values,
//! a missing base image. Each becomes a conflict (exit 2, nothing
//! changed), every one at once.

use super::actual::{Actual, NetworkShape};
use super::desired::Desired;
use super::diff::half_made;

/// Every pool the spec puts volumes in must be started: libvirt cannot
/// make or find volumes in a stopped one. Pools that do not exist yet are
/// the declared ones apply creates (or a missing base image's, reported
/// on its own).
pub(crate) fn stopped_pools(want: &Desired, actual: &Actual, conflicts: &mut Vec<String>) {
    for pool in want.pools_used() {
        if actual.pool(pool).is_some_and(|p| !p.active) {
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
pub(crate) fn stopped_networks(want: &Desired, actual: &Actual, conflicts: &mut Vec<String>) {
    for name in want.networks_used() {
        let Some(net) = actual.network(name) else {
            if !want.declares_network(name) {
                conflicts.push(format!(
                    "network {name} does not exist: create it, or declare it under \
                     `networks:` in the spec so that apply creates it"
                ));
            }
            continue;
        };
        if !net.active && !net.owned_by(&want.cluster) {
            conflicts.push(format!(
                "network {name} exists but is not started: start it (virsh net-start {name}; \
                 net-autostart {name} keeps it started after a reboot)"
            ));
        }
    }
}

/// Every pool the nodes' volumes go in that is neither on the host nor
/// declared: apply would define the domain and then fail on its first
/// volume. All of them are listed, with the nodes that use each.
pub(crate) fn missing_pools(want: &Desired, actual: &Actual, conflicts: &mut Vec<String>) {
    for pool in want.pools_used() {
        if want.declares_pool(pool) || !matches!(actual.pools.get(pool), Some(None)) {
            continue;
        }
        let mut users: Vec<&str> = want
            .nodes
            .iter()
            .filter(|n| n.volumes.iter().any(|v| v.pool == pool))
            .map(|n| n.node.as_str())
            .collect();
        if want.base_image.as_ref().is_some_and(|(p, _)| p == pool) {
            users.push("the base image");
        }
        conflicts.push(format!(
            "pool {pool} does not exist and the spec does not declare it (used by {}): \
             create it (virsh pool-define-as {pool} dir --target DIR, then pool-build, \
             pool-start), or declare it under `pools:` with a path so that apply creates it",
            users.join(", ")
        ));
    }
}

/// A declared pool the host has at another directory: the spec's volumes
/// would not be where the spec says (and a pool is never moved).
pub(crate) fn pool_clashes(want: &Desired, actual: &Actual, conflicts: &mut Vec<String>) {
    for (name, path) in &want.pool_paths {
        let Some(have) = actual.pool(name) else {
            continue;
        };
        // an empty path: the host's XML names none (not known)
        if have.path.as_os_str().is_empty() || have.path == *path {
            continue;
        }
        let ours = half_made(have) || actual.marked_pools.contains(name);
        let fix = if ours {
            "virtstrap does not move a pool: set its path back, or destroy the cluster first"
        } else {
            "it is not this cluster's: rename the spec's pool, or give it the host's path"
        };
        conflicts.push(format!(
            "pool {name} exists at {}, but the spec declares it at {}: {fix}",
            have.path.display(),
            path.display()
        ));
    }
}

/// A declared network the host already has, that is not this cluster's
/// and is not what the spec declares (another mode, cidr or bridge): it
/// would be used as the host has it, silently, and never changed.
pub(crate) fn network_clashes(want: &Desired, actual: &Actual, conflicts: &mut Vec<String>) {
    for net in &want.networks {
        let Some(have) = actual.network(&net.name) else {
            continue;
        };
        let Some(shape) = have
            .shape
            .as_ref()
            .filter(|_| !have.owned_by(&want.cluster))
        else {
            continue;
        };
        let differences = shape_differences(&net.declared, shape);
        if !differences.is_empty() {
            conflicts.push(format!(
                "network {} exists, is not this cluster's, and is not what the spec declares \
                 ({}): rename the spec's network, or remove it from `networks:` to use the \
                 host's as it is",
                net.name,
                differences.join(", ")
            ));
        }
    }
}

/// How the host's network differs from the declaration, each as
/// `what X on the host, Y in the spec`.
pub(crate) fn shape_differences(
    declared: &crate::spec::Network,
    have: &NetworkShape,
) -> Vec<String> {
    let mut out = Vec::new();
    let mode = declared.mode.as_str();
    if have.mode != mode {
        out.push(format!(
            "mode {} on the host, {mode} in the spec",
            have.mode
        ));
    }
    if let Some(cidr) = declared.cidr.filter(|c| have.subnet != Some(*c)) {
        let host = have.subnet.map_or("none".to_string(), |s| s.to_string());
        out.push(format!("cidr {host} on the host, {cidr} in the spec"));
    }
    if let Some(bridge) = declared.bridge.as_ref() {
        if have.bridge.as_ref() != Some(bridge) {
            let host = have.bridge.as_deref().unwrap_or("none");
            out.push(format!("bridge {host} on the host, {bridge} in the spec"));
        }
    }
    out
}

pub(crate) fn missing_base_image(want: &Desired, actual: &Actual, conflicts: &mut Vec<String>) {
    let Some((pool, volume)) = &want.base_image else {
        return;
    };
    // a missing pool is reported on its own
    let pool_missing = matches!(actual.pools.get(pool), Some(None));
    if !want.declares_pool(pool) && !pool_missing && actual.volume(pool, volume).flatten().is_none()
    {
        conflicts.push(format!(
            "base image {pool}/{volume} does not exist: upload it (virtstrap image pull, or virsh vol-upload)"
        ));
    }
}
