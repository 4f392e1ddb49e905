//! Benchmark: load a 1,000-node spec and render every node (Ignition
//! merged from the cluster's Butane files, libvirt domain XML). Target:
//! 1,000 nodes in under 1 s. Prints a table; `cargo bench -p virtstrap`.

use std::path::Path;
use std::time::Instant;

use virtstrap::render::domain::{domain_xml, DomainOptions};
use virtstrap::render::host::HostFacts;
use virtstrap::render::ignition::{node_ignition, ButaneSet};
use virtstrap::render::network::network_xml;
use virtstrap::render::storage::node_volumes;
use virtstrap::spec::{load_str, LoadOptions};

fn spec(nodes: usize, dir: &Path) -> String {
    format!(
        "name: bench\nimage: {{pool: default, volume: fcos.qcow2}}\nssh_authorized_keys: [ssh-ed25519 AAAAkey]\n\
         butane: [common.bu]\nnetworks:\n  - {{name: k8s, mode: nat, cidr: 10.40.0.0/16}}\n\
         defaults: {{networks: [k8s], domain_type: qemu}}\nnodes:\n  - name: master\n    role: control-plane\n\
         \x20 - name: worker\n    count: {}\n# dir {}\n",
        nodes - 1,
        dir.display()
    )
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/seed/node.bu");
    std::fs::copy(seed, dir.path().join("common.bu")).expect("copy the seed Butane file");
    let file = dir.path().join("cluster.yaml");
    println!("| nodes | load ms | butane ms | ignition ms | xml ms | total ms | target |");
    println!("|------:|--------:|----------:|------------:|-------:|---------:|--------|");
    for nodes in [100usize, 1000] {
        let text = spec(nodes, dir.path());
        let t0 = Instant::now();
        let cluster = load_str(&text, &file, &LoadOptions::default()).expect("spec loads");
        let t1 = Instant::now();
        let set = ButaneSet::load(&cluster).expect("butane translates");
        let t2 = Instant::now();
        let mut bytes = 0;
        for node in &cluster.nodes {
            bytes += node_ignition(&cluster, node, &set)
                .expect("ignition")
                .json
                .len();
        }
        let t3 = Instant::now();
        let host = HostFacts::default();
        for node in &cluster.nodes {
            bytes += domain_xml(&cluster, node, &host, &DomainOptions::default()).len();
            bytes += node_volumes(&cluster, node, &host)
                .iter()
                .map(|v| v.xml.len())
                .sum::<usize>();
        }
        for net in &cluster.networks {
            bytes += network_xml(&cluster, net).len();
        }
        let t4 = Instant::now();
        assert_eq!(cluster.nodes.len(), nodes);
        assert!(bytes > 0);
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        let total = ms(t0, t4);
        let verdict = if nodes == 1000 {
            if total < 1000.0 {
                "< 1 s: MET"
            } else {
                "< 1 s: NOT MET"
            }
        } else {
            ""
        };
        println!(
            "| {nodes:>5} | {:>7.1} | {:>9.1} | {:>11.1} | {:>6.1} | {total:>8.1} | {verdict} |",
            ms(t0, t1),
            ms(t1, t2),
            ms(t2, t3),
            ms(t3, t4)
        );
    }
}
