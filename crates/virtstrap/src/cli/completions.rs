//! `virtstrap completions SHELL` and `virtstrap man`: shell completions
//! and man pages generated from the clap definitions in [`super`] (the
//! one source of every command, flag and help text, the libvirt commands
//! included), so they cannot drift from what the parser accepts. Neither
//! needs libvirt: the front executable runs them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, ClosedStdout};

/// Print a shell completion script
///
/// Completes every command and flag, and the values of flags that have a
/// fixed set. Load it for this shell, or install it:
///   bash: source <(virtstrap completions bash)
///         virtstrap completions bash > ~/.local/share/bash-completion/completions/virtstrap
///   zsh:  virtstrap completions zsh > ~/.zfunc/_virtstrap  (with ~/.zfunc in fpath)
///   fish: virtstrap completions fish > ~/.config/fish/completions/virtstrap.fish
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    shell: Shell,
}

/// The shells completions are made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Write the man pages.
///
/// Without --dir, prints virtstrap(1) to standard output (man -l - reads
/// it). With --dir, writes virtstrap.1 and one page per command
/// (virtstrap-apply.1, ...) into DIR, e.g. /usr/local/share/man/man1.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page into this directory (created if missing)
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// `virtstrap completions`.
pub fn completions(args: &CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "virtstrap", &mut script);
    to_stdout(&script)
}

/// `virtstrap man`.
pub fn man(args: &ManArgs) -> Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // fills in the subcommands' names as `virtstrap-apply` and the like
    cmd.build();
    let Some(dir) = &args.dir else {
        return to_stdout(&page(&cmd)?);
    };
    std::fs::create_dir_all(dir).map_err(|e| anyhow!("creating {}: {e}", dir.display()))?;
    let mut written = vec![write_page(dir, &cmd)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(write_page(dir, sub)?);
    }
    println!(
        "man: wrote {} pages into {} (virtstrap.1 and one per command)",
        written.len(),
        dir.display()
    );
    Ok(())
}

/// `cmd`'s page, titled in capitals as man pages are (`VIRTSTRAP-APPLY`).
fn page(cmd: &clap::Command) -> Result<Vec<u8>> {
    let name = page_name(cmd);
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .date(page_date())
        .source(format!("virtstrap {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|e| anyhow!("rendering the man page of {name}: {e}"))?;
    // clap_mangen sets a list of possible values off with `.br`, an empty
    // line (a `.sp`) and `.br` again: the same break as `.sp` alone, which
    // lint tools (`mandoc -Tlint`) accept without a warning
    let text = String::from_utf8_lossy(&out).replace("\n.br\n\n.br\n", "\n.sp\n");
    Ok(text.into_bytes())
}

/// The pages' date, `YYYY-MM-DD`: `SOURCE_DATE_EPOCH` when set (so a
/// package build makes the same pages every time), else today (UTC).
fn page_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(crate::apply::lock::now);
    let mut day = crate::apply::lock::utc(secs);
    day.truncate("YYYY-MM-DD".len());
    day
}

/// `virtstrap`, `virtstrap-apply`.
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

fn write_page(dir: &Path, cmd: &clap::Command) -> Result<PathBuf> {
    let path = dir.join(format!("{}.1", page_name(cmd)));
    crate::fsutil::write_atomic(&path, &page(cmd)?, 0o644)
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    Ok(path)
}

fn to_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ClosedStdout.into()),
        r => r.map_err(|e| anyhow!("writing to standard output: {e}")),
    }
}
