//! `virtstrap` runs its libvirt commands in `virtstrap-host` (so the
//! other commands start without loading libvirt): the hand-over keeps
//! arguments, exit codes and output, and only `virtstrap-host` loads
//! libvirt's client library.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn virtstrap() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_virtstrap"))
}

fn host() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_virtstrap-host"))
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/cluster.yaml")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(exe: &Path, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .env_remove("LIBVIRT_DEFAULT_URI")
        .output()
        .expect("run")
}

/// Run `virtstrap COMMAND --connect URI -f <demo spec>`.
fn on_demo(command: &str, uri: &str) -> Output {
    let demo = demo();
    run(
        &virtstrap(),
        &[
            command,
            "--connect",
            uri,
            "-f",
            demo.to_str().expect("utf-8"),
        ],
    )
}

/// The shared objects the dynamic loader maps for `exe` (what ldd lists).
fn loaded_objects(exe: &Path) -> String {
    let out = Command::new(exe)
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .output()
        .expect("run with LD_TRACE_LOADED_OBJECTS");
    text(&out.stdout)
}

#[test]
fn only_virtstrap_host_loads_libvirt() {
    let front = loaded_objects(&virtstrap());
    assert!(front.contains("libc.so"), "loader listing: {front}");
    assert!(
        !front.contains("libvirt"),
        "virtstrap loads libvirt:\n{front}"
    );
    let back = loaded_objects(&host());
    assert!(back.contains("libvirt.so"), "loader listing: {back}");
}

#[test]
fn status_is_handed_over_with_its_arguments_and_output() {
    let demo = demo();
    let args = [
        "status",
        "--connect",
        "test:///default",
        "-f",
        demo.to_str().expect("utf-8 path"),
        "--output",
        "json",
    ];
    let front = run(&virtstrap(), &args);
    let back = run(&host(), &args);
    assert_eq!(front.status.code(), Some(0), "{}", text(&front.stderr));
    assert_eq!(text(&front.stdout), text(&back.stdout));
    let v: serde_json::Value = serde_json::from_slice(&front.stdout).expect("json");
    let nodes = v
        .as_array()
        .or_else(|| v["nodes"].as_array())
        .expect("nodes");
    assert_eq!(nodes.len(), 3, "{v}");
}

#[test]
fn plan_errors_keep_their_exit_code_through_the_hand_over() {
    // test:///default has no `default` pool with the demo's base image
    let out = on_demo("plan", "test:///default");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("base image"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_of_host_commands_name_virtstrap() {
    let out = run(&virtstrap(), &["apply", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("virtstrap apply"), "{err}");
    assert!(!err.contains("virtstrap-host"), "{err}");
}

#[test]
fn a_missing_virtstrap_host_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lone = dir.path().join("virtstrap");
    std::fs::copy(virtstrap(), &lone).expect("copy virtstrap alone");
    let out = run(&lone, &["status", "--connect", "test:///default"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("virtstrap-host") && err.contains("next to virtstrap"),
        "{err}"
    );
    // the commands that need no libvirt still work alone
    let out = run(&lone, &["butane", "--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn status_text_columns_line_up_with_the_header() {
    let out = on_demo("status", "test:///default");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let header = lines.next().expect("header");
    // right-aligned columns end where their heading ends
    let end = |h: &str| header.find(h).expect("heading") + h.len();
    for row in lines {
        for (heading, value) in [("VCPUS", "2"), ("MEMORY", "MiB"), ("DISK", "GiB")] {
            let at = end(heading);
            assert!(
                row[..at].ends_with(value),
                "column {heading} of {row:?} does not end at {at}:\n{stdout}"
            );
        }
    }
}

#[test]
fn an_unreachable_uri_is_one_clear_line_and_exit_1() {
    let out = on_demo("plan", "bogus:///x");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: cannot connect to bogus:///x: "),
        "{err}"
    );
    assert!(
        err.contains("--connect") && err.contains("LIBVIRT_DEFAULT_URI"),
        "{err}"
    );
    assert_eq!(
        err.matches("bogus:///x").count(),
        2,
        "said once by us, once by libvirt: {err}"
    );
}
