//! Hostile and careless YAML (issue #11), through the real binary: deep
//! nesting, alias amplification and huge mappings, in a cluster spec
//! (`virtstrap validate`, exit 2) and in Butane (`virtstrap butane`,
//! exit 1). Every case runs under a 1 GiB address-space limit
//! (`prlimit --as`) and a time bound, so a stack overflow, an unbounded
//! allocation or a quadratic check fails the test.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Address space a case may use.
const MEMORY: &str = "--as=1073741824";
/// Wall time a case may take (the release binary needs < 0.5 s for all).
const TIME: Duration = Duration::from_secs(5);

/// One case: what, which command, the input, expected exit code, text
/// the output must hold (message and position).
struct Case {
    what: &'static str,
    butane: bool,
    input: String,
    code: i32,
    want: Vec<String>,
}

fn run(dir: &Path, case: &Case) -> (Output, Duration) {
    let name = if case.butane { "in.bu" } else { "cluster.yaml" };
    let file = dir.join(name);
    std::fs::write(&file, &case.input).expect("write input");
    let bin = env!("CARGO_BIN_EXE_virtstrap");
    let mut cmd = Command::new("prlimit");
    cmd.arg(MEMORY).arg("--").arg(bin).current_dir(dir);
    if case.butane {
        cmd.arg("butane").arg(&file);
    } else {
        cmd.arg("validate").arg("-f").arg(&file);
    }
    let t = Instant::now();
    let out = cmd.output().expect("run prlimit virtstrap");
    (out, t.elapsed())
}

