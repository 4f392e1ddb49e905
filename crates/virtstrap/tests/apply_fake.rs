//! apply, re-apply, drift, destroy and every interrupted apply, on the
//! in-memory FakeBackend (the same steps the real daemon gets).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use virtstrap::apply;
use virtstrap::libvirt::fake::{FakeBackend, FakeState};
use virtstrap::libvirt::{Backend, BackendError, DomainState, PoolState, VolumeState};
use virtstrap::plan::{desired, destroy_plan, make_plan, Change, Desired, Plan, PlanError};
use virtstrap::render::domain::DomainOptions;
use virtstrap::render::host::HostFacts;
use virtstrap::render::ignition::ButaneSet;
use virtstrap::spec::{self, Cluster, LoadOptions};

fn demo() -> Cluster {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo/cluster.yaml");
    spec::load(&path, &LoadOptions::default()).expect("demo spec loads")
}

fn want(cluster: &Cluster) -> Desired {
    let butane = ButaneSet::load(cluster).expect("butane");
    desired(
        cluster,
        &butane,
        &HostFacts::default(),
        &DomainOptions::default(),
    )
    .expect("desired")
}

/// A host with the `default` pool and the base image, as a user's host has.
fn host() -> FakeState {
    let mut s = FakeState::default();
    s.pools.insert(
        "default".into(),
        PoolState {
            xml: "<pool type='dir'><name>default</name></pool>".into(),
            active: true,
            persistent: true,
            path: PathBuf::from("/var/lib/libvirt/images"),
        },
    );
    s.volumes.insert(
        ("default".into(), "fedora-coreos.qcow2".into()),
        VolumeState {
            xml: "<volume><name>fedora-coreos.qcow2</name></volume>".into(),
            capacity: 10 << 30,
        },
    );
    s
}

fn plan(b: &dyn Backend, w: &Desired) -> Plan {
    make_plan(b, w, false).expect("plan")
}

fn apply_all(b: &dyn Backend, w: &Desired) -> apply::Outcome {
    let p = make_plan(b, w, false).expect("plan");
    apply::run(b, &w.cluster, &p, 4, &AtomicBool::new(false), &|_| {})
}

fn destroy_all(b: &dyn Backend, w: &Desired) {
    let p = destroy_plan(b, w).expect("destroy plan");
    let out = apply::run(b, &w.cluster, &p, 4, &AtomicBool::new(false), &|_| {});
    assert!(out.ok(), "destroy failed: {:?}", out.failures);
}

#[test]
fn apply_creates_everything_and_a_second_plan_is_empty() {
    let w = want(&demo());
    let b = FakeBackend::with_state(host());
    let out = apply_all(&b, &w);
    assert!(out.ok(), "{:?}", out.failures);
    let s = b.state();
    assert_eq!(s.domains.len(), 3);
    assert!(s.domains.values().all(|d| d.running));
    assert!(s.networks.contains_key("k8s"));
    assert!(s.pools.contains_key("bulk"));
    // root + ign for 3 nodes, a data disk for 2 workers, the marker, the base image
    assert_eq!(s.volumes.len(), 3 * 2 + 2 + 1 + 1, "{:?}", s.volumes.keys());
    assert_eq!(s.uploads.len(), 3);
    assert_eq!(plan(&b, &w), Plan::default(), "second plan must be empty");
}

#[test]
fn destroy_leaves_only_what_was_there() {
    let w = want(&demo());
    let b = FakeBackend::with_state(host());
    assert!(apply_all(&b, &w).ok());
    destroy_all(&b, &w);
    assert_eq!(b.state(), host());
    destroy_all(&b, &w);
    assert_eq!(b.state(), host(), "destroy is idempotent");
}

