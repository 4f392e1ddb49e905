//! `virtstrap init` and `virtstrap validate`: the starter files validate,
//! `init` never overwrites without `--force`, spec and Butane problems come
//! out as `file:line:col` lines with exit 2, the write-up's vars file
//! validates, and every command's help fits in 80 columns.

use crate::util::{virtstrap, workspace, Dir, TestCommand};

const STARTER: &[&str] = &["cluster.yaml", "common.bu", "control-plane.bu"];

/// The write-up's vars file, as an absolute path.
fn seed_vars() -> String {
    let vars = workspace().join("examples/seed/vars.yml");
    vars.to_str().expect("utf-8 path").to_owned()
}

/// The starter files in `dir`, in [`STARTER`]'s order.
fn starter_files(dir: &Dir) -> Vec<String> {
    STARTER.iter().map(|f| dir.read(f)).collect()
}

#[test]
fn init_writes_files_that_validate() {
    let dir = Dir::new();
    let out = dir.command().args(["init", "site"]).run();
    out.assert_exit(0);
    for f in STARTER {
        out.assert(dir.join("site").join(f).is_file(), &format!("{f} written"))
            .assert_stdout_contains(f);
    }
    let entries = std::fs::read_dir(dir.join("site"))
        .expect("read_dir")
        .count();
    assert_eq!(entries, 3);
    dir.command()
        .args(["validate", "-f", "site/cluster.yaml"])
        .run()
        .assert_exit(0)
        .assert_stdout_contains("site/cluster.yaml: valid")
        .assert_stdout_contains("3 nodes");
}

