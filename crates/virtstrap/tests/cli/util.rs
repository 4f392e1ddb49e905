//! The harness every CLI test shares: a [`Dir`] owns a temporary
//! directory and writes the files a test needs, a [`TestCommand`] runs the
//! real `virtstrap` (or `virtstrap-host`) executable in it, and the
//! [`Outcome`] it returns has asserts that, when they fail, print the
//! whole command, its exit status, stdout and stderr.
//!
//! The asserts that tables use have a `check_*` twin that returns the same
//! message as an `Err` instead of panicking, so a table can run every row
//! and report all the rows that fail, not only the first.

use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `virtstrap` executable Cargo built for this test binary.
pub fn virtstrap() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_virtstrap"))
}

/// The `virtstrap-host` executable Cargo built for this test binary.
pub fn virtstrap_host() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_virtstrap-host"))
}

/// The workspace root, which holds `examples/`.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A temporary directory for one test, removed when it is dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    /// A new, empty directory.
    pub fn new() -> Dir {
        let tmp = tempfile::tempdir().expect("create a temporary directory");
        Dir { tmp }
    }

    /// Where the directory is.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `rel` inside the directory.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    /// Write `contents` to `rel`, creating the directories above it.
    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// The text of `rel`.
    pub fn read(&self, rel: &str) -> String {
        let path = self.join(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// `virtstrap`, run in this directory.
    pub fn command(&self) -> TestCommand {
        TestCommand::new(virtstrap(), self.path())
    }

    /// `virtstrap-host`, run in this directory.
    pub fn host_command(&self) -> TestCommand {
        TestCommand::new(virtstrap_host(), self.path())
    }
}

/// One run of an executable: its arguments, environment and standard input.
pub struct TestCommand {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl TestCommand {
    /// `program`, run in `cwd`. `LIBVIRT_DEFAULT_URI` is removed from its
    /// environment so that no test reaches the libvirt of whoever runs it;
    /// the commands that talk to libvirt get `--connect` instead.
    pub fn new(program: impl AsRef<OsStr>, cwd: impl AsRef<Path>) -> TestCommand {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd).env_remove("LIBVIRT_DEFAULT_URI");
        TestCommand { cmd, stdin: None }
    }

    /// Add the arguments `args`.
    pub fn args<I, S>(mut self, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Set the environment variable `key` to `value`.
    pub fn env(mut self, key: &str, value: &str) -> TestCommand {
        self.cmd.env(key, value);
        self
    }

    /// Give the program `input` on standard input (otherwise it reads an
    /// empty stream).
    pub fn stdin(mut self, input: &str) -> TestCommand {
        self.stdin = Some(input.as_bytes().to_vec());
        self
    }

    /// Run the program to its end.
    pub fn run(mut self) -> Outcome {
        let command = format!("{:?}", self.cmd);
        let stdin = if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        self.cmd
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(&mut self.cmd).unwrap_or_else(|e| panic!("spawn {command}: {e}"));
        // written from another thread, so that a program that writes a lot
        // before it reads cannot block both sides
        let writer = self.stdin.take().map(|input| {
            let mut pipe = child.stdin.take().expect("stdin was piped");
            std::thread::spawn(move || pipe.write_all(&input))
        });
        let output = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("wait for {command}: {e}"));
        if let Some(writer) = writer {
            let written = writer.join().expect("the stdin writer does not panic");
            written.unwrap_or_else(|e| panic!("write stdin of {command}: {e}"));
        }
        Outcome { command, output }
    }
}

/// How a [`TestCommand`] ended, and what it printed.
pub struct Outcome {
    command: String,
    output: Output,
}

impl Outcome {
    /// The exit code (`None` if a signal ended the program).
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Standard output, as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Standard error, as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Standard output, parsed as JSON.
    #[track_caller]
    pub fn stdout_json(&self) -> serde_json::Value {
        match serde_json::from_slice(&self.output.stdout) {
            Ok(value) => value,
            Err(e) => panic!("expected JSON on stdout ({e})\n{}", self.describe()),
        }
    }

    /// Standard output is the JSON `expected` (compared as values, so
    /// layout does not matter).
    #[track_caller]
    pub fn assert_stdout_json(&self, expected: &str) -> &Outcome {
        let expected: serde_json::Value =
            serde_json::from_str(expected).expect("the expected JSON parses");
        let what = format!("stdout to be the JSON {expected}");
        self.assert(self.stdout_json() == expected, &what)
    }

    /// The command, its exit status, stdout and stderr, for a failure
    /// message.
    pub fn describe(&self) -> String {
        format!(
            "--- command\n{}\n--- {}\n--- stdout\n{}--- stderr\n{}---",
            self.command,
            self.output.status,
            shown(&self.stdout()),
            shown(&self.stderr()),
        )
    }

    /// `Err` naming `what` (with [`Outcome::describe`]) unless `holds`.
    pub fn check(&self, holds: bool, what: &str) -> Result<(), String> {
        if holds {
            Ok(())
        } else {
            Err(format!("expected {what}\n{}", self.describe()))
        }
    }

    /// Panic with the message of [`Outcome::check`] unless `holds`.
    #[track_caller]
    pub fn assert(&self, holds: bool, what: &str) -> &Outcome {
        or_panic(self.check(holds, what));
        self
    }

    /// The program exited with `code`.
    pub fn check_exit(&self, code: i32) -> Result<(), String> {
        self.check(self.code() == Some(code), &format!("exit code {code}"))
    }

    /// See [`Outcome::check_exit`].
    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Outcome {
        or_panic(self.check_exit(code));
        self
    }

    /// The program exited with 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Outcome {
        self.assert_exit(0)
    }

    /// The program failed: it exited with anything but 0.
    #[track_caller]
    pub fn assert_failed(&self) -> &Outcome {
        self.assert(!self.output.status.success(), "a failure")
    }

    /// Standard output holds `part`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, part: &str) -> &Outcome {
        let what = format!("stdout to contain {part:?}");
        self.assert(self.stdout().contains(part), &what)
    }

    /// Standard output is the same as `other`'s.
    #[track_caller]
    pub fn assert_same_stdout(&self, other: &Outcome) -> &Outcome {
        let what = format!("the same stdout as\n{}", other.describe());
        self.assert(self.stdout() == other.stdout(), &what)
    }

    /// Standard error holds `part`.
    pub fn check_stderr_contains(&self, part: &str) -> Result<(), String> {
        let what = format!("stderr to contain {part:?}");
        self.check(self.stderr().contains(part), &what)
    }

    /// See [`Outcome::check_stderr_contains`].
    #[track_caller]
    pub fn assert_stderr_contains(&self, part: &str) -> &Outcome {
        or_panic(self.check_stderr_contains(part));
        self
    }

    /// Standard output begins with `start`.
    #[track_caller]
    pub fn assert_stdout_starts_with(&self, start: &str) -> &Outcome {
        let what = format!("stdout to start with {start:?}");
        self.assert(self.stdout().starts_with(start), &what)
    }

    /// Standard error begins with `start`.
    pub fn check_stderr_starts_with(&self, start: &str) -> Result<(), String> {
        let what = format!("stderr to start with {start:?}");
        self.check(self.stderr().starts_with(start), &what)
    }

    /// See [`Outcome::check_stderr_starts_with`].
    #[track_caller]
    pub fn assert_stderr_starts_with(&self, start: &str) -> &Outcome {
        or_panic(self.check_stderr_starts_with(start));
        self
    }

    /// Nothing on standard output.
    pub fn check_stdout_empty(&self) -> Result<(), String> {
        self.check(self.output.stdout.is_empty(), "empty stdout")
    }

    /// See [`Outcome::check_stdout_empty`].
    #[track_caller]
    pub fn assert_stdout_empty(&self) -> &Outcome {
        or_panic(self.check_stdout_empty());
        self
    }

    /// Nothing on standard error.
    #[track_caller]
    pub fn assert_stderr_empty(&self) -> &Outcome {
        self.assert(self.output.stderr.is_empty(), "empty stderr")
    }
}

/// Panic with the message in `result`, at the caller's caller: a
/// closure in between would lose `#[track_caller]`'s location.
#[track_caller]
fn or_panic(result: Result<(), String>) {
    if let Err(message) = result {
        panic!("{message}");
    }
}

/// `text` as a failure message shows it: `(empty)`, or ending in a newline.
fn shown(text: &str) -> String {
    match text {
        "" => "(empty)\n".to_owned(),
        t if t.ends_with('\n') => t.to_owned(),
        t => format!("{t}\n(no newline at the end)\n"),
    }
}

/// Spawn, retrying while the executable is "busy": a binary a test just
/// copied can be held open for writing a moment longer by a child another
/// test thread forked meanwhile (it inherited the descriptor), and exec
/// then fails with ETXTBSY.
fn spawn(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => return r,
        }
    }
}
