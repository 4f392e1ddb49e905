//! apply, re-apply, drift, destroy and foreign-object refusal through the
//! real LibvirtBackend on libvirt's in-process `test:///default` driver
//! (no daemon; one process's connections share its state).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use virtstrap::apply;
use virtstrap::libvirt::real::LibvirtBackend;
use virtstrap::libvirt::uploads::MemoryUploads;
use virtstrap::libvirt::Backend;
use virtstrap::plan::{desired, destroy_plan, make_plan, Change, Desired, Plan, PlanError};
use virtstrap::render::domain::DomainOptions;
use virtstrap::render::host::HostFacts;
use virtstrap::render::ignition::ButaneSet;
use virtstrap::spec::{self, Cluster, DomainType, LoadOptions};

fn demo() -> Cluster {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo/cluster.yaml");
    let mut c = spec::load(&path, &LoadOptions::default()).expect("demo spec loads");
    for n in &mut c.nodes {
        n.domain_type = DomainType::Test;
    }
    c
}

fn want(c: &Cluster) -> Desired {
    let butane = ButaneSet::load(c).expect("butane");
    desired(c, &butane, &HostFacts::default(), &DomainOptions::default()).expect("desired")
}

/// The test driver with the `default` pool and base image the demo needs.
fn host() -> MemoryUploads<LibvirtBackend> {
    let b = LibvirtBackend::connect(Some("test:///default")).expect("test driver");
    if b.pool("default").expect("pool").is_none() {
        let pool = "<pool type='dir'><name>default</name><target><path>/var/lib/libvirt/images</path></target></pool>";
        let marker = "<volume><name>host.marker</name><capacity unit='bytes'>0</capacity></volume>";
        b.create_pool(pool, marker).expect("create default pool");
        let base = "<volume><name>fedora-coreos.qcow2</name><capacity unit='bytes'>1073741824</capacity></volume>";
        b.create_volume("default", base).expect("base image");
    }
    MemoryUploads::new(b)
}

fn run(b: &dyn Backend, w: &Desired, p: &Plan) {
    let out = apply::run(b, &w.cluster, p, 4, &AtomicBool::new(false), &|_| {});
    assert!(out.ok(), "{:?}", out.failures);
}

/// One test function: the driver's state is per process and shared.
#[test]
fn apply_replan_drift_destroy_and_foreign_objects() {
    let b = host();
    let mut c = demo();
    let w = want(&c);

    let p = make_plan(&b, &w, false).expect("plan");
    assert!(p.steps.iter().all(|s| s.change == Change::Create), "{p:#?}");
    run(&b, &w, &p);
    for n in &w.nodes {
        let d = b.domain(&n.domain).expect("get").expect("defined");
        assert!(d.running, "{} runs", n.domain);
    }
    assert!(b.network("k8s").expect("get").is_some());
    assert_eq!(
        make_plan(&b, &w, false).expect("plan"),
        Plan::default(),
        "second plan is empty"
    );

    c.nodes[1].memory_mib = 4096;
    let drift = make_plan(&b, &want(&c), false).expect("plan");
    assert_eq!(drift.steps.len(), 1, "{drift:#?}");
    assert!(
        drift.steps[0].reason.contains("memory 3072 -> 4096 MiB"),
        "{}",
        drift.steps[0].reason
    );
    run(&b, &want(&c), &drift);
    assert_eq!(
        make_plan(&b, &want(&c), false).expect("plan"),
        Plan::default()
    );

    let d = destroy_plan(&b, &w).expect("destroy plan");
    run(&b, &w, &d);
    for n in &w.nodes {
        assert!(
            b.domain(&n.domain).expect("get").is_none(),
            "{} is gone",
            n.domain
        );
        for v in &n.volumes {
            assert!(
                b.volume(&v.pool, &v.name).expect("get").is_none(),
                "{}/{} is gone",
                v.pool,
                v.name
            );
        }
    }
    assert!(b.network("k8s").expect("get").is_none());
    assert!(b.pool("bulk").expect("get").is_none());
    assert!(
        b.pool("default").expect("get").is_some(),
        "the host's pool stays"
    );
    assert!(
        b.volume("default", "fedora-coreos.qcow2")
            .expect("get")
            .is_some(),
        "the base image stays"
    );

    // a foreign domain and volume with our names: refused, left as they were
    b.define_domain("<domain type='test'><name>demo-cp1</name><memory unit='KiB'>65536</memory><os><type>hvm</type></os></domain>")
        .expect("foreign domain");
    let foreign_vol =
        "<volume><name>demo-worker1-root.qcow2</name><capacity unit='bytes'>1</capacity></volume>";
    b.create_volume("default", foreign_vol)
        .expect("foreign volume");
    match make_plan(&b, &w, false) {
        Err(PlanError::Conflicts(c)) => assert_eq!(c.len(), 2, "{c:?}"),
        other => panic!("expected conflicts, got {other:?}"),
    }
    let d = destroy_plan(&b, &w).expect("destroy plan");
    assert_eq!(d, Plan::default(), "destroy finds nothing of ours");
    assert!(b.domain("demo-cp1").expect("get").is_some());
    assert!(b
        .volume("default", "demo-worker1-root.qcow2")
        .expect("get")
        .is_some());
}
