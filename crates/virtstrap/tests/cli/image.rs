//! `virtstrap image pull` from the outside, where no daemon and no
//! network are needed: bad flags exit 2 naming the fix, before anything
//! is fetched or made; a missing pool is refused (on `test:///default`);
//! the help teaches with examples. The pulls themselves run against a
//! real daemon and a 127.0.0.1 server in tests/system/image.sh.

use crate::util::Dir;

fn pull(dir: &Dir, args: &[&str]) -> crate::util::Outcome {
    dir.command()
        .args(["image", "pull", "--connect", "test:///default"])
        .args(args)
        .env("XDG_CACHE_HOME", &dir.join("cache").display().to_string())
        .run()
}

#[test]
fn bad_flags_exit_2_and_say_what_to_give() {
    let dir = Dir::new();
    let cases: [(&[&str], &str); 6] = [
        (&["--os", "nope"], "invalid value 'nope' for '--os"),
        (&["--url", "http://127.0.0.1:9/x.qcow2.xz"], "--sha256"),
        (
            &["--url", "http://127.0.0.1:9/x.xz", "--sha256", "xyz"],
            "give the 64 hex digits",
        ),
        (
            &["--url", "ftp://h/x.xz", "--sha256", &"a".repeat(64)],
            "not an http",
        ),
        (
            &["--stream", "nightly"],
            "streams are stable, testing and next",
        ),
        (&["/no/such/file.qcow2"], "no such file"),
    ];
    for (args, says) in cases {
        pull(&dir, args).assert_exit(2).assert_stderr_contains(says);
    }
    assert!(!dir.join("cache").exists(), "nothing fetched");
}

#[test]
fn a_missing_pool_is_refused_naming_pool() {
    let dir = Dir::new();
    dir.write("img.qcow2", "QFI\u{fb} not much of an image");
    pull(&dir, &["img.qcow2", "--pool", "vsimg-none"])
        .assert_exit(2)
        .assert_stderr_contains("no pool vsimg-none on this host: pick one with --pool");
}

#[test]
fn help_teaches_with_examples() {
    let dir = Dir::new();
    let out = dir.command().args(["image", "pull", "--help"]).run();
    out.assert_ok()
        .assert_stdout_contains("Examples:")
        .assert_stdout_contains("virtstrap image pull --os flatcar")
        .assert_stdout_contains("--url https://");
    let widest = out.stdout().lines().map(str::len).max().unwrap_or(0);
    assert!(widest <= 80, "help wider than 80 columns: {widest}");
}
