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
use crate::render::owner::{Owner, Reservation};
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
    for declared in &w.networks {
        let macs = declared.hosts.iter().map(|(m, _)| m.clone()).collect();
        let owner = Owner {
            cluster: w.cluster.clone(),
            ..Owner::default()
        };
        let net = ActualNetwork {
            active: true,
            owner: Some(owner),
            dhcp_macs: macs,
            dhcp: None,
            shape: None,
        };
        a.networks.insert(declared.name.clone(), Some(net));
    }
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
            reservations: Vec::new(),
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
    let mut expected = vec![Action::StopDomain {
        name: n.domain.clone(),
    }];
    expected.extend(n.volumes.iter().map(|v| Action::DeleteVolume {
        pool: v.pool.clone(),
        name: v.name.clone(),
    }));
    // the record goes last: a destroy cut short leaves what it lists
    expected.push(Action::UndefineDomain {
        name: n.domain.clone(),
    });
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
    let mut expected = vec![Action::StopDomain {
        name: n.domain.clone(),
    }];
    expected.extend(n.volumes.iter().map(|v| Action::DeleteVolume {
        pool: v.pool.clone(),
        name: v.name.clone(),
    }));
    expected.push(Action::UndefineDomain {
        name: n.domain.clone(),
    });
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

/// A spec whose two nodes attach to `default`, a network it does not
/// declare, the second with a static address.
const ON_DEFAULT: &str = "name: t\n\
    image: { pool: default, volume: base.qcow2 }\n\
    defaults: { vcpus: 1, memory: 512MiB, disk: { pool: default, size: 4GiB }, networks: [ default ] }\n\
    nodes: [ { name: a }, { name: b }, { name: c, networks: [ { name: default, ip: 192.168.122.7 } ] } ]\n";

/// `default` as libvirt makes it, with a stranger's host entry at .2 and
/// a lease at .3.
fn stranger_default() -> ActualNetwork {
    use crate::libvirt::Lease;
    use crate::plan::actual::{HostEntry, NetworkDhcp};
    let ip = |s: &str| s.parse().expect("ip");
    ActualNetwork {
        active: true,
        owner: None,
        dhcp_macs: ["52:54:00:00:00:aa".to_string()].into(),
        dhcp: Some(NetworkDhcp {
            subnet: Some("192.168.122.0/24".parse().expect("net")),
            ranges: vec![(ip("192.168.122.2"), ip("192.168.122.254"))],
            hosts: vec![HostEntry {
                mac: Some("52:54:00:00:00:aa".into()),
                name: Some("stranger".into()),
                ip: Some(ip("192.168.122.2")),
            }],
            leases: vec![Lease {
                mac: "52:54:00:00:00:bb".into(),
                ip: ip("192.168.122.3"),
                hostname: None,
            }],
        }),
        shape: None,
    }
}

fn reserve_steps(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter(|s| {
            matches!(
                s.action,
                Action::AddDhcpHost { .. } | Action::DeleteDhcpHost { .. }
            )
        })
        .map(|s| s.action.describe())
        .collect()
}

#[test]
fn on_a_strangers_network_free_addresses_are_reserved_and_recorded() {
    let w = want_from(ON_DEFAULT);
    let mut host = empty_host(&w);
    host.networks.remove("net");
    host.networks
        .insert("default".into(), Some(stranger_default()));
    let p = diff(&w, &host, false).expect("plan");
    let macs: Vec<&str> = w.nodes.iter().map(|n| n.nics[0].mac.as_str()).collect();
    assert_eq!(
        reserve_steps(&p),
        [
            format!("reserve 192.168.122.4 for {} on network default", macs[0]),
            format!("reserve 192.168.122.5 for {} on network default", macs[1]),
            format!("reserve 192.168.122.7 for {} on network default", macs[2]),
        ],
        "not .2 (a stranger's entry) nor .3 (leased); c's static address"
    );
    // both definitions of a node record its reservation before the entry exists
    let defs: Vec<&DomainXml> = p
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::DefineDomain { name, xml } if name == "t-a" => Some(xml),
            _ => None,
        })
        .collect();
    assert!(defs.iter().all(|d| d.reservations().len() == 1));
    assert!(defs[1]
        .render()
        .contains("<vs:reservation network=\"default\""));
    let at = |what: &str| {
        p.steps
            .iter()
            .position(|s| s.node.as_ref() == "a" && s.action.describe().starts_with(what))
    };
    assert!(at("define domain t-a").expect("define") < at("reserve").expect("reserve"));
    assert!(at("reserve").expect("reserve") < at("start").expect("start"));
}

