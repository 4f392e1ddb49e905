//! Benchmark: plan + apply of 100 and 1,000 nodes on libvirt's in-process
//! `test:///default` driver (real LibvirtBackend; uploads kept in memory,
//! which that driver lacks). Targets: 1,000 nodes under 5 s, peak memory
//! (VmHWM) under 50 MiB. Prints a table; `cargo bench -p virtstrap --bench apply`.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use virtstrap::apply;
use virtstrap::libvirt::real::LibvirtBackend;
use virtstrap::libvirt::uploads::MemoryUploads;
use virtstrap::libvirt::Backend;
use virtstrap::plan::{desired, make_plan};
use virtstrap::render::domain::DomainOptions;
use virtstrap::render::host::HostFacts;
use virtstrap::render::ignition::ButaneSet;
use virtstrap::spec::{load_str, DomainType, LoadOptions};

fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Each size runs in its own process, so its peak memory is its own.
fn main() {
    let Ok(nodes) = std::env::var("VS_BENCH_NODES") else {
        println!("| nodes | plan s | apply s | steps | peak MiB | target |");
        println!("|------:|-------:|--------:|------:|---------:|--------|");
        for n in ["100", "1000"] {
            let exe = std::env::current_exe().expect("own path");
            let status = std::process::Command::new(exe)
                .env("VS_BENCH_NODES", n)
                .status()
                .expect("run one size");
            assert!(status.success(), "{n} nodes failed");
        }
        return;
    };
    let nodes: usize = nodes.parse().expect("VS_BENCH_NODES is a number");
    one(nodes);
}

fn one(nodes: usize) {
    let backend = LibvirtBackend::connect(Some("test:///default")).expect("test driver");
    let pool = "<pool type='dir'><name>default</name><target><path>/var/lib/libvirt/images</path></target></pool>";
    let marker = "<volume><name>host.marker</name><capacity unit='bytes'>0</capacity></volume>";
    backend.create_pool(pool, marker).expect("pool");
    let base =
        "<volume><name>base.qcow2</name><capacity unit='bytes'>1073741824</capacity></volume>";
    backend.create_volume("default", base).expect("base image");
    let b = MemoryUploads::new(backend);
    if std::env::var_os("VS_BENCH_VERBOSE").is_some() {
        eprintln!("peak after connecting: {:.1} MiB", peak_mib());
    }
    {
        let i = 0;
        let text = format!(
            "name: b{i}\nimage: {{pool: default, volume: base.qcow2}}\n\
             networks: [{{name: n{i}, mode: nat, cidr: 10.{i}.0.0/16}}]\n\
             defaults: {{vcpus: 1, memory: 256MiB, disk: {{pool: default, size: 64MiB}}, networks: [n{i}]}}\n\
             nodes: [{{name: node, count: {nodes}}}]\n"
        );
        let mut cluster = load_str(
            &text,
            std::path::Path::new("/bench/cluster.yaml"),
            &LoadOptions::default(),
        )
        .expect("spec");
        for n in &mut cluster.nodes {
            n.domain_type = DomainType::Test;
        }
        let t0 = Instant::now();
        let butane = ButaneSet::load(&cluster).expect("butane");
        let want = desired(
            &cluster,
            &butane,
            &HostFacts::default(),
            &DomainOptions::default(),
        )
        .expect("desired");
        let plan = make_plan(&b, &want, false).expect("plan");
        let t1 = Instant::now();
        if std::env::var_os("VS_BENCH_VERBOSE").is_some() {
            eprintln!("peak after planning: {:.1} MiB", peak_mib());
        }
        let out = apply::run(
            &b,
            &want.cluster,
            &plan,
            4,
            &AtomicBool::new(false),
            &|_| {},
        );
        let t2 = Instant::now();
        assert!(
            out.ok(),
            "{:?}",
            out.failures.first().map(|(s, e)| (s.action.describe(), e))
        );
        let total = (t2 - t0).as_secs_f64();
        let peak = peak_mib();
        let verdict = if nodes == 1000 {
            format!(
                "< 5 s: {}; < 50 MiB: {}",
                if total < 5.0 { "MET" } else { "NOT MET" },
                if peak < 50.0 { "MET" } else { "NOT MET" }
            )
        } else {
            String::new()
        };
        println!(
            "| {nodes:>5} | {:>6.2} | {:>7.2} | {:>5} | {peak:>8.1} | {verdict} |",
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            plan.steps.len()
        );
    }
}
