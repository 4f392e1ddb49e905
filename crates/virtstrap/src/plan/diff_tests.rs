//! The pure diff over hand-built hosts: each case is a [`Desired`] from a
//! small spec and an [`Actual`] written out here, and the whole list of
//! actions (or the conflicts) it must give.

use std::path::{Path, PathBuf};

use super::*;
use crate::libvirt::PoolState;
use crate::plan::action::Action;
use crate::plan::actual::{ActualDomain, ActualNetwork};
use crate::plan::desired::desired;
use crate::plan::desired::{DesiredNode, DomainXml};
use crate::plan::{Actual, PlanError};
use crate::render::domain::DomainOptions;
use crate::render::host::HostFacts;
use crate::render::ignition::ButaneSet;
use crate::render::owner::Owner;
use crate::spec::{load_str, LoadOptions};

const SPEC: &str = "name: t\n\
    image: { pool: default, volume: base.qcow2 }\n\
    defaults: { vcpus: 1, memory: 512MiB, disk: { pool: default, size: 4GiB }, networks: [ net ] }\n\
    nodes: [ { name: a } ]\n\
    networks: [ { name: net, mode: isolated, cidr: 10.9.0.0/24 } ]\n";

fn want_from(text: &str) -> Desired {
    let c = load_str(text, Path::new("/t/cluster.yaml"), &LoadOptions::default()).expect("spec");
    let butane = ButaneSet::load(&c).expect("no Butane files");
    desired(
        &c,
        &butane,
        &HostFacts::default(),
        &DomainOptions::default(),
    )
    .expect("desired")
}

fn want() -> Desired {
    want_from(SPEC)
}

fn pool(active: bool) -> Option<PoolState> {
    Some(PoolState {
        xml: String::new(),
        active,
        persistent: true,
        path: PathBuf::from("/var/lib/libvirt/images"),
    })
}

/// A host with the `default` pool and the base image, nothing else.
fn empty_host(w: &Desired) -> Actual {
    let mut a = Actual::default();
    a.pools.insert("default".into(), pool(true));
    a.networks.insert("net".into(), None);
    a.volumes
        .insert(("default".into(), "base.qcow2".into()), Some(1 << 30));
    for n in &w.nodes {
        a.domains.insert(n.domain.clone(), None);
        for v in &n.volumes {
            a.volumes.insert((v.pool.clone(), v.name.clone()), None);
        }
    }
    a
}

/// The host after a complete apply of `w`.
fn converged(w: &Desired) -> Actual {
    let mut a = empty_host(w);
    let macs = w.networks[0].hosts.iter().map(|(m, _)| m.clone()).collect();
    let owner = Owner {
        cluster: w.cluster.clone(),
        ..Owner::default()
    };
    let net = ActualNetwork {
        active: true,
        owner: Some(owner),
        dhcp_macs: macs,
    };
    a.networks.insert("net".into(), Some(net));
    for n in &w.nodes {
        a.domains.insert(n.domain.clone(), Some(node_domain(w, n)));
        for v in &n.volumes {
            let size = if v.name.ends_with("-root.qcow2") {
                n.root_capacity
            } else {
                1
            };
            a.volumes
                .insert((v.pool.clone(), v.name.clone()), Some(size));
        }
    }
    a
}

fn node_domain(w: &Desired, n: &DesiredNode) -> ActualDomain {
    ActualDomain {
        running: true,
        owner: Some(Owner {
            cluster: w.cluster.clone(),
            node: n.node.clone(),
            spec_hash: n.spec_hash.clone(),
            ignition_hash: n.ignition_hash.clone(),
            volumes: n
                .volumes
                .iter()
                .map(|v| (v.pool.clone(), v.name.clone()))
                .collect(),
        }),
        vcpus: Some(n.vcpus),
        memory_mib: Some(n.memory_mib),
    }
}

fn actions(p: &Plan) -> Vec<Action> {
    p.steps.iter().map(|s| s.action.clone()).collect()
}

fn conflicts(r: Result<Plan, PlanError>) -> Vec<String> {
    match r {
        Err(PlanError::Conflicts(c)) => c,
        other => panic!("expected conflicts, got {other:?}"),
    }
}

/// The actions that build node `n` from nothing (none of its volumes
/// there).
fn build(n: &DesiredNode) -> Vec<Action> {
    let define = |xml: DomainXml| Action::DefineDomain {
        name: n.domain.clone(),
        xml,
    };
    let mut out = vec![define(n.definition.pending())];
    out.extend(n.volumes.iter().map(|v| Action::CreateVolume {
        pool: v.pool.clone(),
        xml: v.xml.clone(),
        name: v.name.clone(),
    }));
    let ign = n.volumes.last().expect("the Ignition volume");
    out.push(Action::Upload {
        pool: ign.pool.clone(),
        name: ign.name.clone(),
        data: n.ignition.clone(),
    });
    out.push(define(n.definition.clone()));
    out.push(Action::StartDomain {
        name: n.domain.clone(),
    });
    out
}