#[test]
fn init_defaults_to_the_current_directory_and_validate_to_cluster_yaml() {
    let dir = Dir::new();
    dir.command().args(["init"]).run().assert_exit(0);
    for f in STARTER {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    dir.command()
        .args(["validate"])
        .run()
        .assert_exit(0)
        .assert_stdout_starts_with("cluster.yaml: valid");
}

#[test]
fn init_refuses_to_overwrite_and_changes_nothing() {
    let dir = Dir::new();
    dir.command().args(["init"]).run().assert_exit(0);
    dir.write("cluster.yaml", "# mine\n");
    let before = starter_files(&dir);
    dir.command()
        .args(["init"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("already exist")
        .assert_stderr_contains("--force")
        .assert_stdout_empty();
    assert_eq!(before, starter_files(&dir));
}

#[test]
fn init_refuses_when_any_file_exists_and_writes_none() {
    let dir = Dir::new();
    dir.write("common.bu", "mine\n");
    dir.command()
        .args(["init"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("common.bu");
    assert_eq!(dir.read("common.bu"), "mine\n");
    assert!(!dir.join("cluster.yaml").exists());
    assert!(!dir.join("control-plane.bu").exists());
}

#[test]
fn init_force_overwrites() {
    let dir = Dir::new();
    dir.command().args(["init"]).run().assert_exit(0);
    let original = dir.read("cluster.yaml");
    dir.write("cluster.yaml", "# mine\n");
    dir.command().args(["init", "--force"]).run().assert_exit(0);
    assert_eq!(dir.read("cluster.yaml"), original);
    dir.command().args(["validate"]).run().assert_exit(0);
}

#[test]
fn validate_reports_every_spec_problem_with_position() {
    let dir = Dir::new();
    dir.write(
        "bad.yaml",
        "name: demo\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n    vcpus: 0\n  - name: a\n    memroy: 4GiB\nnetworks:\n  - {name: n, cidr: 10.0.0.1/24}\n",
    );
    let out = dir.command().args(["validate", "-f", "bad.yaml"]).run();
    out.assert_exit(2).assert_stdout_empty();
    for line in [
        "bad.yaml:5:12: $.nodes.0.vcpus: vcpus 0 is out of range (1 to 1024)",
        "bad.yaml:6:11: $.nodes.1.name: node a clashes with the node at line 4",
        "bad.yaml:7:5: $.nodes.1.memroy: unknown key memroy (did you mean memory?)",
        "bad.yaml:9:21: $.networks.0.cidr: 10.0.0.1/24 has host bits set",
    ] {
        out.assert_stderr_contains(line);
    }
    out.assert_stderr_starts_with("the spec has ");
}

#[test]
fn validate_reports_a_yaml_syntax_error() {
    let dir = Dir::new();
    dir.write("cluster.yaml", "name: demo\nnodes:\n\t- name: a\n");
    dir.command()
        .args(["validate"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("cluster.yaml:3:1: $: YAML syntax");
}

#[test]
fn validate_without_a_spec_exits_2() {
    let dir = Dir::new();
    dir.command()
        .args(["validate"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("cluster.yaml: $: cannot read the spec");
}

#[test]
fn validate_reports_a_bad_butane_file_by_path_and_key() {
    let dir = Dir::new();
    dir.write(
        "bu/node.bu",
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: etc/a\n",
    );
    dir.write(
        "cluster.yaml",
        "name: demo\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n    butane: bu/node.bu\n",
    );
    dir.command()
        .args(["validate"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("bu/node.bu")
        .assert_stderr_contains("$.storage.files.0.path")
        .assert_stderr_contains("line 5 col 13")
        .assert_stdout_empty();
}

#[test]
fn validate_reports_a_bad_butane_file_given_on_the_command_line() {
    let dir = Dir::new();
    dir.write(
        "extra.bu",
        "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - enabled: true\n",
    );
    dir.command()
        .args(["validate", "-f", &seed_vars(), "--butane", "extra.bu"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("extra.bu")
        .assert_stderr_contains("$.systemd.units.0");
}

/// Butane warnings (an unknown key, as Butane itself treats it) are
/// printed with the file, key path and position; the spec still validates.
#[test]
fn validate_prints_butane_warnings_and_succeeds() {
    let dir = Dir::new();
    dir.write(
        "extra.bu",
        "variant: fcos\nversion: 1.4.0\npasswd:\n  userz: []\n",
    );
    dir.command()
        .args(["validate", "-f", &seed_vars(), "--butane", "extra.bu"])
        .run()
        .assert_exit(0)
        .assert_stderr_contains("extra.bu: warning at $.passwd.userz, line 4 col 3");
}

#[test]
fn validate_reports_a_missing_butane_file_in_the_spec() {
    let dir = Dir::new();
    dir.write(
        "cluster.yaml",
        "name: demo\nimage: {pool: default, volume: v}\nbutane: [gone.bu]\nnodes:\n  - name: a\n",
    );
    dir.command()
        .args(["validate"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("cluster.yaml:3:10: $.butane.0: file");
}

#[test]
fn validate_seed_vars_with_butane() {
    TestCommand::new(virtstrap(), workspace())
        .args([
            "validate",
            "-f",
            "examples/seed/vars.yml",
            "--butane",
            "examples/seed/node.bu",
        ])
        .run()
        .assert_exit(0)
        .assert_stdout_contains(
            "examples/seed/vars.yml: valid: cluster cluster, 1 node (1 control-plane",
        );
}

#[test]
fn validate_vars_file_with_a_name() {
    TestCommand::new(virtstrap(), workspace())
        .args([
            "validate",
            "-f",
            "examples/seed/vars.yml",
            "--name",
            "potato",
        ])
        .run()
        .assert_exit(0)
        .assert_stdout_contains("cluster potato");
}

/// Every line of every command's help fits in 80 columns, whatever the
/// terminal width.
#[test]
fn help_exits_0_and_fits_80_columns() {
    let dir = Dir::new();
    let invocations: &[&[&str]] = &[
        &["--help"],
        &["-h"],
        &["help"],
        &["init", "--help"],
        &["init", "-h"],
        &["validate", "--help"],
        &["validate", "-h"],
        &["butane", "--help"],
        &["help", "init"],
        &["help", "validate"],
    ];
    for args in invocations {
        for columns in ["80", "200"] {
            let out = dir.command().args(*args).env("COLUMNS", columns).run();
            out.assert_exit(0).assert_stdout_contains("Usage:");
            for line in out.stdout().lines() {
                let width = line.chars().count();
                out.assert(
                    width <= 80,
                    &format!("at most 80 columns, not {width}: {line:?}"),
                );
            }
        }
    }
}