#[test]
fn a_recorded_reservation_is_kept_and_destroy_releases_only_ours() {
    use crate::plan::actual::HostEntry;
    let w = want_from(ON_DEFAULT);
    let mut host = converged(&w);
    host.networks.remove("net");
    let mut net = stranger_default();
    let dhcp = net.dhcp.as_mut().expect("dhcp");
    for (n, ip) in w
        .nodes
        .iter()
        .zip(["192.168.122.4", "192.168.122.5", "192.168.122.7"])
    {
        let r = Reservation {
            network: "default".into(),
            mac: n.nics[0].mac.clone(),
            ip: ip.parse().expect("ip"),
        };
        dhcp.hosts.push(HostEntry {
            mac: Some(r.mac.clone()),
            name: Some(n.domain.clone()),
            ip: Some(r.ip),
        });
        let d = host
            .domains
            .get_mut(&n.domain)
            .and_then(Option::as_mut)
            .expect("domain");
        d.owner.as_mut().expect("owner").reservations = vec![r];
    }
    host.networks.insert("default".into(), Some(net));
    assert_eq!(
        diff(&w, &host, false).expect("plan"),
        Plan::default(),
        "converged"
    );
    let gone = destroy(&w, &host).expect("destroy");
    let released = reserve_steps(&gone);
    assert_eq!(released.len(), 3, "{released:?}");
    assert!(
        released
            .iter()
            .all(|r| r.starts_with("release 192.168.122.")),
        "{released:?}"
    );
    assert!(
        !released.iter().any(|r| r.contains(".2 ")),
        "the stranger's entry stays"
    );
}

#[test]
fn a_static_address_outside_the_network_or_taken_is_refused() {
    let w = want_from(&ON_DEFAULT.replace("192.168.122.7", "10.0.0.7"));
    let mut host = empty_host(&w);
    host.networks
        .insert("default".into(), Some(stranger_default()));
    let c = conflicts(diff(&w, &host, false));
    assert_eq!(c, ["node c on network default: ip 10.0.0.7 is outside the network's subnet 192.168.122.0/24"]);
    let w = want_from(&ON_DEFAULT.replace("192.168.122.7", "192.168.122.3"));
    let c = conflicts(diff(&w, &host, false));
    assert!(
        c[0].ends_with("ip 192.168.122.3 is held by another host entry or lease"),
        "{c:?}"
    );
}

#[test]
fn a_network_without_dhcp_gets_no_entry_and_a_note() {
    let w = want_from(ON_DEFAULT);
    let mut host = empty_host(&w);
    let bridge = ActualNetwork {
        active: true,
        ..ActualNetwork::default()
    };
    host.networks.insert("default".into(), Some(bridge));
    let p = diff(&w, &host, false).expect("plan");
    assert!(reserve_steps(&p).is_empty());
    assert_eq!(
        p.notes,
        ["network default has no DHCP run by libvirt: its addresses are found, not reserved"]
    );
}

#[test]
fn an_undeclared_missing_pool_is_a_conflict_and_the_base_image_is_not_reported_twice() {
    let w = want();
    let mut host = empty_host(&w);
    host.pools.insert("default".into(), None);
    let c = conflicts(diff(&w, &host, false));
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(
        c[0].starts_with("pool default does not exist and the spec does not declare it (used by a, the base image)"),
        "{c:?}"
    );
}

#[test]
fn adopting_another_clusters_node_takes_it_over_in_place() {
    let w = want();
    let n = &w.nodes[0];
    let mut host = empty_host(&w);
    let theirs = Owner {
        cluster: "other".into(),
        node: "a".into(),
        ignition_hash: "0123".into(),
        ..Owner::default()
    };
    let domain = ActualDomain {
        running: true,
        owner: Some(theirs),
        ..ActualDomain::default()
    };
    host.domains.insert(n.domain.clone(), Some(domain));
    let p = diff(&w, &host, true).expect("--adopt plans");
    assert!(
        !p.steps
            .iter()
            .any(|s| matches!(s.action, Action::DeleteVolume { .. })),
        "never rebuilt: {p:?}"
    );
    let node_steps: Vec<_> = p.steps.iter().filter(|s| &*s.node == "a").collect();
    assert!(!node_steps.is_empty(), "{p:?}");
    let why = "--adopt: taking over domain t-a (owned by cluster other node a)";
    assert!(
        node_steps.iter().all(|s| s.reason.starts_with(why)),
        "{p:?}"
    );
}
