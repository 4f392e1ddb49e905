//! `reset`: the steps that make named nodes pristine again (spec ->
//! desired -> **plan** -> apply): power off, a fresh root overlay on the
//! base image, the Ignition volume made again and re-uploaded (so the
//! node runs Ignition again at its next boot), extra data disks kept or,
//! with `data`, made again empty, then start. Pure, like the diff: a
//! [`Desired`] and an [`Actual`] in, a [`Plan`] out.
//!
//! The order keeps a reset cut short (`kill -9`) recoverable by the next
//! `reset` or `apply`: the domain is redefined with an empty
//! `ignition-hash` (the diff's "pending" definition) *before* any volume
//! is deleted, so from then on the diff sees an interrupted apply and
//! finishes it: it creates the missing volumes, uploads Ignition,
//! records the hash and starts the node. Cut before that, the node is
//! only stopped (apply starts it again, unchanged).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::libvirt::Backend;

use super::action::{step, tag, Action, Change, Plan, Step};
use super::actual::Actual;
use super::address;
use super::desired::{Desired, DesiredNode};
use super::diff::NodeCx;
use super::{refusals, PlanError};

/// Read the host, then [`reset`]: what resetting `nodes` takes.
pub fn reset_plan(
    backend: &dyn Backend,
    want: &Desired,
    nodes: &[String],
    data: bool,
) -> Result<Plan, PlanError> {
    reset(want, &Actual::read(backend, want)?, nodes, data)
}

/// The steps that reset each of `nodes` (spec names); with `data`, its
/// extra disks are made again empty too. A node the spec does not have,
/// that has no domain on the host, or whose domain is not this cluster's
/// node, is refused (nothing is changed for any node).
pub fn reset(
    want: &Desired,
    actual: &Actual,
    nodes: &[String],
    data: bool,
) -> Result<Plan, PlanError> {
    let mut conflicts = Vec::new();
    let mut picked: Vec<&DesiredNode> = Vec::new();
    let mut seen = BTreeSet::new();
    for name in nodes {
        if !seen.insert(name.as_str()) {
            continue;
        }
        match want.nodes.iter().find(|n| n.node == *name) {
            None => conflicts.push(not_in_spec(want, name)),
            Some(node) => match refusal(want, actual, node) {
                Some(why) => conflicts.push(why),
                None => picked.push(node),
            },
        }
    }
    if !picked.is_empty() {
        refusals::missing_pools(want, actual, &mut conflicts);
        refusals::missing_base_image(want, actual, &mut conflicts);
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicts(conflicts));
    }
    // another node's address problem is apply's to report, not reset's
    let addresses = address::plan(want, actual, &mut Vec::new());
    let mut steps = Vec::new();
    for node in picked {
        let cx = NodeCx::new(want, actual, node, &addresses);
        node_steps(&cx, data, &mut steps);
    }
    Ok(Plan {
        steps,
        notes: Vec::new(),
    })
}

/// Stop; define pending; delete the root, Ignition (and with `data` the
/// extra) volumes; then the diff's own creation of a node from there.
fn node_steps(cx: &NodeCx<'_>, data: bool, steps: &mut Vec<Step>) {
    let node = cx.node;
    let reason: Arc<str> = Arc::from(if data {
        "reset: fresh root disk, Ignition and data disks"
    } else {
        "reset: fresh root disk and Ignition, data disks kept"
    });
    let from = steps.len();
    let running = cx.actual.domain(&node.domain).is_some_and(|d| d.running);
    if running {
        let stop = Action::StopDomain {
            name: node.domain.clone(),
        };
        steps.push(step(stop, Change::Replace, reason.clone()));
    }
    // root first, Ignition last (see DesiredNode::volumes); data between
    let last = node.volumes.len().saturating_sub(1);
    let remade = |i: usize| i == 0 || i == last || data;
    let present: Vec<bool> = node
        .volumes
        .iter()
        .map(|v| cx.actual.volume(&v.pool, &v.name).flatten().is_some())
        .collect();
    let kept: Vec<bool> = (0..present.len())
        .map(|i| present[i] && !remade(i))
        .collect();
    let deletes: Vec<Step> = node
        .volumes
        .iter()
        .enumerate()
        .filter(|&(i, _)| present[i] && remade(i))
        .map(|(_, v)| {
            let delete = Action::DeleteVolume {
                pool: v.pool.clone(),
                name: v.name.clone(),
            };
            step(delete, Change::Replace, reason.clone())
        })
        .collect();
    let pending = steps.len();
    cx.create(&kept, steps, Change::Replace, &reason);
    // the pending definition comes first: deletes only after it
    steps.splice(pending + 1..pending + 1, deletes);
    tag(steps, from, &node.node);
}

/// `node x is not in the spec (its nodes: a, b)`.
fn not_in_spec(want: &Desired, name: &str) -> String {
    let names: Vec<&str> = want.nodes.iter().map(|n| n.node.as_str()).collect();
    format!(
        "node {name} is not in the spec (its nodes: {})",
        names.join(", ")
    )
}

/// Why `node` cannot be reset on this host, if it cannot.
fn refusal(want: &Desired, actual: &Actual, node: &DesiredNode) -> Option<String> {
    let Some(domain) = actual.domain(&node.domain) else {
        return Some(format!(
            "node {}: the host has no domain {}: nothing to reset (virtstrap apply creates it)",
            node.node, node.domain
        ));
    };
    let whose = match &domain.owner {
        Some(o) if o.is_node(&want.cluster, &node.node) => None,
        Some(o) => Some(format!("owned by cluster {} node {}", o.cluster, o.node)),
        None => Some("not created by virtstrap".to_string()),
    };
    if let Some(whose) = whose {
        return Some(format!(
            "node {}: domain {} is {whose}: reset never touches it",
            node.node, node.domain
        ));
    }
    let stopped = node
        .volumes
        .iter()
        .find(|v| actual.volume(&v.pool, &v.name).is_none());
    stopped.map(|v| {
        format!(
            "node {}: pool {} is not started, so its volume {} cannot be made again: start it \
             (virsh pool-start {})",
            node.node, v.pool, v.name, v.pool
        )
    })
}

#[cfg(test)]
#[path = "reset_tests.rs"]
mod tests;