#[test]
fn memory_drift_plans_one_update_with_its_reason() {
    let mut c = demo();
    let b = FakeBackend::with_state(host());
    assert!(apply_all(&b, &want(&c)).ok());
    c.nodes[0].memory_mib = 4096;
    let p = plan(&b, &want(&c));
    assert_eq!(p.steps.len(), 1, "{p:#?}");
    assert_eq!(p.steps[0].change, Change::Update);
    assert!(
        p.steps[0].reason.contains("memory 2048 -> 4096 MiB"),
        "{}",
        p.steps[0].reason
    );
}

#[test]
fn changed_ignition_replaces_the_node() {
    let mut c = demo();
    let b = FakeBackend::with_state(host());
    assert!(apply_all(&b, &want(&c)).ok());
    c.ssh_authorized_keys
        .push("ssh-ed25519 AAAAnewkey new@key".into());
    let p = plan(&b, &want(&c));
    assert!(
        p.steps.iter().all(|s| s.change == Change::Replace),
        "{p:#?}"
    );
    assert!(p
        .steps
        .iter()
        .any(|s| s.reason.contains("Ignition runs only on first boot")));
    assert!(apply_all(&b, &want(&c)).ok());
    assert_eq!(plan(&b, &want(&c)), Plan::default());
}

#[test]
fn foreign_domain_and_volume_are_refused_and_left_alone() {
    let w = want(&demo());
    let mut start = host();
    start.domains.insert(
        "demo-cp1".into(),
        DomainState {
            xml: "<domain type='kvm'><name>demo-cp1</name></domain>".into(),
            running: true,
        },
    );
    start.volumes.insert(
        ("default".into(), "demo-worker1-root.qcow2".into()),
        VolumeState {
            xml: "<volume><name>demo-worker1-root.qcow2</name></volume>".into(),
            capacity: 1,
        },
    );
    let b = FakeBackend::with_state(start.clone());
    match make_plan(&b, &w, false) {
        Err(PlanError::Conflicts(c)) => {
            assert!(
                c.iter().any(|m| m.contains("domain demo-cp1 exists")),
                "{c:?}"
            );
            assert!(
                c.iter()
                    .any(|m| m.contains("volume default/demo-worker1-root.qcow2")),
                "{c:?}"
            );
        }
        other => panic!("expected conflicts, got {other:?}"),
    }
    destroy_all(&b, &w);
    assert_eq!(b.state(), start, "destroy must not touch foreign objects");
}

/// For every call N of a clean apply, fail call N: the next apply
/// converges to the clean result and destroy leaves the host as it was.
#[test]
fn every_interrupted_apply_converges_and_destroys_cleanly() {
    let w = want(&demo());
    let clean = FakeBackend::with_state(host());
    assert!(apply_all(&clean, &w).ok());
    let total = clean.calls().len();
    let target = clean.state();
    assert!(total > 20, "a clean apply makes {total} calls");
    for n in 0..total {
        let b = FakeBackend::with_state(host());
        b.fail_at(Some(n));
        let first = make_plan(&b, &w, false)
            .map(|p| apply::run(&b, &w.cluster, &p, 4, &AtomicBool::new(false), &|_| {}));
        b.fail_at(None);
        // the one failure reported is the injected one, from planning (a
        // read of the host) or from the step that made call n
        match &first {
            Err(PlanError::Host(BackendError::Injected { call, .. })) => assert_eq!(*call, n),
            Err(other) => panic!("call {n}: planning failed otherwise: {other}"),
            // a define that failed over this node's own pending
            // definition is run again (see apply::execute): then the
            // apply completes, and must have made exactly the target
            Ok(out) if out.failures.is_empty() => {
                assert_eq!(b.state(), target, "call {n} ({}) absorbed", b.calls()[n]);
            }
            Ok(out) => {
                let calls: Vec<_> = out
                    .failures
                    .iter()
                    .map(|(_, e)| match e {
                        BackendError::Injected { call, .. } => Some(*call),
                        _ => None,
                    })
                    .collect();
                assert_eq!(
                    calls,
                    [Some(n)],
                    "call {n} ({}): {:?}",
                    b.calls()[n],
                    out.failures
                );
            }
        }
        let out = apply_all(&b, &w);
        assert!(out.ok(), "call {n}: re-apply failed: {:?}", out.failures);
        assert_eq!(b.state(), target, "call {n}: re-apply did not converge");
        assert_eq!(
            plan(&b, &w),
            Plan::default(),
            "call {n}: plan after re-apply not empty"
        );
        destroy_all(&b, &w);
        assert_eq!(b.state(), host(), "call {n}: destroy left objects behind");
    }
}

