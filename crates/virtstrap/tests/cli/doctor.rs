//! `virtstrap doctor` and the preflight refusals of `plan` and `apply`,
//! on libvirt's in-process `test:///default` driver: its capabilities
//! list no kvm domain (KVM is not usable there), it has the pool
//! `default-pool` and the network `default`. Its pools are not
//! directories of this machine, so the pool-path checks are skipped here
//! (the 0700-parent case runs on the real daemon, tests/system/doctor.sh,
//! and in the preflight's unit tests on a tempdir tree).

use crate::util::{Dir, Outcome};

const URI: &str = "test:///default";

/// A one-node spec on the test driver's pool and network, plus `extra`
/// under `defaults:`.
fn spec(dir: &Dir, extra: &str) {
    dir.write("vmlinuz", "a kernel");
    dir.write(
        "cluster.yaml",
        &format!(
            "name: dt\nnodes:\n  - name: a\n    boot: {{kernel: vmlinuz}}\n\
             defaults:\n  disk: {{pool: default-pool, size: 1GiB}}\n  networks: [default]\n{extra}"
        ),
    );
}

fn doctor(dir: &Dir, args: &[&str]) -> Outcome {
    dir.command()
        .args(["doctor", "--connect", URI])
        .args(args)
        .run()
}

/// The line of check `name`, asserting its outcome.
fn line(out: &Outcome, outcome: &str, name: &str) -> String {
    let stdout = out.stdout();
    let found = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{outcome}  {name}  ")))
        .map(str::to_string);
    out.assert(found.is_some(), &format!("a line `{outcome}  {name}  ...`"));
    found.unwrap_or_default()
}

#[test]
fn without_a_spec_only_the_host_is_checked() {
    let dir = Dir::new();
    let out = doctor(&dir, &[]);
    out.assert_exit(0);
    line(&out, "pass", "daemon");
    line(&out, "pass", "versions");
    assert!(line(&out, "warn", "kvm").contains("not usable"));
    assert!(out.stdout().contains("fix: use `domain_type: qemu`"));
    assert!(line(&out, "skip", "qemu user").contains("test driver"));
    assert!(line(&out, "skip", "fw_cfg").contains("TEST driver"));
    out.assert(!out.stdout().contains("  pools  "), "no spec checks");
}

#[test]
fn kvm_asked_for_fails_doctor_and_is_refused_by_plan_and_apply() {
    let dir = Dir::new();
    spec(&dir, "");
    let out = doctor(&dir, &[]);
    out.assert_exit(1).assert_stderr_contains("1 check failed");
    let kvm = line(&out, "fail", "kvm");
    assert!(kvm.contains("node a asks for domain_type kvm"), "{kvm}");
    assert!(line(&out, "pass", "pools").contains("default-pool active"));
    assert!(line(&out, "pass", "networks").contains("default active"));
    assert!(line(&out, "skip", "traverse default-pool").contains("test driver"));
    assert!(line(&out, "pass", "space default-pool").contains("100.0 GiB free"));
    for args in [&["plan"][..], &["apply", "--yes"]] {
        dir.command()
            .args(args)
            .args(["--connect", URI])
            .run()
            .assert_exit(2)
            .assert_stderr_contains("set `domain_type: qemu` under `defaults:`")
            .assert_stderr_contains("nothing was changed");
    }
}

#[test]
fn a_spec_this_host_runs_passes_and_plans() {
    let dir = Dir::new();
    spec(&dir, "  domain_type: qemu\n");
    let out = doctor(&dir, &[]);
    out.assert_exit(0);
    assert!(line(&out, "pass", "kvm").contains("no node asks for it"));
    line(&out, "pass", "base image");
    dir.command()
        .args(["plan", "--connect", URI])
        .run()
        .assert_exit(0)
        .assert_stdout_contains("dt-a");
}

#[test]
fn missing_pools_and_networks_fail_and_overcommitted_disks_warn_in_json_too() {
    let dir = Dir::new();
    dir.write("vmlinuz", "a kernel");
    dir.write(
        "cluster.yaml",
        "name: dt\ndefaults: {domain_type: qemu, boot: {kernel: vmlinuz}}\nnodes:\n\
         - {name: a, disk: {pool: nope, size: 1GiB}, networks: [nonet]}\n\
         - {name: b, count: 3, disk: {pool: default-pool, size: 60GiB}, networks: [default]}\n",
    );
    let out = doctor(&dir, &["--output", "json"]);
    out.assert_exit(1);
    let v = out.stdout_json();
    let checks = v["checks"].as_array().cloned().unwrap_or_default();
    let get = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no check {name} in {v:#}"))
    };
    let pools = get("pools");
    assert_eq!(pools["outcome"], "fail");
    assert!(pools["detail"]
        .as_str()
        .unwrap_or("")
        .contains("pool nope does not exist"));
    assert!(pools["fix"]
        .as_str()
        .unwrap_or("")
        .contains("pool-define-as nope"));
    assert_eq!(get("networks")["outcome"], "fail");
    let space = get("space default-pool");
    assert_eq!(space["outcome"], "warn", "{space:#}");
    assert!(
        space["detail"]
            .as_str()
            .unwrap_or("")
            .contains("may grow to 180.0 GiB"),
        "{space:#}"
    );
    assert_eq!(space["refuses_apply"], false);
    assert_eq!(v["uri"], URI);
}
