//! `virtstrap inventory`, from the outside: the real executable run in a
//! temporary directory (through the CLI harness in `cli/util.rs`).
//!
//! - golden files in `tests/golden/inventory/`, one per spec and format,
//!   compared byte for byte and rewritten only with `UPDATE_GOLDEN=1`;
//! - the real client: every format is read back by Ansible's own
//!   `ansible-inventory --list` (YAML and INI through their inventory
//!   plugins, JSON through a dynamic inventory script), and each group's
//!   members and each host's variables are checked. A missing
//!   `ansible-inventory` fails, saying how to install it;
//! - `-o`, the refusal without `--planned`, `validate`'s etcd warning and
//!   the help's width.

#[allow(dead_code)]
#[path = "cli/util.rs"]
mod util;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use util::{workspace, Dir};

/// How the real client is installed (kubespray refuses ansible-core
/// 2.19 and later: its `playbooks/ansible_version.yml`).
const INSTALL: &str = "pip install 'ansible-core>=2.16,<2.19'";

/// A spec file the golden tests read, and the arguments that name it.
struct Case {
    /// Golden file prefix.
    name: &'static str,
    /// `-f` and the other spec arguments, relative to the workspace.
    spec_args: &'static [&'static str],
}

const DEMO: Case = Case {
    name: "demo",
    spec_args: &["-f", "crates/virtstrap/tests/fixtures/demo/cluster.yaml"],
};

const SEED: Case = Case {
    name: "seed",
    spec_args: &[
        "-f",
        "examples/seed/vars.yml",
        "--butane",
        "examples/seed/node.bu",
    ],
};

/// Each format: its `--format` value, the golden file suffix, and the
/// Ansible inventory plugin that must read it.
const FORMATS: [(&str, &str, &str); 3] = [
    ("kubespray", "hosts.yaml", "yaml"),
    ("ini", "inventory.ini", "ini"),
    ("json", "inventory.json", "script"),
];

/// `virtstrap inventory --planned ARGS`, run in the workspace.
fn inventory(args: &[&str]) -> util::Outcome {
    util::TestCommand::new(util::virtstrap(), workspace())
        .args(["inventory", "--planned"])
        .args(args)
        .run()
}

fn golden(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/inventory")
        .join(file)
}

/// `text` is the golden file `file` (rewritten with `UPDATE_GOLDEN=1`).
fn check_golden(file: &str, text: &str) {
    let path = golden(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return;
    }
    let want = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    if want != text {
        panic!(
            "{} differs (run with UPDATE_GOLDEN=1 if the change is meant)\n--- want\n{want}--- got\n{text}",
            path.display()
        );
    }
}

#[test]
fn demo_matches_its_golden_files() {
    for (format, suffix, _) in FORMATS {
        let out = inventory(&[DEMO.spec_args, &["--format", format]].concat());
        out.assert_ok().assert_stderr_empty();
        check_golden(&format!("{}.{suffix}", DEMO.name), &out.stdout());
    }
}

#[test]
fn seed_matches_its_golden_files_and_warns_of_the_missing_address() {
    for (format, suffix, _) in FORMATS {
        let out = inventory(&[SEED.spec_args, &["--format", format]].concat());
        out.assert_ok()
            .assert_stderr_starts_with("warning: no address for master1: its first network, external, is not declared in the spec\n");
        check_golden(&format!("{}.{suffix}", SEED.name), &out.stdout());
    }
}

// ---- the real client

/// `ansible-inventory -i path --list`, with only `plugin` enabled and
/// any parse failure an error; its JSON.
fn ansible_list(dir: &Dir, path: &Path, plugin: &str) -> Value {
    let home = dir.join("ansible-home");
    let out = Command::new("ansible-inventory")
        .arg("-i")
        .arg(path)
        .arg("--list")
        .current_dir(dir.path())
        .env("ANSIBLE_HOME", &home)
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_INVENTORY_ENABLED", plugin)
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run ansible-inventory ({e}): the inventory tests check every \
                 format with Ansible's own parser and need it on PATH; install it with\n  {INSTALL}"
            )
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ansible-inventory -i {} --list ({plugin}): {}\n{stderr}",
        path.display(),
        out.status
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ansible-inventory printed no JSON ({e})\n{stderr}"))
}

