//! Issue 11, hostile and careless input: names that would escape their
//! pool or into QEMU's arguments, and facts only the host knows.
//!
//! - Escapes: every name that becomes a libvirt object or a path is
//!   refused at `validate` with file:line:col, a comma in a pool path
//!   cannot add a QEMU option, and `render` comments cannot turn a name
//!   into markup;
//! - Plan-time facts: what the host has is checked before anything is
//!   changed (exit 2 on the CLI, `PlanError::Conflicts` here), on the
//!   in-memory FakeBackend.

use std::path::{Path, PathBuf};

use virtstrap::libvirt::fake::{FakeBackend, FakeState};
use virtstrap::libvirt::{DomainState, NetworkState, PoolState, VolumeState};
use virtstrap::plan::{desired, make_plan, Desired, PlanError};
use virtstrap::render::domain::DomainOptions;
use virtstrap::render::host::HostFacts;
use virtstrap::render::ignition::ButaneSet;
use virtstrap::spec::{self, LoadOptions};

#[allow(dead_code)] // the CLI tests' harness; this binary uses part of it
#[path = "cli/util.rs"]
mod util;

use util::Dir;

/// A key that `validate` accepts.
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEr3/Ub+TJ6kpiKRhMa0MJLt6xRSIHt80PqAho087eYF a@b";

/// The files in `dir`, sorted: what a refused command must leave as it
/// found it.
fn listing(dir: &Dir) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    names
}

