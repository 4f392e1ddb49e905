//! `reset` after an apply, on the in-memory FakeBackend (its call log
//! shows what was made again) and on libvirt's `test:///default` driver
//! through the real backend; and a reset cut short at every one of its
//! steps, which the next apply, or the next reset, finishes.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use virtstrap::apply;
use virtstrap::libvirt::fake::{FakeBackend, FakeState};
use virtstrap::libvirt::real::LibvirtBackend;
use virtstrap::libvirt::uploads::MemoryUploads;
use virtstrap::libvirt::{Backend, PoolState, VolumeState};
use virtstrap::plan::reset::reset_plan;
use virtstrap::plan::{desired, make_plan, Desired, Plan};
use virtstrap::render::domain::DomainOptions;
use virtstrap::render::host::HostFacts;
use virtstrap::render::ignition::ButaneSet;
use virtstrap::spec::{self, Cluster, DomainType, LoadOptions};

const ROOT: &str = "demo-worker1-root.qcow2";
const DATA: &str = "demo-worker1-data1.qcow2";
const IGN: &str = "demo-worker1.ign";

fn demo() -> Cluster {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo/cluster.yaml");
    spec::load(&path, &LoadOptions::default()).expect("demo spec loads")
}

fn want(c: &Cluster) -> Desired {
    let butane = ButaneSet::load(c).expect("butane");
    desired(c, &butane, &HostFacts::default(), &DomainOptions::default()).expect("desired")
}

/// A host with the `default` pool and the base image.
fn fake_host() -> FakeBackend {
    let mut s = FakeState::default();
    let pool = PoolState {
        xml: "<pool type='dir'><name>default</name></pool>".into(),
        active: true,
        persistent: true,
        path: PathBuf::from("/var/lib/libvirt/images"),
    };
    s.pools.insert("default".into(), pool);
    let base = VolumeState {
        xml: "<volume><name>fedora-coreos.qcow2</name></volume>".into(),
        capacity: 10 << 30,
    };
    s.volumes
        .insert(("default".into(), "fedora-coreos.qcow2".into()), base);
    FakeBackend::with_state(s)
}

fn run(b: &dyn Backend, w: &Desired, p: &Plan) -> apply::Outcome {
    apply::run(b, &w.cluster, p, 4, &AtomicBool::new(false), &|_| {})
}

fn apply_all(b: &dyn Backend, w: &Desired) {
    let out = run(b, w, &make_plan(b, w, false).expect("plan"));
    assert!(out.ok(), "apply: {:?}", out.failures);
}

fn reset(b: &dyn Backend, w: &Desired, node: &str, data: bool) -> apply::Outcome {
    let p = reset_plan(b, w, &[node.to_string()], data).expect("reset plan");
    run(b, w, &p)
}

/// What the guest wrote to its disks, as the fake keeps it.
fn written(b: &FakeBackend, pool: &str, name: &str) -> Option<Vec<u8>> {
    b.state()
        .uploads
        .get(&(pool.to_string(), name.to_string()))
        .cloned()
}

/// A node "used" after apply: its root and data disks hold the guest's
/// writes.
fn use_disks(b: &dyn Backend) {
    for (pool, vol) in [("default", ROOT), ("bulk", DATA)] {
        b.upload_volume(pool, vol, b"guest wrote this")
            .expect("write");
    }
}

fn rendered_ignition(w: &Desired, node: &str) -> Vec<u8> {
    let n = w.nodes.iter().find(|n| n.node == node).expect("node");
    n.ignition.bytes().expect("render")
}

#[test]
fn reset_remakes_root_and_ignition_keeps_data_and_touches_no_other_node() {
    let w = want(&demo());
    let b = fake_host();
    apply_all(&b, &w);
    use_disks(&b);
    let before = b.calls().len();
    let out = reset(&b, &w, "worker1", false);
    assert!(out.ok(), "{:?}", out.failures);
    let calls = b.calls()[before..].to_vec();
    let at = |c: &str| calls.iter().position(|x| x == c);
    let delete = at(&format!("delete volume default/{ROOT}")).expect("root deleted");
    let create = at(&format!("create volume default/{ROOT}")).expect("root created");
    assert!(delete < create, "{calls:#?}");
    assert_eq!(written(&b, "default", ROOT), None, "a fresh root overlay");
    assert_eq!(
        written(&b, "default", IGN),
        Some(rendered_ignition(&w, "worker1")),
        "the Ignition volume holds the config again"
    );
    assert_eq!(
        written(&b, "bulk", DATA).as_deref(),
        Some(&b"guest wrote this"[..])
    );
    assert!(b.state().domains["demo-worker1"].running);
    let others = calls
        .iter()
        .filter(|c| !c.starts_with("get") && (c.contains("cp1") || c.contains("worker2")));
    assert_eq!(others.count(), 0, "{calls:#?}");
    assert_eq!(make_plan(&b, &w, false).expect("plan"), Plan::default());

    let out = reset(&b, &w, "worker1", true);
    assert!(out.ok(), "{:?}", out.failures);
    assert_eq!(
        written(&b, "bulk", DATA),
        None,
        "--data: the data disk is new"
    );
    assert_eq!(make_plan(&b, &w, false).expect("plan"), Plan::default());
}

