//! `hosts:`, `host:` and `placement:` in cluster specs: what loads, to
//! what, and a table of mistakes, each with its key path, line, column
//! and message (and no other problem).

use std::path::Path;

use virtstrap::spec::{load_str, Host, LoadOptions, Placement, SpecProblem};

/// Header of every case: a name, an image and two hosts.
const H: &str = "name: demo\nimage: {pool: default, volume: fcos.qcow2}\n\
                 hosts:\n  box1: qemu+tcp://10.231.1.2/system\n  box2: qemu+ssh://root@box2/system\n";

fn spec_file() -> &'static Path {
    Path::new("/t/cluster.yaml")
}

fn load(yaml: &str) -> Result<virtstrap::spec::Cluster, Vec<SpecProblem>> {
    load_str(yaml, spec_file(), &LoadOptions::default()).map_err(|e| e.problems)
}

#[test]
fn hosts_and_placements_load_in_order() {
    let yaml = format!(
        "{H}defaults: {{ networks: [] }}\nnodes:\n  - {{ name: cp, host: box2 }}\n  \
         - {{ name: w, count: 3, placement: spread }}\n"
    );
    let c = load(&yaml).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(
        c.hosts,
        vec![
            Host {
                name: "box1".into(),
                uri: "qemu+tcp://10.231.1.2/system".into()
            },
            Host {
                name: "box2".into(),
                uri: "qemu+ssh://root@box2/system".into()
            },
        ]
    );
    let placed: Vec<(&str, &Placement)> = c
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), &n.placement))
        .collect();
    assert_eq!(
        placed,
        vec![
            ("cp", &Placement::Host("box2".into())),
            ("w1", &Placement::Spread),
            ("w2", &Placement::Spread),
            ("w3", &Placement::Spread),
        ]
    );
}

#[test]
fn defaults_may_place_every_node() {
    let yaml = format!(
        "{H}defaults: {{ networks: [], placement: spread }}\nnodes:\n  - {{ name: a }}\n  \
         - {{ name: b, host: box1 }}\n"
    );
    let c = load(&yaml).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(c.nodes[0].placement, Placement::Spread);
    assert_eq!(c.nodes[1].placement, Placement::Host("box1".into()));
}

#[test]
fn without_hosts_every_node_is_on_the_single_host() {
    let yaml =
        "name: demo\nimage: {pool: default, volume: x}\nnodes:\n  - { name: a, networks: [] }\n";
    let c = load(yaml).unwrap_or_else(|p| panic!("{p:?}"));
    assert!(c.hosts.is_empty());
    assert_eq!(c.nodes[0].placement, Placement::Single);
}

/// (case, spec, key path, (line, col), part of the message)
type Bad = (
    &'static str,
    String,
    &'static str,
    (usize, usize),
    &'static str,
);

fn bad_cases() -> Vec<Bad> {
    let img = "name: demo\nimage: {pool: default, volume: fcos.qcow2}\n";
    vec![
        (
            "unknown host",
            format!("{H}nodes:\n  - {{ name: a, networks: [], host: box3 }}\n"),
            "$.nodes.0.host",
            (7, 36),
            "unknown host \"box3\" (hosts: names box1, box2)",
        ),
        (
            "no host given",
            format!("{H}nodes:\n  - {{ name: a, networks: [] }}\n"),
            "$.nodes.0.name",
            (7, 13),
            "node a runs on no host: give it host: (one of box1, box2) or placement: spread",
        ),
        (
            "host and placement",
            format!("{H}nodes:\n  - {{ name: a, networks: [], host: box1, placement: spread }}\n"),
            "$.nodes.0.host",
            (7, 36),
            "not both",
        ),
        (
            "unknown placement",
            format!("{H}nodes:\n  - {{ name: a, networks: [], placement: pack }}\n"),
            "$.nodes.0.placement",
            (7, 41),
            "unknown placement \"pack\"",
        ),
        (
            "host without hosts",
            format!("{img}nodes:\n  - {{ name: a, networks: [], host: box1 }}\n"),
            "$.nodes.0.host",
            (4, 36),
            "need a hosts: mapping",
        ),
        (
            "spread without hosts",
            format!("{img}nodes:\n  - {{ name: a, networks: [], placement: spread }}\n"),
            "$.nodes.0.placement",
            (4, 41),
            "need a hosts: mapping",
        ),
        (
            "connect and hosts",
            format!("connect: qemu:///system\n{H}nodes:\n  - {{ name: a, networks: [], host: box1 }}\n"),
            "$.connect",
            (1, 10),
            "give connect: (one host) or hosts: (several), not both",
        ),
        (
            "not a URI",
            format!("{img}hosts:\n  box1: box1.example.com\nnodes:\n  - {{ name: a, networks: [], host: box1 }}\n"),
            "$.hosts.box1",
            (4, 9),
            "is not a libvirt URI",
        ),
        (
            "two names for one URI",
            format!("{img}hosts:\n  box1: qemu:///system\n  box2: qemu:///system\nnodes:\n  - {{ name: a, networks: [], host: box1 }}\n"),
            "$.hosts.box2",
            (5, 9),
            "has the URI of host box1",
        ),
        (
            "bad host name",
            format!("{img}hosts:\n  Box_1: qemu:///system\nnodes:\n  - {{ name: a, networks: [], host: Box_1 }}\n"),
            "$.hosts.Box_1",
            (4, 3),
            "is not a valid name",
        ),
        (
            "hosts not a mapping",
            format!("{img}hosts: [qemu:///system]\nnodes:\n  - {{ name: a, networks: [] }}\n"),
            "$.hosts",
            (3, 8),
            "expected a mapping of host names to libvirt URIs",
        ),
    ]
}

#[test]
fn placement_mistakes_name_path_position_and_fix() {
    let mut failures = Vec::new();
    let cases = bad_cases();
    for (name, yaml, path, at, msg) in &cases {
        match load(yaml) {
            Ok(_) => failures.push(format!("{name}: loaded\n{yaml}")),
            Err(problems) => {
                let hit = problems.iter().any(|p| {
                    p.path == *path
                        && p.mark.map(|m| (m.line, m.col)) == Some(*at)
                        && p.message.contains(msg)
                });
                if !hit || problems.len() != 1 {
                    let got: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
                    failures.push(format!(
                        "{name}: want {path} at {at:?}: {msg}\ngot:\n{}",
                        got.join("\n")
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