/// The pending and the final definition against the golden file (what
/// `virt-xml-validate` checks) and the Ignition the plan uploads; the
/// final one records that upload's hash, computed here independently.
#[test]
fn domains_are_defined_pending_then_final_with_the_rendered_xml() {
    use sha2::{Digest, Sha256};
    use virtstrap::plan::Action;
    let w = want(&demo());
    let b = FakeBackend::with_state(host());
    let p = plan(&b, &w);
    let domain = &w.nodes[0].domain;
    let defs: Vec<_> = p
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::DefineDomain { name, xml } if name == domain => Some(xml),
            _ => None,
        })
        .collect();
    let upload = p
        .steps
        .iter()
        .find_map(|s| match &s.action {
            Action::Upload { name, data, .. } if name == "demo-cp1.ign" => {
                Some(data.bytes().expect("the planned config renders"))
            }
            _ => None,
        })
        .expect("the plan uploads cp1's Ignition");
    assert_eq!(defs.len(), 2, "pending, then final");
    assert!(defs[0].is_pending() && !defs[1].is_pending());
    let golden = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden/demo")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let json = |t: &[u8]| serde_json::from_slice::<serde_json::Value>(t).expect("JSON");
    assert_eq!(json(&upload), json(golden("cp1.ign").as_bytes()));
    let pending = golden("cp1.domain.xml");
    assert_eq!(defs[0].render(), pending);
    let hash: String = Sha256::digest(&upload[..])
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = "spec-hash=\"";
    let at = pending.find(key).expect("spec-hash") + key.len();
    let at = at + pending[at..].find('"').expect("its end") + 1;
    let fin = format!(
        "{} ignition-hash=\"{hash}\"{}",
        &pending[..at],
        &pending[at..]
    );
    assert_eq!(defs[1].render(), fin);
    let out = apply::run(&b, &w.cluster, &p, 4, &AtomicBool::new(false), &|_| {});
    assert!(out.ok(), "{:?}", out.failures);
    assert_eq!(b.state().domains[domain].xml, fin);
    let key = ("default".to_string(), "demo-cp1.ign".to_string());
    assert_eq!(
        b.state().uploads[&key],
        upload,
        "the config uploaded is the one planned"
    );
}

/// The first define of node 0's domain: what a killed apply had sent.
fn first_define(p: &Plan, domain: &str) -> String {
    p.steps
        .iter()
        .find_map(|s| match &s.action {
            virtstrap::plan::Action::DefineDomain { name, xml } if name == domain => {
                Some(xml.render())
            }
            _ => None,
        })
        .expect("the plan defines the domain")
}

#[test]
fn a_define_from_a_killed_apply_landing_late_is_defined_over() {
    let w = want(&demo());
    let b = FakeBackend::with_state(host());
    let p = plan(&b, &w);
    // the killed apply's define reaches libvirt after this apply planned
    b.define_lands_late(&first_define(&p, &w.nodes[0].domain));
    let out = apply::run(&b, &w.cluster, &p, 4, &AtomicBool::new(false), &|_| {});
    assert!(out.ok(), "{:?}", out.failures);
    assert!(plan(&b, &w).steps.is_empty());
    destroy_all(&b, &w);
    assert_eq!(b.state().domains.len(), 0);
}