/// Every host in `group` of an `ansible-inventory --list`, its children's
/// included.
fn members(list: &Value, group: &str) -> BTreeSet<String> {
    let g = &list[group];
    let names = |key: &str| -> Vec<String> {
        g[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out: BTreeSet<String> = names("hosts").into_iter().collect();
    for child in names("children") {
        out.extend(members(list, &child));
    }
    out
}

/// What Ansible must see: each group's members and each host's variables.
struct Expected {
    groups: [(&'static str, &'static [&'static str]); 5],
    hostvars: Value,
}

/// The variables of a host at `addr` (if any), etcd member `etcd` (if).
fn vars(addr: Option<&str>, etcd: Option<&str>) -> Value {
    let mut v = json!({ "ansible_user": "core" });
    if let Some(a) = addr {
        for key in ["ansible_host", "ip", "access_ip"] {
            v[key] = json!(a);
        }
    }
    if let Some(e) = etcd {
        v["etcd_member_name"] = json!(e);
    }
    v
}

/// Write every format of the inventory `virtstrap inventory --planned`
/// makes in `dir` from `spec_args` (run in `cwd`), have
/// `ansible-inventory` read each back, and check it against `want`.
fn check_with_ansible(dir: &Dir, cwd: &Path, spec_args: &[&str], want: &Expected) {
    let mut from_yaml = None;
    for (format, suffix, plugin) in FORMATS {
        let file = dir.join(suffix);
        let file_arg = file.to_str().expect("utf-8 temp path");
        util::TestCommand::new(util::virtstrap(), cwd)
            .args(["inventory", "--planned", "--format", format, "-o", file_arg])
            .args(spec_args)
            .run()
            .assert_ok()
            .assert_stdout_starts_with(&format!("wrote {file_arg} ({format}): "));
        let path = if plugin == "script" {
            script(dir, &file)
        } else {
            file.clone()
        };
        let list = ansible_list(dir, &path, plugin);
        for (group, hosts) in want.groups {
            let want_hosts: BTreeSet<String> = hosts.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                members(&list, group),
                want_hosts,
                "{format}: group {group}\n{list:#}"
            );
        }
        assert_eq!(
            list["_meta"]["hostvars"], want.hostvars,
            "{format}: hostvars"
        );
        match format {
            "kubespray" => from_yaml = Some(list),
            // the JSON is what ansible-inventory prints for the YAML
            "json" => {
                let ours: Value = serde_json::from_str(&fs::read_to_string(&file).expect("read"))
                    .expect("our JSON parses");
                assert_eq!(Some(ours), from_yaml, "the JSON is not the YAML's --list");
            }
            _ => {}
        }
    }
}

/// A dynamic inventory script that answers `--list` with `json`.
fn script(dir: &Dir, json: &Path) -> PathBuf {
    let path = dir.join("inventory.sh");
    let text = format!(
        "#!/bin/sh\n# --list prints the file; its _meta spares Ansible the --host calls\n\
         [ \"$1\" = --list ] && exec cat '{}'\necho '{{}}'\n",
        json.display()
    );
    fs::write(&path, text).expect("write the inventory script");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn ansible_reads_the_demo_in_every_format() {
    let want = Expected {
        groups: [
            ("kube_control_plane", &["cp1"]),
            ("kube_node", &["worker1", "worker2"]),
            ("etcd", &["cp1"]),
            ("k8s_cluster", &["cp1", "worker1", "worker2"]),
            ("ungrouped", &[]),
        ],
        hostvars: json!({
            "cp1": vars(Some("192.168.150.10"), Some("etcd1")),
            "worker1": vars(Some("192.168.150.2"), None),
            "worker2": vars(Some("192.168.150.3"), None),
        }),
    };
    check_with_ansible(&Dir::new(), &workspace(), DEMO.spec_args, &want);
}

#[test]
fn ansible_reads_the_seed_host_without_address_in_every_format() {
    let want = Expected {
        groups: [
            ("kube_control_plane", &["master1"]),
            ("kube_node", &[]),
            ("etcd", &["master1"]),
            ("k8s_cluster", &["master1"]),
            ("ungrouped", &[]),
        ],
        hostvars: json!({ "master1": vars(None, Some("etcd1")) }),
    };
    check_with_ansible(&Dir::new(), &workspace(), SEED.spec_args, &want);
}

/// Node names YAML 1.1 reads as a boolean (`no`) or a number (`1000`)
/// unless quoted, etcd on nodes of its own (INI `[etcd]`, not
/// `[etcd:children]`), a node with both roles and one with none.
#[test]
fn ansible_reads_names_yaml_would_misread_own_etcd_and_a_roleless_node() {
    let dir = Dir::new();
    dir.write(
        "cluster.yaml",
        "name: odd\nimage: { pool: default, volume: b.qcow2 }\n\
         defaults: { networks: [ k8s ] }\nnodes:\n\
         \x20 - { name: \"no\", roles: [ control-plane, worker ] }\n\
         \x20 - { name: \"1000\" }\n\
         \x20 - { name: e, role: etcd, count: 3 }\n\
         \x20 - { name: lb, roles: [] }\n\
         networks: [ { name: k8s, mode: nat, cidr: 10.0.0.0/24 } ]\n",
    );
    let want = Expected {
        groups: [
            ("kube_control_plane", &["no"]),
            ("kube_node", &["no", "1000"]),
            ("etcd", &["e1", "e2", "e3"]),
            ("k8s_cluster", &["no", "1000"]),
            ("ungrouped", &["lb"]),
        ],
        hostvars: json!({
            "no": vars(Some("10.0.0.2"), None),
            "1000": vars(Some("10.0.0.3"), None),
            "e1": vars(Some("10.0.0.4"), Some("etcd1")),
            "e2": vars(Some("10.0.0.5"), Some("etcd2")),
            "e3": vars(Some("10.0.0.6"), Some("etcd3")),
            "lb": vars(Some("10.0.0.7"), None),
        }),
    };
    check_with_ansible(&Dir::new(), dir.path(), &[], &want);
}

// ---- the command's edges

#[test]
fn output_file_holds_what_stdout_would_and_is_0644() {
    let dir = Dir::new();
    let spec = workspace().join("crates/virtstrap/tests/fixtures/demo/cluster.yaml");
    let spec = spec.to_str().expect("utf-8 path");
    let stdout = dir
        .command()
        .args(["inventory", "--planned", "-f", spec])
        .run();
    stdout.assert_ok();
    dir.write("hosts.yaml", "an older inventory\n");
    dir.command()
        .args(["inventory", "--planned", "-f", spec, "-o", "hosts.yaml"])
        .run()
        .assert_ok()
        .assert_stdout_contains("wrote hosts.yaml (kubespray): 3 hosts; kube_control_plane: cp1; ")
        .assert_stderr_empty();
    assert_eq!(dir.read("hosts.yaml"), stdout.stdout());
    let mode = fs::metadata(dir.join("hosts.yaml"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o7133,
        0,
        "rw for the owner, no more than r for others: {mode:o}"
    );
    assert_eq!(mode & 0o600, 0o600, "{mode:o}");
    let left: Vec<_> = fs::read_dir(dir.path()).expect("read_dir").collect();
    assert_eq!(left.len(), 1, "no temporary file left behind");
}

/// Without --planned the host is read (here libvirt's test driver, which
/// has none of the demo's domains: every node is listed at its reserved
/// address); a host that cannot be reached is exit 1 and writes nothing.
#[test]
fn without_planned_it_reads_the_host_and_a_dead_uri_writes_nothing() {
    let dir = Dir::new();
    let spec = workspace().join("crates/virtstrap/tests/fixtures/demo/cluster.yaml");
    let spec = spec.to_str().expect("utf-8 path");
    dir.command()
        .args([
            "inventory",
            "-f",
            spec,
            "--connect",
            "test:///default",
            "-o",
            "hosts.yaml",
        ])
        .run()
        .assert_ok();
    let planned = dir
        .command()
        .args(["inventory", "-f", spec, "--planned"])
        .run()
        .assert_ok()
        .stdout();
    assert_eq!(
        dir.read("hosts.yaml"),
        planned,
        "no domain there: the reservations"
    );
    dir.command()
        .args([
            "inventory",
            "-f",
            spec,
            "--connect",
            "bogus:///x",
            "-o",
            "other.yaml",
        ])
        .run()
        .assert_exit(1)
        .assert_stderr_starts_with("error: cannot connect to bogus:///x")
        .assert_stdout_empty();
    assert!(!dir.join("other.yaml").exists());
}

#[test]
fn a_bad_spec_is_exit_2() {
    let dir = Dir::new();
    dir.write("cluster.yaml", "name: x\nnodes: 3\n");
    dir.command()
        .args(["inventory", "--planned"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("cluster.yaml:")
        .assert_stdout_empty();
}

/// Two control-plane nodes and no etcd role: `validate` and `inventory`
/// warn, naming both, and still succeed.
#[test]
fn an_even_etcd_group_is_a_warning_naming_its_members() {
    let dir = Dir::new();
    dir.write(
        "cluster.yaml",
        "name: two\nimage: { pool: default, volume: b.qcow2 }\nnodes:\n\
         \x20 - { name: cp, role: control-plane, count: 2 }\n\x20 - { name: w }\n",
    );
    let warning = "warning: the etcd group would have 2 members (cp1, cp2: the \
                   control-plane nodes, as no node has role etcd), and kubespray refuses \
                   an even number";
    let todo =
        "\n  add or remove a control-plane node, or give role etcd to an odd number of nodes\n";
    for args in [&["validate"][..], &["inventory", "--planned"]] {
        dir.command()
            .args(args)
            .run()
            .assert_ok()
            .assert_stderr_contains(warning)
            .assert_stderr_contains(todo);
    }
}

#[test]
fn help_teaches_and_fits_80_columns() {
    for columns in ["80", "200"] {
        let out = Dir::new()
            .command()
            .args(["inventory", "--help"])
            .env("COLUMNS", columns)
            .run();
        out.assert_ok()
            .assert_stdout_contains("--planned")
            .assert_stdout_contains("kube_control_plane")
            .assert_stdout_contains("Examples:");
        for line in out.stdout().lines() {
            let width = line.chars().count();
            out.assert(
                width <= 80,
                &format!("at most 80 columns, not {width}: {line:?}"),
            );
        }
    }
}