fn check(table: &[Case]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for case in table {
        let (out, took) = run(dir.path(), case);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let text = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
        let mut bad = Vec::new();
        if out.status.code() != Some(case.code) {
            bad.push(format!("exit {:?}, want {}", out.status, case.code));
        }
        for w in &case.want {
            if !text.contains(w.as_str()) {
                bad.push(format!("no {w:?}"));
            }
        }
        if took > TIME {
            bad.push(format!("took {took:?}"));
        }
        if !bad.is_empty() {
            let head: String = text.chars().take(2000).collect();
            failures.push(format!("{}: {}\n{head}", case.what, bad.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

const SPEC: &str = "name: potato\nnodes:\n";
const BUTANE: &str = "variant: fcos\nversion: 1.4.0\n";

fn spec(what: &'static str, body: String, want: &[&str]) -> Case {
    Case {
        what,
        butane: false,
        input: body,
        code: 2,
        want: want.iter().map(|s| s.to_string()).collect(),
    }
}

fn butane(what: &'static str, body: String, code: i32, want: &[&str]) -> Case {
    Case {
        what,
        butane: true,
        input: body,
        code,
        want: want.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn deep_nesting_is_refused_with_a_position() {
    let dashes = |n: usize| "- ".repeat(n);
    let flow = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let maps = |n: usize| format!("{}1{}", "{a: ".repeat(n), "}".repeat(n));
    let block_maps = |n: usize| {
        (0..n)
            .map(|i| format!("{}k:\n", " ".repeat(i + 2)))
            .collect::<String>()
    };
    let deep = "nested too deeply";
    let table = [
        // the reproduction: a 40 KB file
        spec(
            "spec, 20000 dashes",
            format!("{SPEC}{} x\n", dashes(20_000)),
            &[deep, "cluster.yaml:3:511"],
        ),
        spec(
            "spec, 100000 dashes",
            format!("{SPEC}{} x\n", dashes(100_000)),
            &[deep, "cluster.yaml:3:511"],
        ),
        spec(
            "spec, 100000 flow lists",
            format!("name: potato\nnodes: {}\n", flow(100_000)),
            &[deep, "cluster.yaml:2:263"],
        ),
        spec(
            "spec, 100000 flow maps",
            format!("name: potato\nnodes: {}\n", maps(100_000)),
            &[deep, "cluster.yaml:2:1028"],
        ),
        spec(
            "spec, 2000 block maps (20000 would pass the 16 MiB size limit first)",
            format!("{SPEC}{}", block_maps(2_000)),
            &[deep, "cluster.yaml:258:258"],
        ),
        // the reproduction under storage.files
        butane(
            "butane, 30000 dashes",
            format!("{BUTANE}storage:\n  files:\n    {}x\n", dashes(30_000)),
            1,
            &[deep, "in.bu:5:513"],
        ),
        butane(
            "butane, 100000 dashes",
            format!("{BUTANE}storage:\n  files:\n    {}x\n", dashes(100_000)),
            1,
            &[deep, "in.bu:5:513"],
        ),
        butane(
            "butane, 100000 flow lists",
            format!("{BUTANE}storage: {}\n", flow(100_000)),
            1,
            &[deep, "in.bu:3:"],
        ),
        butane(
            "butane, 20000 flow maps",
            format!("{BUTANE}storage: {}\n", maps(20_000)),
            1,
            &[deep, "in.bu:3:"],
        ),
    ];
    check(&table);
}

#[test]
fn alias_amplification_is_refused() {
    let laughs = {
        let mut s = format!(
            "{SPEC}  - name: a\nl0: &l0 \"{}\"\n",
            "a".repeat(100 * 1024)
        );
        for i in 1..6 {
            let items = vec![format!("*l{}", i - 1); 10].join(", ");
            s.push_str(&format!("l{i}: &l{i} [{items}]\n"));
        }
        s
    };
    let shared = |n: usize| {
        let mut s = format!(
            "{BUTANE}storage:\n  files:\n    - path: /f0\n      contents: &c {{inline: \"{}\"}}\n",
            "a".repeat(1 << 20)
        );
        for i in 1..n {
            s.push_str(&format!("    - path: /f{i}\n      contents: *c\n"));
        }
        s
    };
    let fan = {
        let mut s = format!(
            "{SPEC}  - name: a\nx: &x [{}]\n",
            vec!["aaaaaaaa"; 4000].join(", ")
        );
        s.push_str(&format!("y: &y [{}]\n", vec!["*x"; 4000].join(", ")));
        s
    };
    let bound = "32 MiB";
    let table = [
        // the 102 KB reproduction
        spec(
            "spec, billion laughs",
            laughs,
            &[bound, "cluster.yaml:7:15"],
        ),
        spec(
            "spec, 4000 aliases of 4000 items",
            fan,
            &[bound, "cluster.yaml:5:"],
        ),
        // the 3,000 files sharing 1 MiB
        butane(
            "butane, 3000 files share 1 MiB",
            shared(3000),
            1,
            &[bound, "in.bu:68:17"],
        ),
        // a few copies stay allowed
        butane("butane, 3 files share 1 MiB", shared(3), 0, &[]),
    ];
    check(&table);
}

#[test]
fn huge_mappings_load_in_linear_time() {
    let keys = |n: usize, indent: &str| -> String {
        (0..n).map(|i| format!("{indent}k{i}: 1\n")).collect()
    };
    let flow = |n: usize| -> String {
        let k: Vec<String> = (0..n).map(|i| format!("k{i}: 1")).collect();
        format!("{{{}}}", k.join(", "))
    };
    let table = [
        spec(
            "spec, 200000 keys",
            format!("{SPEC}  - name: a\nx:\n{}", keys(200_000, "  ")),
            &["unknown key x"],
        ),
        spec(
            "spec, 200000 keys, a duplicate",
            format!("{SPEC}  - name: a\nx:\n{}  k5: 2\n", keys(200_000, "  ")),
            &["already defined at line 10", "cluster.yaml:200005:3"],
        ),
        // 20,000 findings, each printed: output linear, not lines x findings
        spec(
            "spec, 20000 unknown node keys",
            format!("{SPEC}  - name: a\n{}", keys(20_000, "    ")),
            &["unknown key k19999"],
        ),
        butane(
            "butane, 200000 keys",
            format!("{BUTANE}x:\n{}", keys(200_000, "  ")),
            0,
            &["unused key x"],
        ),
        butane(
            "butane, 200000 keys, a duplicate",
            format!("{BUTANE}x:\n{}  k9: 2\n", keys(200_000, "  ")),
            1,
            &["already defined at line 13", "in.bu:200004:3"],
        ),
        butane(
            "butane, 20000 unknown keys on one line",
            format!("{BUTANE}storage: {}\n", flow(20_000)),
            0,
            &["unused key k19999"],
        ),
        butane(
            "butane, 20000 keys merged into 20000",
            format!(
                "{BUTANE}x: &x {}\nstorage:\n  <<: *x\n{}",
                flow(20_000),
                keys(20_000, "  ")
            ),
            0,
            &["unused key x"],
        ),
    ];
    check(&table);
}