#[test]
fn a_foreign_domain_defined_meanwhile_is_not_defined_over() {
    let w = want(&demo());
    let b = FakeBackend::with_state(host());
    let p = plan(&b, &w);
    let domain = w.nodes[0].domain.clone();
    let foreign = format!("<domain type='qemu'><name>{domain}</name><memory>1</memory></domain>");
    b.define_lands_late(&foreign);
    let out = apply::run(&b, &w.cluster, &p, 1, &AtomicBool::new(false), &|_| {});
    assert!(!out.ok());
    let (step, err) = &out.failures[0];
    assert_eq!(
        step.action.describe(),
        format!("define domain {domain} (Ignition pending)")
    );
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(b.state().domains[&domain].xml, foreign, "left as it was");
}

#[test]
fn destroy_stops_again_a_domain_a_late_start_ran() {
    let w = want(&demo());
    let b = FakeBackend::with_state(host());
    assert!(apply_all(&b, &w).ok());
    // a killed apply's start, queued in libvirt, runs after destroy's stop
    b.start_lands_late(&w.nodes[1].domain);
    destroy_all(&b, &w);
    assert_eq!(b.state().domains.len(), 0);
    assert_eq!(b.state().volumes.len(), host().volumes.len());
}

#[test]
fn a_running_foreign_domain_is_never_stopped_by_the_retry() {
    use virtstrap::apply::execute;
    use virtstrap::plan::Action;
    let mut s = host();
    let xml = "<domain type='qemu'><name>other</name></domain>".to_string();
    s.domains
        .insert("other".into(), DomainState { xml, running: true });
    let b = FakeBackend::with_state(s);
    let undefine = Action::UndefineDomain {
        name: "other".into(),
    };
    let e = execute(&b, "demo", &undefine).expect_err("refused");
    assert!(e.to_string().contains("domain is running"), "{e}");
    assert!(b.state().domains["other"].running, "left running");
}

