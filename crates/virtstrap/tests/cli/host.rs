//! `virtstrap` runs its libvirt commands in `virtstrap-host` (so the
//! other commands start without loading libvirt): the hand-over keeps
//! arguments, exit codes and output, and only `virtstrap-host` loads
//! libvirt's client library. The libvirt they reach is the in-process
//! `test:///default` driver, or a URI that does not exist.

use std::path::Path;

use crate::util::{virtstrap, virtstrap_host, workspace, Dir, Outcome, TestCommand};

/// The demo spec, as an absolute path.
fn demo() -> String {
    let demo = workspace().join("crates/virtstrap/tests/fixtures/demo/cluster.yaml");
    demo.to_str().expect("utf-8 path").to_owned()
}

/// Run `virtstrap COMMAND --connect URI -f <demo spec>` in `dir`.
fn on_demo(dir: &Dir, command: &str, uri: &str) -> Outcome {
    dir.command()
        .args([command, "--connect", uri, "-f", &demo()])
        .run()
}

/// The shared objects the dynamic loader maps for `exe` (what ldd lists).
fn loaded_objects(exe: &Path) -> String {
    let dir = Dir::new();
    TestCommand::new(exe, dir.path())
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .run()
        .stdout()
}

#[test]
fn only_virtstrap_host_loads_libvirt() {
    let front = loaded_objects(&virtstrap());
    assert!(front.contains("libc.so"), "loader listing: {front}");
    assert!(
        !front.contains("libvirt"),
        "virtstrap loads libvirt:\n{front}"
    );
    let back = loaded_objects(&virtstrap_host());
    assert!(back.contains("libvirt.so"), "loader listing: {back}");
}

#[test]
fn status_is_handed_over_with_its_arguments_and_output() {
    let dir = Dir::new();
    let demo = demo();
    let args = [
        "status",
        "--connect",
        "test:///default",
        "-f",
        &demo,
        "--output",
        "json",
    ];
    let front = dir.command().args(args).run();
    let back = dir.host_command().args(args).run();
    front.assert_exit(0).assert_same_stdout(&back);
    let v = front.stdout_json();
    let nodes = v
        .as_array()
        .or_else(|| v["nodes"].as_array())
        .expect("nodes");
    assert_eq!(nodes.len(), 3, "{v}");
}

#[test]
fn plan_errors_keep_their_exit_code_through_the_hand_over() {
    // test:///default has no `default` pool with the demo's base image
    let dir = Dir::new();
    on_demo(&dir, "plan", "test:///default")
        .assert_exit(2)
        .assert_stderr_contains("base image");
}

#[test]
fn usage_errors_of_host_commands_name_virtstrap() {
    let dir = Dir::new();
    let out = dir.command().args(["apply", "--no-such-flag"]).run();
    out.assert_exit(2)
        .assert_stderr_contains("virtstrap apply")
        .assert(
            !out.stderr().contains("virtstrap-host"),
            "stderr not to name virtstrap-host",
        );
}

#[test]
fn a_missing_virtstrap_host_is_a_clear_error() {
    let dir = Dir::new();
    let lone = dir.join("virtstrap");
    std::fs::copy(virtstrap(), &lone).expect("copy virtstrap alone");
    TestCommand::new(&lone, dir.path())
        .args(["status", "--connect", "test:///default"])
        .run()
        .assert_exit(1)
        .assert_stderr_contains("virtstrap-host")
        .assert_stderr_contains("next to virtstrap");
    // the commands that need no libvirt still work alone
    TestCommand::new(&lone, dir.path())
        .args(["butane", "--help"])
        .run()
        .assert_exit(0);
}

#[test]
fn status_text_columns_line_up_with_the_header() {
    let dir = Dir::new();
    let out = on_demo(&dir, "status", "test:///default");
    out.assert_exit(0);
    let stdout = out.stdout();
    let mut lines = stdout.lines();
    let header = lines.next().expect("header");
    // right-aligned columns end where their heading ends
    let end = |h: &str| header.find(h).expect("heading") + h.len();
    for row in lines {
        for (heading, value) in [("VCPUS", "2"), ("MEMORY", "MiB"), ("DISK", "GiB")] {
            let at = end(heading);
            out.assert(
                row[..at].ends_with(value),
                &format!("column {heading} of {row:?} to end at {at}"),
            );
        }
    }
}

#[test]
fn an_unreachable_uri_is_one_clear_line_and_exit_1() {
    let dir = Dir::new();
    let out = on_demo(&dir, "plan", "bogus:///x");
    out.assert_exit(1)
        .assert_stderr_starts_with("error: cannot connect to bogus:///x: ")
        .assert_stderr_contains("--connect")
        .assert_stderr_contains("LIBVIRT_DEFAULT_URI");
    let said = out.stderr().matches("bogus:///x").count();
    out.assert(
        said == 2,
        "bogus:///x said twice: once by us, once by libvirt",
    );
}

/// A spec over several hosts: a host that does not answer stops plan and
/// apply (exit 1, named, nothing changed) unless --partial; status shows
/// what it can and fails naming the host; ssh names where the node is not.
#[test]
fn a_spec_over_several_hosts_with_one_down() {
    let dir = Dir::new();
    dir.write(
        "cluster.yaml",
        "name: multi\nimage: {pool: default-pool, volume: base.qcow2}\n\
         hosts:\n  a: test:///default\n  b: qemu+tcp://127.0.0.1:1/system\n\
         defaults: { disk: { pool: default-pool, size: 1GiB } }\n\
         nodes:\n  - { name: n, count: 2, placement: spread, networks: [], domain_type: qemu }\n",
    );
    dir.command()
        .args(["validate", "-f", "cluster.yaml"])
        .run()
        .assert_ok();
    for command in [&["plan"][..], &["apply", "--yes"]] {
        let out = dir
            .command()
            .args(command.iter().copied().chain(["-f", "cluster.yaml"]))
            .run();
        out.assert_exit(1);
        out.check_stderr_contains("host b (qemu+tcp://127.0.0.1:1/system) did not answer")
            .and_then(|()| out.check_stderr_contains("nothing was changed on any host"))
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    }
    let out = dir
        .command()
        .args(["apply", "--yes", "--partial", "-f", "cluster.yaml"])
        .run();
    out.check_stderr_contains("skipped host b")
        .and_then(|()| {
            out.check_stderr_contains(
                "skipped nodes that may be on a host that did not answer: n1, n2",
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.command().args(["status", "-f", "cluster.yaml"]).run();
    out.assert_exit(1).assert_stdout_contains("unknown");
    out.check_stderr_contains("status did not reach host b")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = dir
        .command()
        .args(["ssh", "n1", "-f", "cluster.yaml"])
        .run();
    out.assert_exit(1);
    out.check_stderr_contains("node n1 is on no host that answered (did not answer: b)")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = dir
        .command()
        .args(["ssh", "n9", "-f", "cluster.yaml"])
        .run();
    out.assert_exit(2);
    out.check_stderr_contains("no node \"n9\" in the spec; nodes: n1, n2")
        .unwrap_or_else(|e| panic!("{e}"));
}