/// A reset killed after its first `k` steps (libvirt finishes a call a
/// killed client sent, so a kill falls between two steps), then `finish`.
fn cut_then(k: usize, finish: &dyn Fn(&FakeBackend, &Desired)) -> Result<(), String> {
    let w = want(&demo());
    let b = fake_host();
    apply_all(&b, &w);
    use_disks(&b);
    let mut p = reset_plan(&b, &w, &["worker1".to_string()], false).expect("reset plan");
    p.steps.truncate(k);
    let cut = run(&b, &w, &p);
    assert!(cut.ok(), "{:?}", cut.failures);
    finish(&b, &w);
    let plan = make_plan(&b, &w, false).map_err(|e| format!("cut after {k} steps: {e}"))?;
    if plan != Plan::default() {
        return Err(format!("cut after {k} steps: left to do {plan:#?}"));
    }
    let s = b.state();
    let ok = s.domains["demo-worker1"].running
        && s.volumes.contains_key(&("default".into(), ROOT.into()))
        && written(&b, "default", IGN) == Some(rendered_ignition(&w, "worker1"))
        && written(&b, "bulk", DATA).is_some();
    if ok {
        Ok(())
    } else {
        Err(format!("cut after {k} steps: host {s:#?}"))
    }
}

#[test]
fn a_reset_killed_after_any_step_is_finished_by_apply_or_by_reset() {
    let w = want(&demo());
    let b = fake_host();
    apply_all(&b, &w);
    let steps = reset_plan(&b, &w, &["worker1".to_string()], false)
        .expect("reset plan")
        .steps
        .len();
    let by_apply = |b: &FakeBackend, w: &Desired| apply_all(b, w);
    let by_reset = |b: &FakeBackend, w: &Desired| {
        let out = reset(b, w, "worker1", false);
        assert!(out.ok(), "{:?}", out.failures);
    };
    let mut errors = Vec::new();
    for k in 0..=steps {
        errors.extend(cut_then(k, &by_apply).err());
        errors.extend(cut_then(k, &by_reset).err());
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn reset_on_the_test_driver_makes_the_root_again_at_the_specs_size() {
    let b = LibvirtBackend::connect(Some("test:///default")).expect("test driver");
    let pool = "<pool type='dir'><name>default</name><target><path>/var/lib/libvirt/images</path></target></pool>";
    let marker = "<volume><name>host.marker</name><capacity unit='bytes'>0</capacity></volume>";
    b.create_pool(pool, marker).expect("default pool");
    let base = "<volume><name>fedora-coreos.qcow2</name><capacity unit='bytes'>1073741824</capacity></volume>";
    b.create_volume("default", base).expect("base image");
    let b = MemoryUploads::new(b);
    let mut c = demo();
    for n in &mut c.nodes {
        n.domain_type = DomainType::Test;
    }
    let w = want(&c);
    apply_all(&b, &w);
    let size = |b: &dyn Backend| b.volume("default", ROOT).expect("get").map(|v| v.capacity);
    let spec_size = w.nodes[1].root_capacity;
    // a root volume of another size in its place (the test driver can
    // neither resize nor write one), other Ignition bytes
    b.delete_volume("default", ROOT).expect("delete");
    let other = format!(
        "<volume><name>{ROOT}</name><capacity unit='bytes'>{}</capacity></volume>",
        spec_size * 2
    );
    b.create_volume("default", &other).expect("create");
    b.upload_volume("default", IGN, b"{}").expect("upload");
    assert_eq!(size(&b), Some(spec_size * 2));
    let out = reset(&b, &w, "worker1", false);
    assert!(out.ok(), "{:?}", out.failures);
    assert_eq!(
        size(&b),
        Some(spec_size),
        "a new root volume, at the spec's size"
    );
    let ign = b.uploads()[&("default".to_string(), IGN.to_string())].clone();
    assert_eq!(ign, rendered_ignition(&w, "worker1"));
    let d = b.domain("demo-worker1").expect("get").expect("defined");
    assert!(d.running, "started again");
    assert_eq!(make_plan(&b, &w, false).expect("plan"), Plan::default());
}