#[test]
fn an_empty_host_gets_the_network_its_reservation_is_part_of_and_the_node() {
    let w = want();
    let p = diff(&w, &empty_host(&w), false).expect("plan");
    let mut expected = vec![Action::CreateNetwork {
        name: "net".into(),
        xml: w.networks[0].xml.clone(),
    }];
    expected.extend(build(&w.nodes[0]));
    assert_eq!(actions(&p), expected);
    assert!(p.steps[1..]
        .iter()
        .all(|s| &*s.node == "a" && s.change == Change::Create));
    assert_eq!(&*p.steps[0].node, "", "the network is no node's");
}

#[test]
fn a_converged_host_plans_nothing_and_destroy_removes_what_is_recorded() {
    let w = want();
    let host = converged(&w);
    assert_eq!(diff(&w, &host, false).expect("plan"), Plan::default());
    let n = &w.nodes[0];
    let mut expected = vec![
        Action::StopDomain {
            name: n.domain.clone(),
        },
        Action::UndefineDomain {
            name: n.domain.clone(),
        },
    ];
    expected.extend(n.volumes.iter().map(|v| Action::DeleteVolume {
        pool: v.pool.clone(),
        name: v.name.clone(),
    }));
    expected.push(Action::DeleteNetwork { name: "net".into() });
    assert_eq!(actions(&destroy(&w, &host).expect("destroy")), expected);
}

#[test]
fn drift_in_vcpus_memory_or_definition_redefines_in_place() {
    let w = want();
    let n = &w.nodes[0];
    let redefine = vec![Action::DefineDomain {
        name: n.domain.clone(),
        xml: n.definition.clone(),
    }];
    let mut host = converged(&w);
    let d = host
        .domains
        .get_mut(&n.domain)
        .and_then(Option::as_mut)
        .expect("domain");
    d.memory_mib = Some(256);
    d.vcpus = Some(3);
    let p = diff(&w, &host, false).expect("plan");
    assert_eq!(actions(&p), redefine);
    assert_eq!(
        &*p.steps[0].reason,
        "vcpus 3 -> 1, memory 256 -> 512 MiB (effective at next boot)"
    );
    let mut host = converged(&w);
    let d = host
        .domains
        .get_mut(&n.domain)
        .and_then(Option::as_mut)
        .expect("domain");
    d.owner.as_mut().expect("owner").spec_hash = "old".into();
    let p = diff(&w, &host, false).expect("plan");
    assert_eq!(actions(&p), redefine);
    assert!(p.steps[0].reason.starts_with("domain definition changed"));
}

#[test]
fn a_stopped_node_is_started_and_a_missing_volume_made_again() {
    let w = want();
    let n = &w.nodes[0];
    let mut host = converged(&w);
    host.domains
        .get_mut(&n.domain)
        .and_then(Option::as_mut)
        .expect("domain")
        .running = false;
    let root = &n.volumes[0];
    host.volumes
        .insert((root.pool.clone(), root.name.clone()), None);
    let p = diff(&w, &host, false).expect("plan");
    let expected = vec![
        Action::CreateVolume {
            pool: root.pool.clone(),
            xml: root.xml.clone(),
            name: root.name.clone(),
        },
        Action::StartDomain {
            name: n.domain.clone(),
        },
    ];
    assert_eq!(actions(&p), expected);
}

#[test]
fn changed_ignition_or_a_smaller_disk_replaces_the_node_and_a_larger_one_grows_it() {
    let w = want();
    let n = &w.nodes[0];
    let mut host = converged(&w);
    let owner = host
        .domains
        .get_mut(&n.domain)
        .and_then(Option::as_mut)
        .and_then(|d| d.owner.as_mut());
    owner.expect("owner").ignition_hash = "0000".into();
    let p = diff(&w, &host, false).expect("plan");
    let mut expected = vec![
        Action::StopDomain {
            name: n.domain.clone(),
        },
        Action::UndefineDomain {
            name: n.domain.clone(),
        },
    ];
    expected.extend(n.volumes.iter().map(|v| Action::DeleteVolume {
        pool: v.pool.clone(),
        name: v.name.clone(),
    }));
    expected.extend(build(n));
    assert_eq!(actions(&p), expected);
    assert!(p.steps.iter().all(|s| s.change == Change::Replace));
    assert!(p.steps[0]
        .reason
        .contains("Ignition runs only on first boot"));

    let root = (n.volumes[0].pool.clone(), n.volumes[0].name.clone());
    let mut host = converged(&w);
    host.volumes.insert(root.clone(), Some(n.root_capacity * 2));
    let p = diff(&w, &host, false).expect("plan");
    assert_eq!(p.steps[0].change, Change::Replace);
    assert_eq!(
        &*p.steps[0].reason,
        "disk 8GiB -> 4GiB: volumes cannot shrink"
    );
    host.volumes.insert(root.clone(), Some(n.root_capacity / 2));
    let p = diff(&w, &host, false).expect("plan");
    let grow = Action::Resize {
        pool: root.0,
        name: root.1,
        capacity: n.root_capacity,
    };
    assert_eq!(actions(&p), vec![grow]);
}

