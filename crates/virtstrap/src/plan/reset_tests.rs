//! The reset planner over hand-built hosts: the whole list of actions
//! for a converged node, with and without `data`, and each refusal.

use std::path::{Path, PathBuf};

use super::*;
use crate::libvirt::PoolState;
use crate::plan::actual::ActualDomain;
use crate::plan::desired::desired;
use crate::render::domain::DomainOptions;
use crate::render::host::HostFacts;
use crate::render::ignition::ButaneSet;
use crate::render::owner::Owner;
use crate::spec::{load_str, LoadOptions};

const SPEC: &str = "name: t\n\
    image: { pool: default, volume: base.qcow2 }\n\
    defaults: { vcpus: 1, memory: 512MiB, disk: { pool: default, size: 4GiB } }\n\
    nodes: [ { name: a, extra_disks: [ { pool: default, size: 1GiB } ] }, { name: b } ]\n";

fn want() -> Desired {
    let c = load_str(SPEC, Path::new("/t/cluster.yaml"), &LoadOptions::default()).expect("spec");
    let butane = ButaneSet::load(&c).expect("no Butane files");
    let host = HostFacts::default();
    desired(&c, &butane, &host, &DomainOptions::default()).expect("desired")
}

/// The host after a complete apply of `w`: every node running.
fn converged(w: &Desired) -> Actual {
    let mut a = Actual::default();
    let pool = PoolState {
        xml: String::new(),
        active: true,
        persistent: true,
        path: PathBuf::from("/var/lib/libvirt/images"),
    };
    a.pools.insert("default".into(), Some(pool));
    a.volumes
        .insert(("default".into(), "base.qcow2".into()), Some(1 << 30));
    for n in &w.nodes {
        let owner = Owner {
            cluster: w.cluster.clone(),
            node: n.node.clone(),
            spec_hash: n.spec_hash.clone(),
            ignition_hash: n.ignition_hash.clone(),
            volumes: n
                .volumes
                .iter()
                .map(|v| (v.pool.clone(), v.name.clone()))
                .collect(),
            reservations: Vec::new(),
        };
        let domain = ActualDomain {
            running: true,
            owner: Some(owner),
            vcpus: Some(n.vcpus),
            memory_mib: Some(n.memory_mib),
        };
        a.domains.insert(n.domain.clone(), Some(domain));
        for v in &n.volumes {
            a.volumes.insert((v.pool.clone(), v.name.clone()), Some(1));
        }
    }
    a
}

/// Each step as `describe` says it, with the pending define marked.
fn described(p: &Plan) -> Vec<String> {
    p.steps.iter().map(|s| s.action.describe()).collect()
}

fn nodes(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_string()).collect()
}

fn conflicts(r: Result<Plan, PlanError>) -> Vec<String> {
    match r {
        Err(PlanError::Conflicts(c)) => c,
        other => panic!("expected conflicts, got {other:?}"),
    }
}

#[test]
fn a_reset_stops_records_pending_remakes_root_and_ignition_and_starts() {
    let w = want();
    let p = reset(&w, &converged(&w), &nodes(&["a"]), false).expect("plan");
    let ign = w.nodes[0].ignition.len();
    assert_eq!(
        described(&p),
        [
            "stop domain t-a".to_string(),
            "define domain t-a (Ignition pending)".into(),
            "delete volume default/t-a-root.qcow2".into(),
            "delete volume default/t-a.ign".into(),
            "create volume default/t-a-root.qcow2".into(),
            "create volume default/t-a.ign".into(),
            format!("upload Ignition to default/t-a.ign ({ign} bytes)"),
            "define domain t-a".into(),
            "start domain t-a".into(),
        ]
    );
    assert!(p.steps.iter().all(|s| &*s.node == "a"));
    assert!(p.steps.iter().all(|s| s.change == Change::Replace));
    assert!(p.steps[0].reason.contains("data disks kept"), "{p:?}");
}

#[test]
fn with_data_the_extra_disks_are_made_again_too() {
    let w = want();
    let p = reset(&w, &converged(&w), &nodes(&["a"]), true).expect("plan");
    let steps = described(&p);
    for verb in ["delete", "create"] {
        let line = format!("{verb} volume default/t-a-data1.qcow2");
        assert!(steps.contains(&line), "{line} in {steps:#?}");
    }
    let kept = reset(&w, &converged(&w), &nodes(&["a"]), false).expect("plan");
    assert!(
        !described(&kept).iter().any(|s| s.contains("data1")),
        "{kept:#?}"
    );
}

#[test]
fn a_stopped_node_is_not_stopped_and_a_missing_root_is_only_created() {
    // what a reset cut short after deleting the root leaves
    let w = want();
    let mut a = converged(&w);
    if let Some(Some(d)) = a.domains.get_mut("t-b") {
        d.running = false;
    }
    a.volumes
        .insert(("default".into(), "t-b-root.qcow2".into()), None);
    let steps = described(&reset(&w, &a, &nodes(&["b"]), false).expect("plan"));
    assert!(!steps.iter().any(|s| s.starts_with("stop")), "{steps:#?}");
    assert!(!steps
        .iter()
        .any(|s| s.contains("delete volume default/t-b-root")));
    assert!(steps.contains(&"create volume default/t-b-root.qcow2".to_string()));
}

#[test]
fn several_nodes_each_get_their_steps_once() {
    let w = want();
    let p = reset(&w, &converged(&w), &nodes(&["b", "a", "b"]), false).expect("plan");
    let starts: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::StartDomain { .. }))
        .map(|s| &*s.node)
        .collect();
    assert_eq!(starts, ["b", "a"]);
}

#[test]
fn unknown_absent_and_foreign_nodes_are_refused_each_with_its_reason() {
    let w = want();
    let mut a = converged(&w);
    a.domains
        .insert("t-b".into(), Some(ActualDomain::default()));
    let c = conflicts(reset(&w, &a, &nodes(&["zz", "b"]), false));
    assert_eq!(
        c,
        [
            "node zz is not in the spec (its nodes: a, b)".to_string(),
            "node b: domain t-b is not created by virtstrap: reset never touches it".into(),
        ]
    );
    if let Some(Some(d)) = a.domains.get_mut("t-b") {
        d.owner = Some(Owner {
            cluster: "other".into(),
            node: "b".into(),
            ..Owner::default()
        });
    }
    a.domains.insert("t-a".into(), None);
    let c = conflicts(reset(&w, &a, &nodes(&["a", "b"]), false));
    assert_eq!(
        c,
        [
            "node a: the host has no domain t-a: nothing to reset (virtstrap apply creates it)"
                .to_string(),
            "node b: domain t-b is owned by cluster other node b: reset never touches it".into(),
        ]
    );
}

#[test]
fn a_stopped_pool_or_a_missing_base_image_is_refused() {
    let w = want();
    let mut a = converged(&w);
    a.volumes
        .insert(("default".into(), "base.qcow2".into()), None);
    let c = conflicts(reset(&w, &a, &nodes(&["b"]), false));
    assert!(c[0].contains("base image default/base.qcow2"), "{c:?}");
    a.volumes
        .remove(&("default".into(), "t-b-root.qcow2".into()));
    let c = conflicts(reset(&w, &a, &nodes(&["b"]), false));
    assert!(c[0].contains("pool default is not started"), "{c:?}");
}
