//! Hostile and careless input (issue #11), from the outside: the real
//! executables run in a temporary directory, one table per class, each
//! with the reproduction and cases of its own. Every row checks
//! the exit code, the message and where it points, a (generous) time
//! bound, and that nothing in the directory was written or changed.
//!
//! - unbounded or blocking reads: FIFOs, `/dev/zero`, directories,
//!   symlink loops and oversized files, as `-f`, `--butane`, `butane
//!   FILE`, standard input, the spec's `butane:` and key files;
//! - a closed stdout: every command stops quietly (141, nothing on
//!   stderr), and `init` leaves its files whole;
//! - writing files: `butane -o` through devices, FIFOs and symlinks;
//!   `init` and a dangling symlink;
//! - counts and addresses: MACs, hostname length, reservations;
//! - smaller: a second document, `k8s_node` beside cluster.yaml keys,
//!   `--name`, exact sizes, `plan --output json` conflicts.

#[allow(dead_code)]
#[path = "cli/util.rs"]
mod util;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::{virtstrap, Dir};

/// A spec that validates offline.
const SPEC: &str = "name: demo\nimage: {pool: default, volume: fcos.qcow2}\nnodes:\n  - name: a\n";

/// How long any row may take: the failures are immediate, so this only
/// catches a hang (a FIFO waited on, a device read forever).
const BOUND: Duration = Duration::from_secs(30);

/// What a run did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Run `virtstrap ARGS` in `dir` with `stdin` (or none), killed at
/// [`BOUND`].
fn run(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let start = Instant::now();
    let mut child = Command::new(virtstrap())
        .args(args)
        .current_dir(dir)
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env("HOME", dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virtstrap");
    let writer = stdin.map(|input| {
        let mut pipe = child.stdin.take().expect("stdin was piped");
        // the program may stop reading at its limit: a failed write is
        // what the row is about, not an error of the test
        std::thread::spawn(move || drop(pipe.write_all(&input)))
    });
    let mut out = child.stdout.take().expect("stdout was piped");
    let mut err = child.stderr.take().expect("stderr was piped");
    let reader = std::thread::spawn(move || {
        let (mut o, mut e) = (String::new(), String::new());
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        (o, e)
    });
    let code = wait_bounded(&mut child);
    if let Some(w) = writer {
        w.join().expect("the stdin writer does not panic");
    }
    let (stdout, stderr) = reader.join().expect("the reader does not panic");
    Run {
        code,
        stdout,
        stderr,
        took: start.elapsed(),
    }
}

/// Wait for `child`, killing it once [`BOUND`] has passed.
fn wait_bounded(child: &mut std::process::Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every entry under `dir` (not following symlinks): kind, size, mtime
/// and, for a symlink, where it points.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).expect("lstat");
            let link = fs::read_link(&p).map(|l| l.display().to_string());
            out.insert(
                p.clone(),
                format!("{:o} {} {} {link:?}", m.mode(), m.len(), m.mtime_nsec()),
            );
            if m.is_dir() {
                todo.push(p);
            }
        }
    }
    out
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// A file of `len` bytes that takes no space (a hole).
fn sparse(path: &Path, len: u64) {
    File::create(path)
        .and_then(|f| f.set_len(len))
        .expect("make a sparse file");
}

/// One row: what to set up in the directory, the arguments, standard
/// input, the exit code and parts of stderr (a position among them).
struct Row {
    name: &'static str,
    setup: fn(&Dir),
    args: &'static [&'static str],
    stdin: Option<fn() -> Vec<u8>>,
    code: i32,
    stderr: &'static [&'static str],
}

