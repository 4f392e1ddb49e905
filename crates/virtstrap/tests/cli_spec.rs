//! `virtstrap init` and `virtstrap validate`, run as real processes in a
//! temporary directory: the starter files validate, `init` never
//! overwrites without `--force`, spec and Butane problems come out as
//! `file:line:col` lines with exit 2, the write-up's vars file validates,
//! and every command's help fits in 80 columns.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STARTER: &[&str] = &["cluster.yaml", "common.bu", "control-plane.bu"];

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_virtstrap"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `virtstrap args...` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env_remove("LIBVIRT_DEFAULT_URI")
        .output()
        .expect("run virtstrap")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn assert_code(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", describe(out));
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn write(p: &Path, s: &str) {
    fs::write(p, s).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

#[test]
fn init_writes_files_that_validate() {
    let dir = tempdir();
    let out = run(dir.path(), &["init", "site"]);
    assert_code(&out, 0);
    let site = dir.path().join("site");
    for f in STARTER {
        assert!(site.join(f).is_file(), "{f} missing\n{}", describe(&out));
        assert!(text(&out.stdout).contains(f), "{}", describe(&out));
    }
    let entries = fs::read_dir(&site).expect("read_dir").count();
    assert_eq!(entries, 3);
    let out = run(dir.path(), &["validate", "-f", "site/cluster.yaml"]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("site/cluster.yaml: valid"), "{stdout}");
    assert!(stdout.contains("3 nodes"), "{stdout}");
}

#[test]
fn init_defaults_to_the_current_directory_and_validate_to_cluster_yaml() {
    let dir = tempdir();
    assert_code(&run(dir.path(), &["init"]), 0);
    for f in STARTER {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).starts_with("cluster.yaml: valid"),
        "{}",
        describe(&out)
    );
}

#[test]
fn init_refuses_to_overwrite_and_changes_nothing() {
    let dir = tempdir();
    assert_code(&run(dir.path(), &["init"]), 0);
    let spec = dir.path().join("cluster.yaml");
    write(&spec, "# mine\n");
    let before: Vec<String> = STARTER.iter().map(|f| read(&dir.path().join(f))).collect();
    let out = run(dir.path(), &["init"]);
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("already exist"), "{}", describe(&out));
    assert!(stderr.contains("--force"), "{}", describe(&out));
    assert!(text(&out.stdout).is_empty(), "{}", describe(&out));
    let after: Vec<String> = STARTER.iter().map(|f| read(&dir.path().join(f))).collect();
    assert_eq!(before, after);
}

#[test]
fn init_refuses_when_any_file_exists_and_writes_none() {
    let dir = tempdir();
    write(&dir.path().join("common.bu"), "mine\n");
    let out = run(dir.path(), &["init"]);
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("common.bu"),
        "{}",
        describe(&out)
    );
    assert_eq!(read(&dir.path().join("common.bu")), "mine\n");
    assert!(!dir.path().join("cluster.yaml").exists());
    assert!(!dir.path().join("control-plane.bu").exists());
}

#[test]
fn init_force_overwrites() {
    let dir = tempdir();
    assert_code(&run(dir.path(), &["init"]), 0);
    let spec = dir.path().join("cluster.yaml");
    let original = read(&spec);
    write(&spec, "# mine\n");
    let out = run(dir.path(), &["init", "--force"]);
    assert_code(&out, 0);
    assert_eq!(read(&spec), original);
    assert_code(&run(dir.path(), &["validate"]), 0);
}

#[test]
fn validate_reports_every_spec_problem_with_position() {
    let dir = tempdir();
    write(
        &dir.path().join("bad.yaml"),
        "name: demo\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n    vcpus: 0\n  - name: a\n    memroy: 4GiB\nnetworks:\n  - {name: n, cidr: 10.0.0.1/24}\n",
    );
    let out = run(dir.path(), &["validate", "-f", "bad.yaml"]);
    assert_code(&out, 2);
    assert!(text(&out.stdout).is_empty(), "{}", describe(&out));
    let stderr = text(&out.stderr);
    for line in [
        "bad.yaml:5:12: $.nodes.0.vcpus: vcpus 0 is out of range (1 to 1024)",
        "bad.yaml:6:11: $.nodes.1.name: node a clashes with the node at line 4",
        "bad.yaml:7:5: $.nodes.1.memroy: unknown key memroy (did you mean memory?)",
        "bad.yaml:9:21: $.networks.0.cidr: 10.0.0.1/24 has host bits set",
    ] {
        assert!(stderr.contains(line), "want {line:?}\n{}", describe(&out));
    }
    assert!(stderr.starts_with("the spec has "), "{}", describe(&out));
}