/// Run every row, `validate -f h.yaml [extra args]` on `spec`: exit 2,
/// each `want` line on stderr, nothing on stdout, nothing written.
fn refused(rows: &[(&str, String, &[&str], &[&str])]) {
    let mut failures = Vec::new();
    for (what, spec, args, want) in rows {
        let dir = Dir::new();
        dir.write("h.yaml", spec);
        let before = listing(&dir);
        let out = dir
            .command()
            .args(["validate", "-f", "h.yaml"])
            .args(*args)
            .run();
        let mut checks = vec![out.check_exit(2), out.check_stdout_empty()];
        checks.extend(want.iter().map(|w| out.check_stderr_contains(w)));
        checks.push(out.check(listing(&dir) == before, "nothing written"));
        failures.extend(
            checks
                .into_iter()
                .filter_map(Result::err)
                .map(|e| format!("{what}: {e}")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A spec with `image` and `defaults` as given, one node `a`.
fn spec_with(image: &str, defaults: &str, extra: &str) -> String {
    format!("name: potato\nimage: {image}\ndefaults: {defaults}\nnodes:\n  - name: a\n{extra}")
}

const IMAGE: &str = "{pool: default, volume: base.qcow2}";
const DEFAULTS: &str = "{disk: {pool: default, size: 4GiB}, networks: [k8s]}";
const NET: &str = "networks:\n  - {name: k8s, mode: nat, cidr: 10.1.0.0/24}\n";

const NAME_RULE: &str = "is not a valid name: use 1 to 40 lowercase letters, digits and '-'";
const POOL_RULE: &str = "is not a valid pool name: use 1 to 64 ASCII letters, digits, '-', '_', '.' and '+', not starting with '.' or '-'";
const VOLUME_RULE: &str = "is not a valid volume name: use 1 to 255";
const NETWORK_RULE: &str = "is not a valid network name: use 1 to 64";
const BRIDGE_RULE: &str = "is not a valid host bridge name: use 1 to 15";

#[test]
fn names_that_would_escape_are_refused_at_validate_with_their_position() {
    let shadow = |v: &str| spec_with(&format!("{{pool: base, volume: {v}}}"), DEFAULTS, NET);
    let disk = |p: &str| {
        spec_with(
            IMAGE,
            &format!("{{disk: {{pool: {p}, size: 4GiB}}, networks: [k8s]}}"),
            NET,
        )
    };
    let rows: Vec<(&str, String, &[&str], &[&str])> = vec![
        (
            "the issue's /etc/shadow as the base image",
            shadow("/etc/shadow"),
            &[],
            &["h.yaml:2:29: $.image.volume: \"/etc/shadow\" is not a valid volume name"],
        ),
        (
            "the issue's ../../../../etc/shadow",
            shadow("../../../../etc/shadow"),
            &[],
            &[
                "h.yaml:2:29: $.image.volume: \"../../../../etc/shadow\" ",
                VOLUME_RULE,
            ],
        ),
        (
            "a hidden volume",
            shadow(".base"),
            &[],
            &["h.yaml:2:29: $.image.volume: \".base\" is not a valid volume name"],
        ),
        (
            "image.pool ..",
            spec_with("{pool: '..', volume: b.qcow2}", DEFAULTS, NET),
            &[],
            &["h.yaml:2:15: $.image.pool: \"..\" ", POOL_RULE],
        ),
        (
            "the issue's markup as disk.pool",
            disk("\"x --><disk type='file'><!-- \""),
            &[],
            &[
                "h.yaml:3:25: $.defaults.disk.pool: \"x --><disk type='file'><!-- \" ",
                POOL_RULE,
            ],
        ),
        (
            "a pool read as an option",
            disk("-rf"),
            &[],
            &["h.yaml:3:25: $.defaults.disk.pool: \"-rf\" "],
        ),
        (
            "extra_disks[].pool with a slash",
            spec_with(
                IMAGE,
                DEFAULTS,
                &format!("    extra_disks: [{{pool: a/b, size: 1GiB}}]\n{NET}"),
            ),
            &[],
            &[
                "h.yaml:6:26: $.nodes.0.extra_disks.0.pool: \"a/b\" ",
                POOL_RULE,
            ],
        ),
        (
            "a NIC network with a space",
            spec_with(IMAGE, DEFAULTS, "    networks: ['my net']\n"),
            &[],
            &[
                "h.yaml:6:16: $.nodes.0.networks.0: \"my net\" ",
                NETWORK_RULE,
            ],
        ),
        (
            "a NIC network as a mapping",
            spec_with(
                IMAGE,
                DEFAULTS,
                "    networks: [{name: '<x>', ip: 10.1.0.9}]\n",
            ),
            &[],
            &[
                "h.yaml:6:23: $.nodes.0.networks.0.name: \"<x>\" ",
                NETWORK_RULE,
            ],
        ),
        (
            "a bridge longer than an interface name",
            spec_with(
                IMAGE,
                DEFAULTS,
                "networks:\n  - {name: k8s, mode: bridge, bridge: bridgename16char}\n",
            ),
            &[],
            &[
                "h.yaml:7:39: $.networks.0.bridge: \"bridgename16char\" ",
                BRIDGE_RULE,
            ],
        ),
        (
            "a bridge with a slash and a space",
            spec_with(
                IMAGE,
                DEFAULTS,
                "networks:\n  - {name: k8s, mode: bridge, bridge: 'a b/c'}\n",
            ),
            &[],
            &["h.yaml:7:39: $.networks.0.bridge: \"a b/c\" ", BRIDGE_RULE],
        ),
        (
            "a declared pool named with markup",
            spec_with(
                IMAGE,
                DEFAULTS,
                &format!("{NET}pools:\n  - {{name: 'x-->', path: /srv/x}}\n"),
            ),
            &[],
            &["h.yaml:9:12: $.pools.0.name: \"x-->\" is not a valid name"],
        ),
        (
            "a declared network with a slash",
            spec_with(
                IMAGE,
                DEFAULTS,
                "networks:\n  - {name: k8s/x, mode: nat, cidr: 10.1.0.0/24}\n",
            ),
            &[],
            &["h.yaml:7:12: $.networks.0.name: \"k8s/x\" is not a valid name"],
        ),
        (
            "every problem at once",
            spec_with(
                "{pool: a/b, volume: /x}",
                "{disk: {pool: '', size: 4GiB}, networks: ['']}",
                NET,
            ),
            &[],
            &[
                "the spec has 4 problems",
                "h.yaml:2:15: $.image.pool: \"a/b\"",
                "h.yaml:2:28: $.image.volume: \"/x\"",
                "h.yaml:3:25: $.defaults.disk.pool: \"\"",
                "h.yaml:3:53: $.defaults.networks.0: \"\"",
            ],
        ),
    ];
    refused(&rows);
}

#[test]
fn a_vars_files_name_is_a_cluster_name() {
    let vars = "k8s_node:\n  - node_name: m1\n    disk: {pool: default, size: 20}\n    networks: [default]\n    is_master: true\n";
    let rows: Vec<(&str, String, &[&str], &[&str])> = vec![
        (
            "the issue's --name",
            vars.into(),
            &["--name", "../Evil Name\"<&>/x"],
            &["h.yaml: $: --name \"../Evil Name\\\"<&>/x\" ", NAME_RULE],
        ),
        (
            "an empty --name",
            vars.into(),
            &["--name", ""],
            &["h.yaml: $: --name \"\" ", NAME_RULE],
        ),
        (
            "a --name too long",
            vars.into(),
            &["--name", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
            &["h.yaml: $: --name \"aaaa"],
        ),
        (
            "a vars file's pool",
            vars.replace("pool: default", "pool: ../up"),
            &[],
            &["h.yaml:3:18: $.k8s_node.0.disk.pool: \"../up\" ", POOL_RULE],
        ),
    ];
    refused(&rows);
}

#[test]
fn names_of_the_hosts_objects_that_libvirt_accepts_are_kept() {
    let dir = Dir::new();
    let spec = spec_with(
        "{pool: images_v2, volume: fedora-coreos-41.20250101.3.0.x86_64.qcow2}",
        "{disk: {pool: Big.Pool+1, size: 4GiB}, networks: [k8s, br-ext_1]}",
        "networks:\n  - {name: k8s, mode: bridge, bridge: virbr10.100}\n",
    );
    dir.write("h.yaml", &spec);
    dir.command()
        .args(["validate", "-f", "h.yaml"])
        .run()
        .assert_ok();
}

#[test]
fn a_comma_in_a_pool_path_stays_in_the_qemu_option_value() {
    let dir = Dir::new();
    let spec = spec_with(
        IMAGE,
        "{disk: {pool: inj, size: 4GiB}, networks: [k8s]}",
        &format!("{NET}pools:\n  - {{name: inj, path: '/tmp/a,string=injected,x=/'}}\n"),
    );
    dir.write("h.yaml", &spec);
    let out = dir
        .command()
        .args(["render", "a", "-f", "h.yaml", "--only", "domain"])
        .arg_fw_cfg()
        .run();
    out.assert_ok().assert_stdout_contains(
        "<qemu:arg value=\"name=opt/com.coreos/config,file=/tmp/a,,string=injected,,x=/potato-a.ign\"/>",
    );
    out.assert(!out.stdout().contains("a,string="), "no bare comma");
}

/// `--qemu-commandline-fw-cfg`, the write-up's fallback.
trait FwCfg {
    fn arg_fw_cfg(self) -> Self;
}

impl FwCfg for util::TestCommand {
    fn arg_fw_cfg(self) -> Self {
        self.args(["--qemu-commandline-fw-cfg"])
    }
}

#[test]
fn render_header_comments_hold_no_markup() {
    let dir = Dir::new();
    // valid names that hold "--" (a node) and "+." (a pool)
    let spec = "name: potato\nimage: {pool: default, volume: b.qcow2}\n\
                defaults: {disk: {pool: my--pool, size: 4GiB}, networks: [k8s]}\n\
                nodes:\n  - name: a--b\n\
                networks:\n  - {name: k8s, mode: nat, cidr: 10.1.0.0/24}\n";
    dir.write("h.yaml", spec);
    let out = dir.command().args(["render", "a--b", "-f", "h.yaml"]).run();
    out.assert_ok()
        .assert_stdout_contains("<!-- volume potato-a- -b-root.qcow2 in pool my- -pool -->");
    for line in out.stdout().lines().filter(|l| l.starts_with("<!--")) {
        let inner = &line["<!--".len()..line.len() - "-->".len()];
        out.assert(
            line.ends_with("-->") && !inner.contains("--") && !inner.contains('>'),
            &format!("a comment that stays one: {line}"),
        );
    }
}

#[test]
fn a_key_given_twice_is_reported_where_it_is_written() {
    let twice = format!("name: potato\nimage: {IMAGE}\nssh_authorized_keys:\n  - {KEY}\n  - {KEY}\ndefaults: {DEFAULTS}\nnodes: [{{name: a}}]\n{NET}");
    let rows: Vec<(&str, String, &[&str], &[&str])> = vec![
        (
            "the issue's key listed twice",
            twice,
            &[],
            &["h.yaml:5:5: $.ssh_authorized_keys.1: this key is also listed at line 4 col 5; remove one"],
        ),
        (
            "a key file that repeats a listed key",
            format!("name: potato\nimage: {IMAGE}\nssh_authorized_keys:\n  - {KEY}\n  - {{file: k.pub}}\ndefaults: {DEFAULTS}\nnodes: [{{name: a}}]\n{NET}"),
            &[],
            &["h.yaml:5:5: $.ssh_authorized_keys.1: this key is also listed at line 4 col 5"],
        ),
    ];
    // the key file sits beside the spec, in each row's own directory
    let mut failures = Vec::new();
    for (what, spec, _, want) in &rows {
        let dir = Dir::new();
        dir.write("h.yaml", spec);
        dir.write("k.pub", &format!("{KEY}\n"));
        let out = dir.command().args(["validate", "-f", "h.yaml"]).run();
        let mut checks = vec![out.check_exit(2), out.check_stdout_empty()];
        checks.extend(want.iter().map(|w| out.check_stderr_contains(w)));
        checks.push(out.check(
            !out.stderr().contains("error at $"),
            "no position without a file",
        ));
        failures.extend(
            checks
                .into_iter()
                .filter_map(Result::err)
                .map(|e| format!("{what}: {e}")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_relative_kernel_is_the_same_file_however_the_spec_is_named() {
    let dir = Dir::new();
    dir.write("sub/vmlinuz", "k");
    dir.write(
        "sub/h.yaml",
        "name: potato\nnodes:\n  - name: a\n    networks: []\n    boot: {kernel: vmlinuz, initrd: vmlinuz}\n",
    );
    let render = |cwd: &Path, file: &str| {
        util::TestCommand::new(util::virtstrap(), cwd)
            .args(["render", "a", "-f", file, "--only", "domain"])
            .run()
    };
    let here = render(dir.path(), "sub/h.yaml");
    here.assert_ok();
    let abs = std::fs::canonicalize(dir.join("sub/vmlinuz")).expect("canonical");
    here.assert_stdout_contains(&format!("<kernel>{}</kernel>", abs.display()))
        .assert_stdout_contains(&format!("<initrd>{}</initrd>", abs.display()));
    render(&dir.join("sub"), "h.yaml").assert_same_stdout(&here);
    render(&dir.join("sub"), "../sub/./h.yaml").assert_same_stdout(&here);
    let full = dir.join("sub/h.yaml");
    render(Path::new("/"), full.to_str().expect("utf-8")).assert_same_stdout(&here);
}

// ---- plan-time facts, on the FakeBackend -------------------------------

/// `spec` (written to a temporary directory) as the plan wants it.
fn want(spec: &str) -> Desired {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cluster.yaml");
    std::fs::write(&path, spec).expect("write spec");
    let c = spec::load(&path, &LoadOptions::default()).expect("spec loads");
    let butane = ButaneSet::load(&c).expect("butane");
    desired(
        &c,
        &butane,
        &HostFacts::default(),
        &DomainOptions::default(),
    )
    .expect("desired")
}

fn pool_state(path: &str) -> PoolState {
    PoolState {
        xml: format!("<pool type='dir'><target><path>{path}</path></target></pool>"),
        active: true,
        persistent: true,
        path: PathBuf::from(path),
    }
}

/// A host with the `default` pool and the base image.
fn host() -> FakeState {
    let mut s = FakeState::default();
    s.pools
        .insert("default".into(), pool_state("/var/lib/libvirt/images"));
    s.volumes.insert(
        ("default".into(), "base.qcow2".into()),
        VolumeState {
            xml: "<volume><name>base.qcow2</name></volume>".into(),
            capacity: 1 << 30,
        },
    );
    s
}

/// The conflicts planning `spec` on `state` gives; and that the plan
/// changed nothing on the host.
fn conflicts(spec: &str, state: &FakeState, adopt: bool) -> Result<Vec<String>, String> {
    let w = want(spec);
    let b = FakeBackend::with_state(state.clone());
    let result = make_plan(&b, &w, adopt);
    if b.state() != *state {
        return Err("planning changed the host".into());
    }
    match result {
        Err(PlanError::Conflicts(c)) => Ok(c),
        Err(e) => Err(format!("not a conflict: {e}")),
        Ok(p) => Err(format!("planned: {:?}", p.steps)),
    }
}

const PLAN_SPEC: &str = "name: potato\nimage: {pool: default, volume: base.qcow2}\n\
    defaults: {vcpus: 1, memory: 512MiB, disk: {pool: default, size: 4GiB}, networks: [k8s]}\n\
    nodes:\n  - name: a\n    extra_disks: [{pool: fast, size: 1GiB}]\n  - name: b\n    disk: {pool: slow, size: 4GiB}\n\
    networks:\n  - {name: k8s, mode: nat, cidr: 10.1.0.0/24}\n";

#[test]
fn what_only_the_host_knows_is_refused_before_anything_changes() {
    let foreign_net = |xml: &str| {
        let mut s = host();
        s.pools.insert("fast".into(), pool_state("/srv/fast"));
        s.pools.insert("slow".into(), pool_state("/srv/slow"));
        s.networks.insert(
            "k8s".into(),
            NetworkState {
                xml: xml.into(),
                active: true,
            },
        );
        s
    };
    let declared_pool = PLAN_SPEC.replace(
        "networks:\n  - {name: k8s",
        "pools:\n  - {name: fast, path: /srv/fast}\nnetworks:\n  - {name: k8s",
    );
    let elsewhere = {
        let mut s = host();
        s.pools.insert("fast".into(), pool_state("/data/other"));
        s.pools.insert("slow".into(), pool_state("/srv/slow"));
        s
    };
    let rows: Vec<(&str, String, FakeState, &[&str])> = vec![
        (
            "the issue's undeclared missing pools: all of them, with their nodes",
            PLAN_SPEC.into(),
            host(),
            &[
                "pool fast does not exist and the spec does not declare it (used by a): create it",
                "pool slow does not exist and the spec does not declare it (used by b)",
            ],
        ),
        (
            "the issue's declared pool that exists elsewhere",
            declared_pool,
            elsewhere,
            &["pool fast exists at /data/other, but the spec declares it at /srv/fast: it is not this cluster's"],
        ),
        (
            "the issue's declared network with another cidr",
            PLAN_SPEC.into(),
            foreign_net("<network><name>k8s</name><forward mode='nat'/><ip address='192.168.9.1' prefix='24'><dhcp/></ip></network>"),
            &["network k8s exists, is not this cluster's, and is not what the spec declares (cidr 192.168.9.0/24 on the host, 10.1.0.0/24 in the spec)"],
        ),
        (
            "a declared network that is isolated on the host",
            PLAN_SPEC.into(),
            foreign_net("<network><name>k8s</name><ip address='10.1.0.1' netmask='255.255.255.0'/></network>"),
            &["(mode isolated on the host, nat in the spec)"],
        ),
    ];
    let mut failures = Vec::new();
    for (what, spec, state, want) in rows {
        match conflicts(&spec, &state, false) {
            Err(e) => failures.push(format!("{what}: {e}")),
            Ok(c) => {
                for w in want {
                    if !c.iter().any(|m| m.contains(w)) {
                        failures.push(format!("{what}: no conflict with {w:?} in {c:#?}"));
                    }
                }
                if c.len() != want.len() {
                    failures.push(format!(
                        "{what}: {} conflicts, want {}: {c:#?}",
                        c.len(),
                        want.len()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn adopting_a_running_stranger_says_what_it_does() {
    let spec = "name: potato\nimage: {pool: default, volume: base.qcow2}\n\
        defaults: {vcpus: 1, memory: 512MiB, disk: {pool: default, size: 4GiB}, networks: [k8s]}\n\
        nodes: [{name: a}]\nnetworks:\n  - {name: k8s, mode: nat, cidr: 10.1.0.0/24}\n";
    let w = want(spec);
    let mut state = host();
    state.domains.insert(
        "potato-a".into(),
        DomainState {
            xml: "<domain type='kvm'><name>potato-a</name></domain>".into(),
            running: true,
        },
    );
    let b = FakeBackend::with_state(state.clone());
    let p = make_plan(&b, &w, true).expect("--adopt plans");
    assert_eq!(b.state(), state, "planning changed nothing");
    let node_steps: Vec<_> = p.steps.iter().filter(|s| &*s.node == "a").collect();
    assert!(!node_steps.is_empty());
    for s in node_steps {
        assert!(
            s.reason
                .starts_with("--adopt: taking over domain potato-a (not created by virtstrap)")
                && s.reason.contains("effective at its next boot"),
            "{}",
            s.reason
        );
        assert!(!s.reason.contains("interrupted"), "{}", s.reason);
    }
}
