//! Rendered libvirt XML for whole spec files, against golden files in
//! `tests/golden/<case>/`: every node's domain (plus `--explain` and the
//! old-libvirt `<qemu:commandline>` variant for the first node), every
//! volume, declared pool and network, and every node's Ignition config.
//! Compared byte for byte; rewritten only with `UPDATE_GOLDEN=1`. Every
//! XML golden file is also checked with libvirt's own RelaxNG schemas
//! through `virt-xml-validate` (Debian: `libvirt-clients`, which pulls the
//! schemas in with `libvirt0`, and `libxml2-utils` for the `xmllint` it
//! runs), every Ignition file with `ignition-validate` (Debian:
//! `ignition`); a missing tool fails.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use virtstrap::render::domain::{domain_xml, DomainOptions};
use virtstrap::render::host::HostFacts;
use virtstrap::render::ignition::{node_ignition, ButaneSet};
use virtstrap::render::network::network_xml;
use virtstrap::render::storage::{node_volumes, pool_xml};
use virtstrap::spec::{self, Cluster, LoadOptions};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(case)
}

/// Every file rendered for `cluster`: name -> content.
fn render_all(cluster: &Cluster, host: &HostFacts) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let plain = DomainOptions::default();
    let butane = ButaneSet::load(cluster).expect("the case's Butane files translate");
    for (i, node) in cluster.nodes.iter().enumerate() {
        let name = &node.name;
        let ign = node_ignition(cluster, node, &butane).expect("node Ignition builds");
        out.insert(format!("{name}.ign"), ign.config.to_json(true) + "\n");
        out.insert(
            format!("{name}.domain.xml"),
            domain_xml(cluster, node, host, &plain),
        );
        if i == 0 {
            let explain = DomainOptions {
                explain: true,
                ..plain
            };
            let old = DomainOptions {
                qemu_commandline_fw_cfg: true,
                ..plain
            };
            out.insert(
                format!("{name}.explain.domain.xml"),
                domain_xml(cluster, node, host, &explain),
            );
            out.insert(
                format!("{name}.qemu-commandline.domain.xml"),
                domain_xml(cluster, node, host, &old),
            );
        }
        for v in node_volumes(cluster, node, host) {
            out.insert(
                format!("{}.{}.volume.xml", v.pool, v.name),
                v.xml.to_string(),
            );
        }
    }
    for pool in &cluster.pools {
        out.insert(format!("{}.pool.xml", pool.name), pool_xml(pool));
    }
    for net in &cluster.networks {
        out.insert(
            format!("{}.network.xml", net.name),
            network_xml(cluster, net),
        );
    }
    out
}

/// Compare (or, with `UPDATE_GOLDEN=1`, rewrite) the golden files of
/// `case`, then validate each against libvirt's schemas.
fn check(case: &str, rendered: &BTreeMap<String, String>) {
    let dir = golden_dir(case);
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    for (name, text) in rendered {
        let path = dir.join(name);
        if update {
            fs::write(&path, text).expect("write golden file");
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(want) if want == *text => {}
            Ok(want) => problems.push(format!(
                "{}: differs\n{}",
                path.display(),
                first_diff(&want, text)
            )),
            Err(e) => problems.push(format!(
                "{}: {e} (run with UPDATE_GOLDEN=1)",
                path.display()
            )),
        }
    }
    for stale in golden_xml(&dir).filter(|n| !rendered.contains_key(n)) {
        problems.push(format!(
            "{}: no longer rendered; delete it",
            dir.join(stale).display()
        ));
    }
    for name in rendered.keys() {
        if let Err(e) = validate(&dir.join(name)) {
            problems.push(e);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

fn golden_xml(dir: &Path) -> impl Iterator<Item = String> {
    fs::read_dir(dir)
        .expect("golden dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".xml") || n.ends_with(".ign"))
}

fn first_diff(want: &str, got: &str) -> String {
    let mut w = want.lines();
    let mut g = got.lines();
    for line in 1.. {
        match (w.next(), g.next()) {
            (None, None) => break,
            (a, b) if a == b => {}
            (a, b) => {
                return format!(
                    "line {line}:\n- {}\n+ {}",
                    a.unwrap_or("<eof>"),
                    b.unwrap_or("<eof>")
                )
            }
        }
    }
    "only line endings differ".into()
}

/// `virt-xml-validate FILE TYPE`, TYPE from the file's suffix.
fn validate(path: &Path) -> Result<(), String> {
    let name = path.to_string_lossy();
    if name.ends_with(".ign") {
        return ignition_validate(path);
    }
    let kind = [
        (".domain.xml", "domain"),
        (".volume.xml", "storagevol"),
        (".pool.xml", "storagepool"),
        (".network.xml", "network"),
    ]
    .iter()
    .find(|(suffix, _)| name.ends_with(suffix))
    .map(|(_, kind)| *kind)
    .expect("every golden file has a known suffix");
    let out = Command::new("virt-xml-validate")
        .arg(path)
        .arg(kind)
        .output()
        .unwrap_or_else(|e| {
            panic!("virt-xml-validate: {e}; install libvirt-clients and libxml2-utils (Debian)")
        });
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{name}: virt-xml-validate {kind} failed ({})\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// `ignition-validate FILE` (Debian's Ignition 2.14 reads specs up to
/// 3.3.0, which is what these cases produce).
fn ignition_validate(path: &Path) -> Result<(), String> {
    let out = Command::new("ignition-validate")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("ignition-validate: {e}; install ignition (Debian)"));
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}: ignition-validate failed ({})\n{}{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

#[test]
fn seed_vars_file_renders_as_golden() {
    let root = workspace().join("examples/seed");
    let opts = LoadOptions {
        extra_butane: vec![root.join("node.bu")],
        name: None,
    };
    let cluster = spec::load(&root.join("vars.yml"), &opts).expect("seed spec loads");
    // The write-up's `bulk` pool exists on its host: its path is a host fact.
    let mut host = HostFacts::default();
    host.pool_paths
        .insert("bulk".into(), PathBuf::from("/srv/bulk"));
    check("seed", &render_all(&cluster, &host));
}

#[test]
fn demo_cluster_renders_as_golden() {
    let path = workspace().join("crates/virtstrap/tests/fixtures/demo/cluster.yaml");
    let cluster = spec::load(&path, &LoadOptions::default()).expect("demo spec loads");
    check("demo", &render_all(&cluster, &HostFacts::default()));
}