#[test]
fn validate_reports_a_yaml_syntax_error() {
    let dir = tempdir();
    write(
        &dir.path().join("cluster.yaml"),
        "name: demo\nnodes:\n\t- name: a\n",
    );
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("cluster.yaml:3:1: $: YAML syntax"),
        "{}",
        describe(&out)
    );
}

#[test]
fn validate_without_a_spec_exits_2() {
    let dir = tempdir();
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("cluster.yaml: $: cannot read the spec"),
        "{}",
        describe(&out)
    );
}

#[test]
fn validate_seed_vars_with_butane() {
    let out = run(
        &workspace(),
        &[
            "validate",
            "-f",
            "examples/seed/vars.yml",
            "--butane",
            "examples/seed/node.bu",
        ],
    );
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("examples/seed/vars.yml: valid: cluster cluster, 1 node (1 control-plane"),
        "{}",
        describe(&out)
    );
}

#[test]
fn validate_vars_file_with_a_name() {
    let out = run(
        &workspace(),
        &[
            "validate",
            "-f",
            "examples/seed/vars.yml",
            "--name",
            "potato",
        ],
    );
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("cluster potato"),
        "{}",
        describe(&out)
    );
}

#[test]
fn validate_reports_a_bad_butane_file_by_path_and_key() {
    let dir = tempdir();
    fs::create_dir(dir.path().join("bu")).expect("mkdir");
    write(
        &dir.path().join("bu/node.bu"),
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: etc/a\n",
    );
    write(
        &dir.path().join("cluster.yaml"),
        "name: demo\nimage: {pool: default, volume: v}\nnodes:\n  - name: a\n    butane: bu/node.bu\n",
    );
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bu/node.bu"), "{}", describe(&out));
    assert!(
        stderr.contains("$.storage.files.0.path"),
        "{}",
        describe(&out)
    );
    assert!(stderr.contains("line 5 col 13"), "{}", describe(&out));
    assert!(text(&out.stdout).is_empty(), "{}", describe(&out));
}

#[test]
fn validate_reports_a_bad_butane_file_given_on_the_command_line() {
    let dir = tempdir();
    write(
        &dir.path().join("extra.bu"),
        "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - enabled: true\n",
    );
    let vars = workspace().join("examples/seed/vars.yml");
    let vars = vars.to_str().expect("utf-8 path");
    let out = run(
        dir.path(),
        &["validate", "-f", vars, "--butane", "extra.bu"],
    );
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("extra.bu"), "{}", describe(&out));
    assert!(stderr.contains("$.systemd.units.0"), "{}", describe(&out));
}

/// Butane warnings (an unknown key, as Butane itself treats it) are
/// printed with the file, key path and position; the spec still validates.
#[test]
fn validate_prints_butane_warnings_and_succeeds() {
    let dir = tempdir();
    write(
        &dir.path().join("extra.bu"),
        "variant: fcos\nversion: 1.4.0\npasswd:\n  userz: []\n",
    );
    let vars = workspace().join("examples/seed/vars.yml");
    let vars = vars.to_str().expect("utf-8 path");
    let out = run(
        dir.path(),
        &["validate", "-f", vars, "--butane", "extra.bu"],
    );
    assert_code(&out, 0);
    assert!(
        text(&out.stderr).contains("extra.bu: warning at $.passwd.userz, line 4 col 3"),
        "{}",
        describe(&out)
    );
}

#[test]
fn validate_reports_a_missing_butane_file_in_the_spec() {
    let dir = tempdir();
    write(
        &dir.path().join("cluster.yaml"),
        "name: demo\nimage: {pool: default, volume: v}\nbutane: [gone.bu]\nnodes:\n  - name: a\n",
    );
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("cluster.yaml:3:10: $.butane.0: file"),
        "{}",
        describe(&out)
    );
}

/// Every line of every command's help fits in 80 columns, whatever the
/// terminal width.
#[test]
fn help_exits_0_and_fits_80_columns() {
    let dir = tempdir();
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
            let out = Command::new(binary())
                .args(*args)
                .current_dir(dir.path())
                .env("COLUMNS", columns)
                .output()
                .expect("run virtstrap");
            assert_code(&out, 0);
            let stdout = text(&out.stdout);
            assert!(stdout.contains("Usage:"), "{args:?}\n{stdout}");
            for line in stdout.lines() {
                assert!(
                    line.chars().count() <= 80,
                    "{args:?} (COLUMNS={columns}): {} columns: {line:?}",
                    line.chars().count()
                );
            }
        }
    }
}
