//! `virtstrap completions` and `virtstrap man`, checked by the real
//! tools: each script parses in its shell (`bash -n`, `zsh -n`,
//! `fish --no-execute`), bash completes with it, and the man pages pass
//! `mandoc -Tlint` and `groff -ww` without a warning. Every command that
//! `virtstrap --help` lists is in each. A missing tool fails the test,
//! naming its Debian package (`bash .ci/run` installs them all).

use std::path::Path;
use std::process::Command;

use crate::util::{virtstrap, Dir, TestCommand};

/// The commands `virtstrap --help` lists (but `help`).
fn commands() -> Vec<String> {
    let dir = Dir::new();
    let help = dir.command().args(["--help"]).run();
    help.assert_exit(0);
    let text = help.stdout();
    let listed = text
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a Commands: section");
    let names: Vec<String> = listed
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    for expected in ["apply", "butane", "reset", "completions", "man", "ssh"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    names
}

/// `tool args...`, which must be installed: its exit status and output.
fn tool(dir: &Dir, tool: &str, package: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}): apt-get install {package}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn script(dir: &Dir, shell: &str) -> String {
    let out = dir.command().args(["completions", shell]).run();
    out.assert_exit(0);
    let text = out.stdout();
    for c in commands() {
        assert!(text.contains(&c), "{shell} completions lack {c}");
    }
    dir.write(&format!("virtstrap.{shell}"), &text);
    text
}

#[test]
fn bash_completions_parse_and_complete_commands_and_flags() {
    let dir = Dir::new();
    script(&dir, "bash");
    let (ok, text) = tool(&dir, "bash", "bash", &["-n", "virtstrap.bash"]);
    assert!(ok, "bash -n: {text}");
    // what bash runs on TAB: the completion function with the words so far
    // (`''`: the empty word after a space)
    let complete = |line: &str| {
        let program = format!(
            "source ./virtstrap.bash; complete -p virtstrap; COMP_LINE=\"{line}\"; \
             COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_POINT=${{#COMP_LINE}}; fn=$(complete -p virtstrap | sed 's/.*-F \\([^ ]*\\).*/\\1/'); \
             \"$fn\" virtstrap \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let (ok, text) = tool(&dir, "bash", "bash", &["-c", &program]);
        assert!(ok, "bash: {text}");
        text
    };
    let words = complete("virtstrap re");
    assert!(words.contains(" -F _virtstrap virtstrap"), "{words}");
    for w in ["reset", "render"] {
        assert!(words.lines().any(|l| l == w), "{w} in {words}");
    }
    let flags = complete("virtstrap reset --d");
    assert!(flags.lines().any(|l| l == "--data"), "--data in {flags}");
    let shells = complete("virtstrap completions ''");
    for w in ["bash", "zsh", "fish"] {
        assert!(shells.lines().any(|l| l == w), "{w} in {shells}");
    }
}

#[test]
fn zsh_and_fish_completions_parse_in_their_shells() {
    let dir = Dir::new();
    assert!(script(&dir, "zsh").starts_with("#compdef virtstrap"));
    let (ok, text) = tool(&dir, "zsh", "zsh", &["-n", "virtstrap.zsh"]);
    assert!(ok, "zsh -n: {text}");
    script(&dir, "fish");
    let (ok, text) = tool(&dir, "fish", "fish", &["--no-execute", "virtstrap.fish"]);
    assert!(ok, "fish --no-execute: {text}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let dir = Dir::new();
    dir.command()
        .args(["completions", "tcsh"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("possible values: bash, zsh, fish");
}

/// `mandoc -Tlint` and `groff -ww` on the page at `path`: no warning.
fn lint(dir: &Dir, path: &Path) {
    let p = path.to_str().expect("utf-8 path");
    let (_, text) = tool(dir, "mandoc", "mandoc", &["-Tlint", "-W", "warning", p]);
    assert!(text.is_empty(), "mandoc -Tlint {p}:\n{text}");
    let (ok, text) = tool(dir, "groff", "groff", &["-man", "-Tutf8", "-ww", "-z", p]);
    assert!(ok && text.is_empty(), "groff -ww {p}:\n{text}");
}

#[test]
fn the_man_page_names_every_command_and_lints_clean() {
    let dir = Dir::new();
    let out = dir.command().args(["man"]).run();
    out.assert_exit(0)
        .assert_stdout_starts_with(".ie \\n(.g .ds Aq \\(aq")
        .assert_stdout_contains(".TH VIRTSTRAP 1");
    let page = out.stdout();
    for c in commands() {
        let named = format!("virtstrap\\-{}(1)", c.replace('-', "\\-"));
        assert!(page.contains(&named), "virtstrap.1 lacks {named}");
    }
    dir.write("virtstrap.1", &page);
    lint(&dir, &dir.join("virtstrap.1"));
}

#[test]
fn man_dir_writes_a_page_per_command() {
    let dir = Dir::new();
    dir.command()
        .args(["man", "--dir", "pages"])
        .run()
        .assert_exit(0)
        .assert_stdout_contains("pages");
    let mut names = vec!["virtstrap".to_string()];
    names.extend(commands().iter().map(|c| format!("virtstrap-{c}")));
    for name in names {
        let path = dir.join(&format!("pages/{name}.1"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}.1: {e}"));
        let title = format!(".TH {} 1 ", name.to_uppercase());
        assert!(text.contains(&title), "{title} in {name}.1");
        assert!(
            text.contains("\"virtstrap "),
            "the source names virtstrap: {name}.1"
        );
        lint(&dir, &path);
    }
    let reset = dir.read("pages/virtstrap-reset.1");
    assert!(
        reset.contains("\\-\\-data"),
        "reset's page documents --data"
    );
}

#[test]
fn completions_and_man_need_no_libvirt() {
    // virtstrap alone, without virtstrap-host beside it
    let dir = Dir::new();
    let lone = dir.join("virtstrap");
    std::fs::copy(virtstrap(), &lone).expect("copy virtstrap alone");
    for args in [&["completions", "bash"][..], &["man"][..]] {
        TestCommand::new(&lone, dir.path())
            .args(args)
            .run()
            .assert_exit(0);
    }
}