/// Run every row; report all that fail.
fn table(rows: &[Row]) {
    let mut failed = Vec::new();
    for row in rows {
        let dir = Dir::new();
        (row.setup)(&dir);
        let before = snapshot(dir.path());
        let r = run(dir.path(), row.args, row.stdin.map(|f| f()));
        let after = snapshot(dir.path());
        let mut wrong = Vec::new();
        if r.code != Some(row.code) {
            wrong.push(format!("exit {:?}, want {}", r.code, row.code));
        }
        for part in row.stderr {
            if !r.stderr.contains(part) {
                wrong.push(format!("stderr lacks {part:?}"));
            }
        }
        if r.took > BOUND {
            wrong.push(format!("took {:?}", r.took));
        }
        if before != after {
            wrong.push(format!("the directory changed:\n{before:#?}\n{after:#?}"));
        }
        if r.stderr.contains("panicked") {
            wrong.push("panicked".into());
        }
        if !wrong.is_empty() {
            failed.push(format!(
                "{}: {}\n--- stdout\n{}--- stderr\n{}",
                row.name,
                wrong.join("; "),
                r.stdout,
                r.stderr
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

fn spec_naming(dir: &Dir, extra: &str) {
    dir.write("cluster.yaml", &format!("{SPEC}{extra}"));
}

#[test]
fn reads_refuse_what_is_not_a_regular_file_or_too_large() {
    table(&[
        Row {
            name: "issue: -f /dev/zero",
            setup: |_| {},
            args: &["validate", "-f", "/dev/zero"],
            stdin: None,
            code: 2,
            stderr: &["/dev/zero: $: cannot read the spec: it is a character device, not a regular file"],
        },
        Row {
            name: "-f FIFO",
            setup: |d| mkfifo(&d.join("c.yaml")),
            args: &["validate", "-f", "c.yaml"],
            stdin: None,
            code: 2,
            stderr: &["c.yaml: $: cannot read the spec: it is a FIFO (named pipe), not a regular file"],
        },
        Row {
            name: "-f directory",
            setup: |d| fs::create_dir(d.join("c.yaml")).expect("mkdir"),
            args: &["validate", "-f", "c.yaml"],
            stdin: None,
            code: 2,
            stderr: &["c.yaml: $: cannot read the spec: it is a directory"],
        },
        Row {
            name: "-f symlink loop",
            setup: |d| std::os::unix::fs::symlink("c.yaml", d.join("c.yaml")).expect("ln"),
            args: &["validate", "-f", "c.yaml"],
            stdin: None,
            code: 2,
            stderr: &["c.yaml: $: cannot read the spec: it is a symlink loop"],
        },
        Row {
            name: "-f over the limit",
            setup: |d| sparse(&d.join("c.yaml"), (16 << 20) + 1),
            args: &["validate", "-f", "c.yaml"],
            stdin: None,
            code: 2,
            stderr: &["c.yaml: $: cannot read the spec: it is larger than the 16 MiB limit"],
        },
        Row {
            name: "issue: --butane /dev/zero",
            setup: |d| spec_naming(d, ""),
            args: &["validate", "--butane", "/dev/zero"],
            stdin: None,
            code: 2,
            stderr: &["error: --butane /dev/zero: is a character device, not a regular file"],
        },
        Row {
            name: "issue: --butane FIFO (render, which reads it)",
            setup: |d| {
                spec_naming(d, "");
                mkfifo(&d.join("x.bu"));
            },
            args: &["render", "a", "--butane", "x.bu"],
            stdin: None,
            code: 2,
            stderr: &["error: --butane x.bu: is a FIFO (named pipe), not a regular file"],
        },
        Row {
            name: "issue: butane /dev/zero",
            setup: |_| {},
            args: &["butane", "/dev/zero"],
            stdin: None,
            code: 1,
            stderr: &["failed to open /dev/zero: is a character device, not a regular file"],
        },
        Row {
            name: "butane FIFO",
            setup: |d| mkfifo(&d.join("x.bu")),
            args: &["butane", "x.bu"],
            stdin: None,
            code: 1,
            stderr: &["failed to open x.bu: is a FIFO (named pipe)"],
        },
        Row {
            name: "butane over the limit",
            setup: |d| sparse(&d.join("x.bu"), (32 << 20) + 1),
            args: &["butane", "x.bu"],
            stdin: None,
            code: 1,
            stderr: &["failed to open x.bu: is larger than the 32 MiB limit"],
        },
        Row {
            name: "butane, standard input over the limit",
            setup: |_| {},
            args: &["butane"],
            stdin: Some(|| vec![b'#'; (32 << 20) + 1]),
            code: 1,
            stderr: &["failed to read <stdin>: is larger than the 32 MiB limit"],
        },
        Row {
            name: "issue: the spec's butane: a directory",
            setup: |d| {
                spec_naming(d, "butane: [bu]\n");
                fs::create_dir(d.join("bu")).expect("mkdir");
            },
            args: &["validate"],
            stdin: None,
            code: 2,
            stderr: &["cluster.yaml:5:10: $.butane.0: file bu is a directory, not a regular file"],
        },
        Row {
            name: "issue: the spec's butane: a FIFO",
            setup: |d| {
                spec_naming(d, "butane: [x.bu]\n");
                mkfifo(&d.join("x.bu"));
            },
            args: &["render", "a"],
            stdin: None,
            code: 2,
            stderr: &["cluster.yaml:5:10: $.butane.0: file x.bu is a FIFO (named pipe)"],
        },
        Row {
            name: "issue: the spec's butane: a symlink loop",
            setup: |d| {
                spec_naming(d, "butane: x.bu\n");
                std::os::unix::fs::symlink("x.bu", d.join("x.bu")).expect("ln");
            },
            args: &["validate"],
            stdin: None,
            code: 2,
            stderr: &["cluster.yaml:5:9: $.butane: file x.bu is a symlink loop"],
        },
        Row {
            name: "a node's butane: a device, over the limit",
            setup: |d| {
                d.write(
                    "cluster.yaml",
                    "name: demo\nimage: {pool: default, volume: fcos.qcow2}\nnodes:\n  - name: a\n    butane: [/dev/zero, big.bu]\n",
                );
                sparse(&d.join("big.bu"), 64 << 20);
            },
            args: &["validate"],
            stdin: None,
            code: 2,
            stderr: &[
                "cluster.yaml:5:14: $.nodes.0.butane.0: file /dev/zero is a character device",
                "cluster.yaml:5:25: $.nodes.0.butane.1: file big.bu is larger than the 32 MiB limit",
            ],
        },
        Row {
            name: "a key file that is a FIFO, and one that is /dev/zero",
            setup: |d| {
                d.write(
                    "cluster.yaml",
                    "name: demo\nimage: {pool: default, volume: fcos.qcow2}\nssh_authorized_keys:\n  - {file: k.pub}\n  - {file: /dev/zero}\nnodes:\n  - name: a\n",
                );
                mkfifo(&d.join("k.pub"));
            },
            args: &["validate"],
            stdin: None,
            code: 2,
            stderr: &[
                "cluster.yaml:4:12: $.ssh_authorized_keys.0.file: cannot read the key file k.pub",
                "it is a FIFO (named pipe), not a regular file",
                "cluster.yaml:5:12: $.ssh_authorized_keys.1.file: cannot read the key file /dev/zero",
                "it is a character device",
            ],
        },
    ]);
}

/// A pipe whose reader is already gone, as a child's stdout: a FIFO
/// opened for reading (non-blocking) and writing, then the reader closed.
fn closed_pipe(dir: &Path) -> File {
    let fifo = dir.join(".closed-pipe");
    mkfifo(&fifo);
    let reader = OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nonblock())
        .open(&fifo)
        .expect("open the FIFO for reading");
    let writer = OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the FIFO for writing");
    drop(reader);
    fs::remove_file(&fifo).expect("remove the FIFO");
    writer
}

/// `O_NONBLOCK` on Linux (the tests do not link libc).
fn libc_o_nonblock() -> i32 {
    0o4000
}

/// Run `virtstrap ARGS` in `dir` with a closed stdout.
fn run_closed(dir: &Path, args: &[&str]) -> Run {
    let start = Instant::now();
    let mut child = Command::new(virtstrap())
        .args(args)
        .current_dir(dir)
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(closed_pipe(dir))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virtstrap");
    let mut err = child.stderr.take().expect("stderr was piped");
    let reader = std::thread::spawn(move || {
        let mut e = String::new();
        let _ = err.read_to_string(&mut e);
        e
    });
    let code = wait_bounded(&mut child);
    Run {
        code,
        stdout: String::new(),
        stderr: reader.join().expect("the reader does not panic"),
        took: start.elapsed(),
    }
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    // a kernel-booted node needs no base image: it plans and applies on
    // test:///default, so every command has output to write
    let dir = Dir::new();
    dir.write(
        "cluster.yaml",
        // the test driver's own pool: a pool that does not exist is a
        // plan-time refusal
        "name: demo\nnodes:\n  - name: a\n    domain_type: qemu\n    boot: {kernel: vmlinuz}\n    disk: {pool: default-pool, size: 1GiB}\n",
    );
    dir.write("vmlinuz", "");
    dir.write("x.bu", "variant: fcos\nversion: 1.5.0\n");
    let test = ["--connect", "test:///default"];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("validate", vec!["validate"]),
        ("render", vec!["render", "a"]),
        (
            "render --only ignition",
            vec!["render", "a", "--only", "ignition"],
        ),
        ("butane", vec!["butane", "x.bu"]),
        ("inventory --planned", vec!["inventory", "--planned"]),
        ("--help", vec!["--help"]),
        (
            "issue: plan --output json",
            [&["plan"][..], &test, &["--output", "json"]].concat(),
        ),
        ("plan", [&["plan"][..], &test].concat()),
        ("status", [&["status"][..], &test].concat()),
        (
            "status --output json",
            [&["status"][..], &test, &["--output", "json"]].concat(),
        ),
        ("apply", [&["apply"][..], &test, &["--yes"]].concat()),
        (
            "apply --output json",
            [&["apply"][..], &test, &["--yes", "--output", "json"]].concat(),
        ),
        ("destroy", [&["destroy"][..], &test, &["--yes"]].concat()),
    ];
    let mut failed = Vec::new();
    for (name, args) in &cases {
        let r = run_closed(dir.path(), args);
        // 141 when it printed into the closed pipe (clap's help ignores
        // the failure: 0); warnings on stderr, which is open, may stay
        let want = if *name == "--help" { 0 } else { 141 };
        let quiet = r.code == Some(want)
            && !r.stderr.contains("panicked")
            && !r.stderr.contains("Broken pipe")
            && !r.stderr.contains("error");
        if !quiet || r.took > BOUND {
            failed.push(format!(
                "{name}: exit {:?} in {:?}\n{}",
                r.code, r.took, r.stderr
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn plan_into_head_is_quiet() {
    // the reproduction, through a real pipe into head
    let dir = Dir::new();
    dir.write(
        "cluster.yaml",
        "name: demo\nimage: {pool: default, volume: fcos.qcow2}\nnodes:\n  - {name: w, count: 300}\n",
    );
    let script = format!(
        "'{}' render w1 --only ignition | head -c1 >/dev/null; '{}' plan --connect test:///default --output json | head -20 >/dev/null",
        virtstrap().display(),
        virtstrap().display()
    );
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .output()
        .expect("run sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    assert!(start.elapsed() < BOUND);
}

#[test]
fn init_cut_short_leaves_every_file_whole() {
    let whole = Dir::new();
    let r = run(whole.path(), &["init", "out"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let dir = Dir::new();
    let r = run_closed(dir.path(), &["init", "out"]);
    assert_eq!(r.code, Some(141), "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let names = |d: &Dir| {
        let mut v: Vec<String> = fs::read_dir(d.join("out"))
            .expect("read out/")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&dir), names(&whole), "no temporary file is left");
    for name in names(&whole) {
        let rel = format!("out/{name}");
        assert_eq!(dir.read(&rel), whole.read(&rel), "{name}");
    }
}

/// Run `butane -o TARGET x.bu` in a directory set up by `setup`.
fn butane_to(setup: fn(&Dir), target: &str) -> (Dir, Run) {
    let dir = Dir::new();
    dir.write("x.bu", "variant: fcos\nversion: 1.5.0\n");
    setup(&dir);
    let r = run(dir.path(), &["butane", "-o", target, "x.bu"], None);
    (dir, r)
}

const IGN: &str = "\"ignition\":{\"version\":\"3.4.0\"}";

#[test]
fn butane_output_writes_through_special_files_and_symlinks() {
    // /dev/null: written, never replaced (as root it would be the device)
    let (_, r) = butane_to(|_| {}, "/dev/null");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = fs::metadata("/dev/null").expect("stat /dev/null");
    assert!(
        m.file_type().is_char_device(),
        "/dev/null is still a device"
    );
    // /dev/full: the device's own error, exit 1
    let (_, r) = butane_to(|_| {}, "/dev/full");
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("failed to write config to /dev/full"),
        "{}",
        r.stderr
    );

    // a symlink to a regular file: the file gets the config, the link stays
    let (d, r) = butane_to(
        |d| {
            d.write("real.ign", "old");
            std::os::unix::fs::symlink("real.ign", d.join("link.ign")).expect("ln");
        },
        "link.ign",
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(fs::symlink_metadata(d.join("link.ign"))
        .expect("lstat")
        .is_symlink());
    assert!(d.read("real.ign").contains(IGN), "{}", d.read("real.ign"));

    // a dangling symlink: its target is created, as the real butane does
    let (d, r) = butane_to(
        |d| std::os::unix::fs::symlink("sub/new.ign", d.join("link.ign")).expect("ln"),
        "link.ign",
    );
    assert_eq!(r.code, Some(1), "no such directory: {}", r.stderr);
    assert!(!d.join("sub").exists());
    let (d, r) = butane_to(
        |d| std::os::unix::fs::symlink("new.ign", d.join("link.ign")).expect("ln"),
        "link.ign",
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(d.read("new.ign").contains(IGN));

    // a FIFO: written into, with a reader on the other end
    let dir = Dir::new();
    dir.write("x.bu", "variant: fcos\nversion: 1.5.0\n");
    let fifo = dir.join("out.ign");
    mkfifo(&fifo);
    let reader = std::thread::spawn(move || fs::read_to_string(&fifo));
    let r = run(dir.path(), &["butane", "-o", "out.ign", "x.bu"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let got = reader.join().expect("reader").expect("read the FIFO");
    assert!(got.contains(IGN), "{got}");
    let m = fs::symlink_metadata(dir.join("out.ign")).expect("lstat");
    assert!(m.file_type().is_fifo(), "the FIFO is still a FIFO");

    // a regular file: replaced atomically, owner-only
    let (d, r) = butane_to(|d| d.write("out.ign", "old"), "out.ign");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = fs::metadata(d.join("out.ign")).expect("stat");
    assert_eq!(m.mode() & 0o777, 0o600);
    // a directory: refused, left alone
    let (d, r) = butane_to(|d| fs::create_dir(d.join("out")).expect("mkdir"), "out");
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(d.join("out").is_dir());
    assert!(r.took < BOUND);
}

#[test]
fn init_never_follows_a_symlink_out_of_its_directory() {
    let outside = Dir::new();
    let target = outside.join("escaped.yaml");
    let dir = Dir::new();
    fs::create_dir(dir.join("out")).expect("mkdir");
    std::os::unix::fs::symlink(&target, dir.join("out/cluster.yaml")).expect("ln");
    let before = snapshot(dir.path());
    let r = run(dir.path(), &["init", "out"], None);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("out/cluster.yaml (a symlink to") && r.stderr.contains(", dangling)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert_eq!(snapshot(dir.path()), before);
    assert!(!target.exists(), "init wrote outside its directory");
    // --force replaces the link itself, never its target
    let r = run(dir.path(), &["init", "--force", "out"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!target.exists(), "init --force wrote outside its directory");
    let m = fs::symlink_metadata(dir.join("out/cluster.yaml")).expect("lstat");
    assert!(m.is_file(), "the link was replaced by the file");
}

/// `count` nodes named `name` on network `k8s` of `cidr`, with `extra`
/// nodes after.
fn counted(name: &str, count: u32, cidr: &str, extra: &str) -> String {
    format!(
        "name: demo\nimage: {{pool: default, volume: fcos.qcow2}}\nnetworks:\n  - name: k8s\n    cidr: {cidr}\nnodes:\n  - name: {name}\n    count: {count}\n    networks: [k8s]\n{extra}"
    )
}

#[test]
fn counts_and_addresses_are_refused_at_validate_when_they_cannot_be_honoured() {
    struct Case {
        name: &'static str,
        spec: String,
        code: i32,
        stderr: &'static [&'static str],
    }
    let n63 = "a".repeat(63);
    let n62 = "a".repeat(62);
    let n61 = "a".repeat(61);
    let cases = [
        Case {
            name: "issue: count 10000 on a /8 (colliding MACs are derived anew)",
            spec: counted("w", 10000, "10.0.0.0/8", ""),
            code: 0,
            stderr: &[],
        },
        Case {
            name: "issue: a 63-character name with count 3",
            spec: counted(&n63, 3, "10.0.0.0/24", ""),
            code: 2,
            stderr: &["cluster.yaml:7:11: $.nodes.0.name: with count 3, node", "makes names of up to 64 characters", "shorten the name to 62 characters"],
        },
        Case {
            name: "62 characters and count 9 fit",
            spec: counted(&n62, 9, "10.0.0.0/24", ""),
            code: 0,
            stderr: &[],
        },
        Case {
            name: "61 characters and count 100 do not",
            spec: counted(&n61, 100, "10.0.0.0/24", ""),
            code: 2,
            stderr: &["up to 64 characters", "shorten the name to 60 characters"],
        },
        Case {
            name: "issue: count 200 on a /24",
            spec: counted("w", 200, "192.168.150.0/24", ""),
            code: 2,
            stderr: &["cluster.yaml:5:11: $.networks.0.cidr: network k8s (192.168.150.0/24) can reserve 126 addresses", "but 200 NICs on it need one (node w127 is the first left without)", "(a /23 holds 254)"],
        },
        Case {
            name: "count 126 on a /24 fits",
            spec: counted("w", 126, "192.168.150.0/24", ""),
            code: 0,
            stderr: &[],
        },
        Case {
            name: "an ip: in the reservation half takes one place",
            spec: counted("w", 126, "192.168.150.0/24", "  - name: x\n    networks: [{name: k8s, ip: 192.168.150.9}]\n"),
            code: 2,
            stderr: &["can reserve 125 addresses", "less 1 given by ip:", "but 126 NICs"],
        },
        Case {
            name: "an ip: in the DHCP half takes none",
            spec: counted("w", 126, "192.168.150.0/24", "  - name: x\n    networks: [{name: k8s, ip: 192.168.150.200}]\n"),
            code: 0,
            stderr: &[],
        },
        Case {
            name: "a /29 holds two",
            spec: counted("w", 3, "10.0.0.0/29", ""),
            code: 2,
            stderr: &["can reserve 2 addresses", "(a /28 holds 6)"],
        },
    ];
    let mut failed = Vec::new();
    for case in &cases {
        let dir = Dir::new();
        dir.write("cluster.yaml", &case.spec);
        let before = snapshot(dir.path());
        let r = run(dir.path(), &["validate"], None);
        let mut wrong: Vec<String> = case
            .stderr
            .iter()
            .filter(|p| !r.stderr.contains(*p))
            .map(|p| format!("stderr lacks {p:?}"))
            .collect();
        if r.code != Some(case.code) {
            wrong.push(format!("exit {:?}, want {}", r.code, case.code));
        }
        if r.took > BOUND || snapshot(dir.path()) != before {
            wrong.push(format!("took {:?} or wrote", r.took));
        }
        if !wrong.is_empty() {
            failed.push(format!("{}: {}\n{}", case.name, wrong.join("; "), r.stderr));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn smaller_careless_specs_are_refused() {
    table(&[
        Row {
            name: "issue: a second YAML document, with a syntax error in it",
            setup: |d| d.write("cluster.yaml", &format!("{SPEC}---\nname: [oops\n")),
            args: &["validate"],
            stdin: None,
            code: 2,
            stderr: &["cluster.yaml:5:1: $: a second YAML document"],
        },
        Row {
            name: "a document after ...",
            setup: |d| d.write("cluster.yaml", &format!("{SPEC}...\nnodes: []\n")),
            args: &["validate"],
            stdin: None,
            code: 2,
            stderr: &["cluster.yaml:6:1: $: a second YAML document"],
        },
        Row {
            name: "issue: k8s_node beside cluster.yaml keys",
            setup: |d| d.write("cluster.yaml", &format!("{SPEC}k8s_node:\n  - node_name: m1\n")),
            args: &["validate"],
            stdin: None,
            code: 2,
            stderr: &["cluster.yaml:5:1: $.k8s_node: k8s_node (a vars file's node list) beside cluster.yaml keys name, image, nodes"],
        },
        Row {
            name: "issue: --name with a cluster.yaml",
            setup: |d| d.write("cluster.yaml", SPEC),
            args: &["validate", "--name", "other"],
            stdin: None,
            code: 2,
            stderr: &["cluster.yaml: --name: --name is for a vars file; this cluster.yaml names itself (name: at line 1)"],
        },
        Row {
            name: "a size that is not a whole number of bytes",
            setup: |d| d.write("cluster.yaml", "name: demo\nimage: {pool: default, volume: fcos.qcow2}\nnodes:\n  - name: a\n    memory: 1.0000001GiB\n"),
            args: &["validate"],
            stdin: None,
            code: 2,
            stderr: &["cluster.yaml:5:13: $.nodes.0.memory: \"1.0000001GiB\" is not a whole number of bytes"],
        },
    ]);
}

#[test]
fn sizes_are_exact_and_plan_json_carries_its_conflicts() {
    // 2^53 + 1 bytes: floating point would make it ...992
    let dir = Dir::new();
    dir.write(
        "cluster.yaml",
        "name: demo\nimage: {pool: default, volume: fcos.qcow2}\nnodes:\n  - name: a\n    extra_disks: [{pool: default, size: 9007199254740993B}]\n",
    );
    let r = run(dir.path(), &["render", "a", "--only", "volumes"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("9007199254740993"), "{}", r.stdout);

    // issue: conflicts under plan --output json print JSON (and exit 2)
    let dir = Dir::new();
    dir.write(
        "cluster.yaml",
        "name: demo\nimage: {pool: default, volume: fcos.qcow2}\ndomain_name: node\nnodes:\n  - name: test\n",
    );
    let r = run(
        dir.path(),
        &["plan", "--connect", "test:///default", "--output", "json"],
        None,
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    let conflicts = v["conflicts"].as_array().expect("a conflicts list");
    assert!(
        conflicts
            .iter()
            .any(|c| c.as_str().is_some_and(|s| s.contains("domain test exists"))),
        "{v}"
    );
    assert!(r.stderr.contains("nothing was changed"), "{}", r.stderr);
    assert!(r.took < BOUND);
}

#[test]
fn device_reads_stay_within_an_address_space_limit() {
    // the reproductions read /dev/zero until the 4 GiB cap
    // aborted them; under a 1 GiB limit each must refuse, not abort
    let dir = Dir::new();
    dir.write("cluster.yaml", SPEC);
    let exe = virtstrap().display().to_string();
    for (args, code, part) in [
        ("validate -f /dev/zero", 2, "is a character device"),
        ("validate --butane /dev/zero", 2, "is a character device"),
        ("butane /dev/zero", 1, "is a character device"),
        ("butane < /dev/zero", 1, "is larger than the 32 MiB limit"),
    ] {
        let start = Instant::now();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v 1048576; exec '{exe}' {args}"))
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .output()
            .expect("run sh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args}: {stderr}");
        assert!(stderr.contains(part), "{args}: {stderr}");
        assert!(start.elapsed() < BOUND, "{args}");
    }
}

/// The issue's `count` reproduction: ten groups of `count: 10000` on one
/// /8 (100,000 nodes) took 59 s; every check is linear now, so it
/// validates (and lists its planned inventory) well inside the bound,
/// even in a debug build.
#[test]
fn a_hundred_thousand_counted_nodes_validate_in_linear_time() {
    let dir = Dir::new();
    let groups: String = (0..10)
        .map(|g| format!("  - name: g{g}\n    count: 10000\n"))
        .collect();
    let spec = format!(
        "name: big\nimage: {{pool: default, volume: b.qcow2}}\ndefaults: {{networks: [n]}}\nnodes:\n{groups}networks: [ {{ name: n, mode: isolated, cidr: 10.0.0.0/8 }} ]\n"
    );
    dir.write("cluster.yaml", &spec);
    for args in [&["validate"][..], &["inventory", "--planned"][..]] {
        let r = run(dir.path(), args, None);
        assert_eq!(r.code, Some(0), "{args:?} in {:?}: {}", r.took, r.stderr);
        assert!(
            r.took < Duration::from_secs(20),
            "{args:?} took {:?}",
            r.took
        );
    }
    let r = run(
        dir.path(),
        &["inventory", "--planned", "--format", "ini"],
        None,
    );
    // node 100,000 (g9's copy 10000) takes 10.0.0.2 + 99,999
    assert!(
        r.stdout.contains("\ng910000 ansible_host=10.1.134.161 "),
        "the last node's address"
    );
}

/// Butane's `local:` files (and so its trees) are read only when they are
/// regular files: a FIFO would block the translation, a device feed it
/// without end.
#[test]
fn butane_local_files_that_are_fifos_or_devices_are_refused() {
    let dir = Dir::new();
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).expect("symlink");
    let bu = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /a\n      contents:\n        local: pipe\n    - path: /b\n      contents:\n        local: zero\n";
    dir.write("x.bu", bu);
    let r = run(dir.path(), &["butane", "-d", ".", "x.bu"], None);
    assert_eq!(r.code, Some(1), "in {:?}: {}", r.took, r.stderr);
    assert!(r.stderr.contains("x.bu:7:16"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is a FIFO (named pipe), not a regular file"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("is a character device, not a regular file"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
}

/// A Butane tree of 20,000 files took 51 s (every file scanned every list
/// and the whole output was reordered after each): linear now.
#[test]
fn a_tree_of_twenty_thousand_files_translates_in_linear_time() {
    let dir = Dir::new();
    let tree = dir.path().join("t");
    std::fs::create_dir(&tree).expect("mkdir");
    for i in 0..20_000 {
        std::fs::write(tree.join(format!("f{i}")), format!("{i}\n")).expect("write");
    }
    dir.write(
        "x.bu",
        "variant: fcos\nversion: 1.4.0\nstorage:\n  trees:\n    - local: t\n      path: /etc/t\n",
    );
    let r = run(dir.path(), &["butane", "-d", ".", "x.bu"], None);
    assert_eq!(r.code, Some(0), "in {:?}: {}", r.took, r.stderr);
    assert!(r.took < Duration::from_secs(15), "took {:?}", r.took);
    assert_eq!(r.stdout.matches("\"path\":\"/etc/t/f").count(), 20_000);
}