#[test]
fn a_stopped_pool_is_reported_before_anything_is_changed() {
    let w = want(&demo());
    let mut s = host();
    s.pools.get_mut("default").expect("default pool").active = false;
    let b = FakeBackend::with_state(s.clone());
    match make_plan(&b, &w, false) {
        Err(PlanError::Conflicts(c)) => {
            assert_eq!(c.len(), 1, "{c:?}");
            assert!(
                c[0].starts_with("pool default exists but is not started"),
                "{c:?}"
            );
            assert!(c[0].contains("virsh pool-start default"), "{c:?}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(b.state(), s, "nothing changed");
}

/// A cluster whose nodes attach to `default`, which it does not declare.
fn on_default_network() -> Cluster {
    let text = "name: lab\nimage: {pool: default, volume: fedora-coreos.qcow2}\n\
                defaults: {vcpus: 1, memory: 512MiB, disk: {pool: default, size: 10GiB}, networks: [default]}\n\
                nodes: [{name: a}]\n";
    spec::load_str(
        text,
        Path::new("/lab/cluster.yaml"),
        &LoadOptions::default(),
    )
    .expect("spec")
}

fn conflicts_of(b: &FakeBackend, w: &Desired) -> Vec<String> {
    match make_plan(b, w, false) {
        Err(PlanError::Conflicts(c)) => c,
        other => panic!("expected conflicts, got {other:?}"),
    }
}

#[test]
fn an_undeclared_network_that_is_missing_or_stopped_is_reported_before_any_change() {
    use virtstrap::libvirt::NetworkState;
    let w = want(&on_default_network());
    let b = FakeBackend::with_state(host());
    let c = conflicts_of(&b, &w);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].starts_with("network default does not exist"), "{c:?}");
    let mut s = host();
    let xml = "<network><name>default</name></network>".to_string();
    s.networks
        .insert("default".into(), NetworkState { xml, active: false });
    let b = FakeBackend::with_state(s.clone());
    let c = conflicts_of(&b, &w);
    assert!(
        c[0].starts_with("network default exists but is not started"),
        "{c:?}"
    );
    assert!(c[0].contains("virsh net-start default"), "{c:?}");
    assert_eq!(b.state(), s, "a foreign network is never started");
    s.networks.get_mut("default").expect("default").active = true;
    let b = FakeBackend::with_state(s);
    assert!(apply_all(&b, &w).ok());
}

#[test]
fn a_network_this_cluster_made_but_never_started_is_started() {
    let w = want(&demo());
    let b = FakeBackend::with_state(host());
    assert!(apply_all(&b, &w).ok());
    // as an apply killed between defining and starting the network leaves it
    let mut s = b.state();
    s.networks.get_mut("k8s").expect("k8s").active = false;
    let b = FakeBackend::with_state(s);
    let p = plan(&b, &w);
    let steps: Vec<String> = p.steps.iter().map(|s| s.action.describe()).collect();
    assert_eq!(steps, ["start network k8s"]);
    assert_eq!(p.steps[0].reason.as_ref(), "network is not running");
    assert!(apply_all(&b, &w).ok());
    assert!(b.state().networks["k8s"].active);
    assert!(plan(&b, &w).steps.is_empty());
}

/// The host after an apply was killed inside create_pool for `bulk`:
/// the pool runs, is not yet defined, has no marker.
fn half_made_bulk() -> FakeState {
    let mut s = host();
    s.pools.insert(
        "bulk".into(),
        PoolState {
            xml: "<pool type='dir'><name>bulk</name></pool>".into(),
            active: true,
            persistent: false,
            path: PathBuf::from("/var/lib/libvirt/images/bulk"),
        },
    );
    s
}

#[test]
fn a_pool_left_half_made_is_finished_by_the_next_apply() {
    let w = want(&demo());
    let b = FakeBackend::with_state(half_made_bulk());
    let p = plan(&b, &w);
    let steps: Vec<String> = p.steps.iter().map(|s| s.action.describe()).collect();
    assert_eq!(steps[0], "finish pool bulk", "{steps:?}");
    assert!(!steps.iter().any(|s| s == "create pool bulk"), "{steps:?}");
    let out = apply::run(&b, &w.cluster, &p, 4, &AtomicBool::new(false), &|_| {});
    assert!(out.ok(), "{:?}", out.failures);
    assert!(b.state().pools["bulk"].persistent);
    assert!(plan(&b, &w).steps.is_empty());
    destroy_all(&b, &w);
    assert_eq!(b.state(), host(), "destroy removes the finished pool too");
}

#[test]
fn destroy_removes_a_pool_left_half_made() {
    let w = want(&demo());
    let b = FakeBackend::with_state(half_made_bulk());
    destroy_all(&b, &w);
    assert_eq!(b.state(), host());
}

/// The demo cluster's plan, as `plan` prints it, against a host with only
/// the base image and against one that drifted (memory changed in the
/// spec, a node stopped, a data disk gone), in the golden file
/// `tests/golden/demo/plan.txt` (rewritten with UPDATE_GOLDEN=1).
#[test]
fn the_demo_plan_matches_its_golden_file() {
    let mut c = demo();
    let b = FakeBackend::with_state(host());
    let mut text = plan(&b, &want(&c)).to_text("demo", "fake:///");
    assert!(apply_all(&b, &want(&c)).ok());
    let mut s = b.state();
    s.domains.get_mut("demo-worker1").expect("worker1").running = false;
    s.volumes
        .remove(&("bulk".into(), "demo-worker2-data1.qcow2".into()));
    c.nodes[0].memory_mib = 4096;
    let drifted = FakeBackend::with_state(s);
    text.push('\n');
    text.push_str(&plan(&drifted, &want(&c)).to_text("demo", "fake:///"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/demo/plan.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("write golden");
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(text, golden, "{} differs", path.display());
}
