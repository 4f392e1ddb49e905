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

/// One run of `virtstrap validate` and what it must print on stderr.
struct Report<'a> {
    /// Names the row in a failure.
    name: &'a str,
    /// Files written into the row's own directory first: (path, text).
    files: &'a [(&'a str, &'a str)],
    /// The arguments, `validate` included.
    args: &'a [&'a str],
    /// The exit code; when it is not 0, stdout must be empty too.
    code: i32,
    /// What stderr begins with ("" for anything).
    starts: &'a str,
    /// What stderr holds, each somewhere.
    stderr: &'a [&'a str],
}

impl Report<'_> {
    /// Run the row in a new directory; `Err` says what did not hold.
    fn check(&self) -> Result<(), String> {
        let dir = Dir::new();
        for (path, text) in self.files {
            dir.write(path, text);
        }
        let out = dir.command().args(self.args).run();
        out.check_exit(self.code)?;
        if self.code != 0 {
            out.check_stdout_empty()?;
        }
        out.check_stderr_starts_with(self.starts)?;
        self.stderr
            .iter()
            .try_for_each(|part| out.check_stderr_contains(part))
    }
}

/// Every problem `validate` reports: spec problems with `file:line:col`
/// and a key path, Butane problems with the Butane file's path and
/// position, each with exit 2; Butane warnings with exit 0.
#[test]
fn validate_reports() {
    let vars = seed_vars();
    let rows = [
        Report {
            name: "every spec problem, each with its position",
            files: &[(
                "bad.yaml",
                "name: demo\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n    vcpus: 0\n  - name: a\n    memroy: 4GiB\nnetworks:\n  - {name: n, cidr: 10.0.0.1/24}\n",
            )],
            args: &["validate", "-f", "bad.yaml"],
            code: 2,
            starts: "the spec has ",
            stderr: &[
                "bad.yaml:5:12: $.nodes.0.vcpus: vcpus 0 is out of range (1 to 1024)",
                "bad.yaml:6:11: $.nodes.1.name: node a clashes with the node at line 4",
                "bad.yaml:7:5: $.nodes.1.memroy: unknown key memroy (did you mean memory?)",
                "bad.yaml:9:21: $.networks.0.cidr: 10.0.0.1/24 has host bits set",
            ],
        },
        Report {
            name: "a YAML syntax error",
            files: &[("cluster.yaml", "name: demo\nnodes:\n\t- name: a\n")],
            args: &["validate"],
            code: 2,
            starts: "",
            stderr: &["cluster.yaml:3:1: $: YAML syntax"],
        },
        Report {
            name: "no spec at all",
            files: &[],
            args: &["validate"],
            code: 2,
            starts: "",
            stderr: &["cluster.yaml: $: cannot read the spec"],
        },
        Report {
            name: "a bad Butane file the spec names, by path and key",
            files: &[
                (
                    "bu/node.bu",
                    "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: etc/a\n",
                ),
                (
                    "cluster.yaml",
                    "name: demo\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n    butane: bu/node.bu\n",
                ),
            ],
            args: &["validate"],
            code: 2,
            starts: "",
            stderr: &["bu/node.bu", "$.storage.files.0.path", "line 5 col 13"],
        },
        Report {
            name: "a bad Butane file given on the command line",
            files: &[(
                "extra.bu",
                "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - enabled: true\n",
            )],
            args: &["validate", "-f", &vars, "--butane", "extra.bu"],
            code: 2,
            starts: "",
            stderr: &["extra.bu", "$.systemd.units.0"],
        },
        // an unknown key is a warning, as Butane itself treats it: printed
        // with the file, key path and position, and the spec still validates
        Report {
            name: "a Butane warning",
            files: &[(
                "extra.bu",
                "variant: fcos\nversion: 1.4.0\npasswd:\n  userz: []\n",
            )],
            args: &["validate", "-f", &vars, "--butane", "extra.bu"],
            code: 0,
            starts: "",
            stderr: &["extra.bu: warning at $.passwd.userz, line 4 col 3"],
        },
        Report {
            name: "a missing Butane file the spec names",
            files: &[(
                "cluster.yaml",
                "name: demo\nimage: {pool: default, volume: v}\nbutane: [gone.bu]\nnodes:\n  - name: a\n",
            )],
            args: &["validate"],
            code: 2,
            starts: "",
            stderr: &["cluster.yaml:3:10: $.butane.0: file"],
        },
    ];
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            row.check()
                .err()
                .map(|e| format!("row {:?}: {e}", row.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
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

#[test]
fn init_writes_the_users_own_key_and_without_one_says_how_to_make_it() {
    let dir = Dir::new();
    dir.write("home/.ssh/id_rsa.pub", "ssh-rsa AAAArsa me@box\n");
    dir.write("home/.ssh/id_ed25519.pub", "ssh-ed25519 AAAAmine me@box\n");
    let home = dir.join("home");
    dir.command()
        .env("HOME", home.to_str().expect("utf-8"))
        .args(["init", "a"])
        .run()
        .assert_exit(0)
        .assert_stdout_contains("SSH key: yours, from");
    let spec = dir.read("a/cluster.yaml");
    assert!(spec.contains("  - ssh-ed25519 AAAAmine me@box\n"), "{spec}");
    assert!(!spec.contains("ReplaceWithYourOwnKey"), "{spec}");
    dir.command()
        .env("HOME", dir.join("nobody").to_str().expect("utf-8"))
        .args(["init", "b"])
        .run()
        .assert_exit(0)
        .assert_stderr_contains("ssh-keygen -t ed25519");
}