#[test]
fn an_apply_cut_short_before_the_upload_is_finished() {
    let w = want();
    let n = &w.nodes[0];
    let mut host = converged(&w);
    let d = host
        .domains
        .get_mut(&n.domain)
        .and_then(Option::as_mut)
        .expect("domain");
    d.owner.as_mut().expect("owner").ignition_hash.clear();
    d.running = false;
    let p = diff(&w, &host, false).expect("plan");
    // the volumes are there: define, upload, define, start
    let expected: Vec<Action> = build(n)
        .into_iter()
        .filter(|a| !matches!(a, Action::CreateVolume { .. }))
        .collect();
    assert_eq!(actions(&p), expected);
    assert!(p
        .steps
        .iter()
        .all(|s| &*s.reason == "finishing an interrupted apply"));
}

#[test]
fn foreign_objects_are_conflicts_unless_adopted() {
    let w = want();
    let n = &w.nodes[0];
    let mut host = empty_host(&w);
    host.domains
        .insert(n.domain.clone(), Some(ActualDomain::default()));
    let c = conflicts(diff(&w, &host, false));
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(
        c[0].starts_with("domain t-a exists and is not created by virtstrap"),
        "{c:?}"
    );
    assert!(diff(&w, &host, true).is_ok(), "--adopt takes it over");
    assert_eq!(
        destroy(&w, &host).expect("destroy"),
        Plan::default(),
        "never destroyed"
    );

    let mut host = empty_host(&w);
    let root = &n.volumes[0];
    host.volumes
        .insert((root.pool.clone(), root.name.clone()), Some(1));
    let c = conflicts(diff(&w, &host, false));
    assert!(
        c[0].starts_with("volume default/t-a-root.qcow2 exists and no virtstrap domain records it"),
        "{c:?}"
    );
}

#[test]
fn a_stopped_pool_or_network_is_reported_before_anything_else() {
    let w = want();
    let mut host = converged(&w);
    host.pools.insert("default".into(), pool(false));
    let c = conflicts(diff(&w, &host, false));
    assert_eq!(
        c,
        ["pool default exists but is not started: start it (virsh pool-start default)"]
    );

    let w = want_from(&SPEC.replace(
        "networks: [ { name: net, mode: isolated, cidr: 10.9.0.0/24 } ]\n",
        "",
    ));
    let mut host = empty_host(&w);
    let c = conflicts(diff(&w, &host, false));
    assert!(c[0].starts_with("network net does not exist"), "{c:?}");
    host.networks
        .insert("net".into(), Some(ActualNetwork::default()));
    let c = conflicts(diff(&w, &host, false));
    assert!(
        c[0].starts_with("network net exists but is not started"),
        "{c:?}"
    );
}

#[test]
fn a_missing_base_image_is_a_conflict_and_a_missing_reservation_is_added() {
    let w = want();
    let mut host = empty_host(&w);
    host.volumes
        .insert(("default".into(), "base.qcow2".into()), None);
    let c = conflicts(diff(&w, &host, false));
    assert!(
        c[0].starts_with("base image default/base.qcow2 does not exist"),
        "{c:?}"
    );

    let mut host = converged(&w);
    let net = host
        .networks
        .get_mut("net")
        .and_then(Option::as_mut)
        .expect("net");
    net.dhcp_macs.clear();
    let (mac, xml) = w.networks[0].hosts[0].clone();
    let p = diff(&w, &host, false).expect("plan");
    let add = Action::AddDhcpHost {
        network: "net".into(),
        xml,
    };
    assert_eq!(actions(&p), vec![add]);
    assert_eq!(
        &*p.steps[0].reason,
        format!("reservation for {mac} is missing")
    );
}

#[test]
fn destroy_refuses_a_volume_in_a_stopped_pool_rather_than_forget_it() {
    let w = want();
    let mut host = converged(&w);
    let ign = &w.nodes[0].volumes[1];
    host.volumes.remove(&(ign.pool.clone(), ign.name.clone()));
    let c = conflicts(destroy(&w, &host));
    assert!(c[0].contains("cannot be deleted"), "{c:?}");
}

#[test]
fn plans_compare_by_value() {
    // two renderings of the same spec are two sets of Arcs, one plan
    let (a, b) = (want(), want());
    let pa = diff(&a, &empty_host(&a), false).expect("plan");
    let pb = diff(&b, &empty_host(&b), false).expect("plan");
    assert_eq!(pa, pb);
    let c = want_from(&SPEC.replace("memory: 512MiB", "memory: 1GiB"));
    let pc = diff(&c, &empty_host(&c), false).expect("plan");
    assert_ne!(pa, pc, "another spec hash, another definition");
}
