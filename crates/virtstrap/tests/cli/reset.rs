//! `virtstrap reset` from the outside, on libvirt's test driver loaded
//! from a file this test writes (a host holding the cluster's node `n1`,
//! a stranger's domain named as node `n2`, no domain for `n3`): which
//! nodes it refuses and how, and that without a terminal it asks for
//! `--yes` instead of changing anything.

use crate::util::{Dir, Outcome};

const SPEC: &str = "name: vsr\n\
    image: { pool: default, volume: base.qcow2 }\n\
    defaults: { vcpus: 1, memory: 128MiB, disk: { pool: default, size: 1GiB } }\n\
    nodes: [ { name: n1 }, { name: n2 }, { name: n3 } ]\n";

const OWNER: &str = "https://virtstrap.dev/xmlns/owner/1";

fn domain(name: &str, metadata: &str) -> String {
    format!(
        "<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory>\
         <os><type>hvm</type></os><metadata>{metadata}</metadata></domain>"
    )
}

fn volume(name: &str) -> String {
    format!("<volume><name>{name}</name><capacity unit='bytes'>1048576</capacity></volume>")
}

/// The spec and the test driver's host file in `dir`; the URI of that host.
fn host(dir: &Dir) -> String {
    dir.write("cluster.yaml", SPEC);
    let vols = ["vsr-n1-root.qcow2", "vsr-n1.ign"];
    let record: String = vols
        .iter()
        .map(|v| format!("<vs:volume pool='default' name='{v}'/>"))
        .collect();
    let owned = format!(
        "<vs:owner xmlns:vs='{OWNER}' cluster='vsr' node='n1' spec-hash='s' \
         ignition-hash='i'>{record}</vs:owner>"
    );
    let volumes: String = ["base.qcow2", vols[0], vols[1]].map(volume).concat();
    let xml = format!(
        "<node>{}{}<pool type='dir'><name>default</name><target><path>/vsr-pool</path>\
         </target>{volumes}</pool></node>",
        domain("vsr-n1", &owned),
        domain("vsr-n2", "")
    );
    dir.write("host.xml", &xml);
    format!("test://{}", dir.join("host.xml").display())
}

fn reset(dir: &Dir, uri: &str, args: &[&str]) -> Outcome {
    dir.command()
        .args(["reset", "--connect", uri, "-f", "cluster.yaml"])
        .args(args)
        .run()
}

#[test]
fn without_a_terminal_reset_asks_for_yes_and_changes_nothing() {
    let dir = Dir::new();
    let uri = host(&dir);
    let out = reset(&dir, &uri, &["n1"]);
    out.assert_exit(2)
        .assert_stderr_contains("not a terminal")
        .assert_stderr_contains("pass --yes")
        .assert_stdout_contains("stop domain vsr-n1")
        .assert_stdout_contains("delete volume default/vsr-n1-root.qcow2")
        .assert(!out.stdout().contains("steps in"), "no step to run");
}

#[test]
fn a_node_not_in_the_spec_not_on_the_host_or_not_ours_is_refused_with_exit_2() {
    let dir = Dir::new();
    let uri = host(&dir);
    for (node, why) in [
        ("zz", "node zz is not in the spec (its nodes: n1, n2, n3)"),
        (
            "n2",
            "node n2: domain vsr-n2 is not created by virtstrap: reset never touches it",
        ),
        (
            "n3",
            "node n3: the host has no domain vsr-n3: nothing to reset",
        ),
    ] {
        let out = reset(&dir, &uri, &["--yes", "n1", node]);
        out.assert_exit(2)
            .assert_stderr_contains(why)
            .assert_stderr_contains("nothing was changed")
            .assert_stdout_empty();
    }
}

#[test]
fn with_yes_reset_runs_the_steps_up_to_what_the_test_driver_cannot_do() {
    // the test driver has no storage upload: the steps before it ran
    let dir = Dir::new();
    let uri = host(&dir);
    let out = reset(&dir, &uri, &["--yes", "n1"]);
    out.assert_exit(1)
        .assert_stderr_contains("[1/9] stop domain vsr-n1")
        .assert_stderr_contains("delete volume default/vsr-n1-root.qcow2")
        .assert_stderr_contains("create volume default/vsr-n1-root.qcow2")
        .assert_stderr_contains("upload volume default/vsr-n1.ign")
        .assert_stderr_contains("reset stopped after 6 of 9 steps");
}

#[test]
fn reset_needs_a_node() {
    let dir = Dir::new();
    dir.command()
        .args(["reset", "--yes"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("<NODE>...");
}
