//! Command-line front end: clap types and a thin dispatch. Each command
//! parses, calls the core and prints; errors come back to one door,
//! `finish`, which prints them and picks the exit code.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::plan::PlanError;
use crate::render::ignition::IgnitionError;
use crate::spec::SpecError;

mod butane;
mod completions;
mod converge;
mod doctor;
mod fleet;
mod host;
mod image;
mod init;
mod inventory;
mod plan;
mod render;
mod reset;
mod spec_args;
mod ssh;
mod status;
mod validate;
mod wait;

/// Exit code for a failed operation.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for bad input (nothing was changed).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code when standard output (or error) was closed under us: what a
/// shell reports for a tool that SIGPIPE ended (128 + 13).
pub const EXIT_CLOSED_PIPE: u8 = 141;

/// Kubernetes-ready VM clusters on libvirt hosts, from one YAML file.
#[derive(Debug, Parser)]
#[command(name = "virtstrap", version, about, long_about = None, max_term_width = 80)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Offline(Offline),
    #[command(flatten)]
    Host(HostCommand),
}

/// The commands that need no libvirt.
#[derive(Debug, Subcommand)]
enum Offline {
    Butane(butane::Args),
    Init(init::Args),
    Inventory(inventory::Args),
    Render(render::Args),
    Validate(validate::Args),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
}

/// The commands that talk to a libvirt host, run by [`HOST_EXE`].
#[derive(Debug, Subcommand)]
enum HostCommand {
    Plan(plan::Args),
    Apply(converge::ApplyArgs),
    Destroy(converge::DestroyArgs),
    Status(status::Args),
    Ssh(ssh::SshArgs),
    Console(ssh::ConsoleArgs),
    Doctor(doctor::Args),
    Image(image::Args),
    Reset(reset::Args),
}

/// Name of the executable that runs the commands which talk to libvirt
/// (`plan`, `apply`, `destroy`, `status`), installed next to `virtstrap`.
pub const HOST_EXE: &str = "virtstrap-host";

/// Run the `virtstrap` executable on `argv`. It does not load libvirt:
/// libvirt's client library pulls in some fifty shared libraries, every
/// one bound at load time, which costs ~15 ms at each start, eight times
/// the whole budget of a `virtstrap butane` run. So the commands that
/// talk to libvirt are handed, argv unchanged, to [`HOST_EXE`] beside
/// this executable (which runs [`run_host`]); everything else runs here.
/// Invoked as `butane` (a symlink), it behaves as the `butane` command.
pub fn run(argv: Vec<OsString>) -> ExitCode {
    quiet_on_closed_pipe();
    if invoked_as(&argv) == "butane" {
        return butane::run_as_butane(argv);
    }
    if argv.get(1).is_some_and(|a| a == "butane") {
        return butane::run_as_subcommand(argv);
    }
    match Cli::try_parse_from(&argv) {
        Ok(Cli {
            command: Command::Host(_),
        }) => finish(exec_host(&argv)),
        Ok(Cli {
            command: Command::Offline(Offline::Inventory(args)),
        }) if args.needs_host() => finish(exec_host(&argv)),
        Ok(Cli {
            command: Command::Offline(command),
        }) => finish(run_offline(command)),
        Err(e) => clap_error(&e),
    }
}

/// Run every command, those that talk to libvirt included: the main of
/// [`HOST_EXE`].
pub fn run_host(argv: Vec<OsString>) -> ExitCode {
    quiet_on_closed_pipe();
    match Cli::try_parse_from(argv) {
        Ok(cli) => finish(match cli.command {
            Command::Host(HostCommand::Plan(args)) => plan::run(&args),
            Command::Host(HostCommand::Apply(args)) => converge::apply(&args),
            Command::Host(HostCommand::Destroy(args)) => converge::destroy(&args),
            Command::Host(HostCommand::Status(args)) => status::run(&args),
            Command::Host(HostCommand::Ssh(args)) => ssh::ssh(&args),
            Command::Host(HostCommand::Console(args)) => ssh::console(&args),
            Command::Host(HostCommand::Doctor(args)) => doctor::run(&args),
            Command::Host(HostCommand::Image(args)) => image::run(&args),
            Command::Host(HostCommand::Reset(args)) => reset::run(&args),
            Command::Offline(Offline::Inventory(args)) => {
                inventory::run_with(&args, &inventory::discovered_addresses)
            }
            Command::Offline(command) => run_offline(command),
        }),
        Err(e) => clap_error(&e),
    }
}

fn invoked_as(argv: &[OsString]) -> String {
    argv.first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn run_offline(command: Offline) -> Result<()> {
    match command {
        Offline::Butane(args) => butane::run(&args),
        Offline::Init(args) => init::run(&args),
        Offline::Inventory(args) => inventory::run_with(&args, &inventory::no_host),
        Offline::Render(args) => render::run(&args),
        Offline::Validate(args) => validate::run(&args),
        Offline::Completions(args) => completions::completions(&args),
        Offline::Man(args) => completions::man(&args),
    }
}

/// A closed standard output or error (`virtstrap plan | head`) ends the
/// process quietly with [`EXIT_CLOSED_PIPE`], as a Unix tool that SIGPIPE
/// ends: no panic, no message (there is nowhere to print it).
///
/// Rust ignores SIGPIPE, so a write to a closed pipe fails with EPIPE and
/// `print!` panics on it. SIGPIPE is not restored instead: it would also
/// end the process on a closed libvirt or SSH socket, where an error is
/// wanted. Every command prints only after its work is whole (`init`
/// writes its files first), so stopping at a print leaves nothing
/// half-written.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // std's words for a failed print, with the OS error EPIPE
        let closed = msg.starts_with("failed printing to std")
            && msg.ends_with(&format!("(os error {})", libc::EPIPE));
        if closed {
            std::process::exit(i32::from(EXIT_CLOSED_PIPE));
        }
        default(info);
    }));
}

/// Standard output was closed before everything was written: leave
/// quietly with [`EXIT_CLOSED_PIPE`], printing nothing.
#[derive(Debug, thiserror::Error)]
#[error("standard output is closed")]
pub struct ClosedStdout;

/// Whether `e` is a write into a closed pipe: [`ClosedStdout`], or an
/// EPIPE a command met writing its output with `?` (virtstrap writes
/// into no pipe but its stdout; libvirt's errors are not I/O errors).
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<ClosedStdout>()
            || c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Bad input, or a refusal before anything was changed: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// An error whose text is shown exactly as it is, with its own exit code:
/// the `butane` drop-in's messages, which follow the real `butane`.
#[derive(Debug, thiserror::Error)]
#[error("{text}")]
pub struct Verbatim {
    /// What to print (a final newline is added if missing).
    pub text: String,
    /// The exit code.
    pub code: u8,
}

/// The one door errors leave by: print the error (each cause once) and
/// pick the exit code. 2 for bad input and plan-time refusals (the spec,
/// its Butane, a conflict with what the host has, a host that cannot run
/// the spec), 1 for everything else.
fn finish(result: Result<()>) -> ExitCode {
    let Err(e) = result else {
        return ExitCode::SUCCESS;
    };
    if closed_pipe(&e) {
        return ExitCode::from(EXIT_CLOSED_PIPE);
    }
    let code = exit_code(&e);
    let mut text = error_text(&e);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    eprint!("{text}");
    ExitCode::from(code)
}

fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(v) = e.downcast_ref::<Verbatim>() {
        return v.code;
    }
    let bad = e.chain().any(|c| {
        c.is::<BadInput>()
            || c.is::<SpecError>()
            || c.is::<IgnitionError>()
            || c.is::<spec_args::IgnitionErrors>()
            || matches!(c.downcast_ref(), Some(PlanError::Conflicts(_)))
    });
    if bad {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILED
    }
}

/// `error: what: why: libvirt's words`, each cause once; a spec's own
/// report (one problem a line, each with file:line:col) as it is.
fn error_text(e: &anyhow::Error) -> String {
    if let Some(v) = e.downcast_ref::<Verbatim>() {
        return v.text.clone();
    }
    if let Some(s) = e.downcast_ref::<SpecError>() {
        return s.to_string();
    }
    let mut said: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !said.iter().any(|s| s.contains(&text)) {
            said.push(text);
        }
    }
    let mut out = format!("error: {}", said.join(": "));
    if e.chain()
        .any(|c| matches!(c.downcast_ref(), Some(PlanError::Conflicts(_))))
    {
        out.push_str("\nnothing was changed");
    }
    out
}

fn clap_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 })
}

/// Replace this process with [`HOST_EXE`] from this executable's
/// directory, same arguments and `argv[0]`; returns only on failure.
fn exec_host(argv: &[OsString]) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let Some(host) = dir.map(|d| d.join(HOST_EXE)) else {
        anyhow::bail!("cannot tell which directory virtstrap runs from, to find {HOST_EXE}");
    };
    let err = std::process::Command::new(&host)
        .arg0(argv.first().cloned().unwrap_or_else(|| "virtstrap".into()))
        .args(argv.iter().skip(1))
        .exec();
    anyhow::bail!(
        "cannot run {}: {err}\n  {HOST_EXE} runs the commands that talk to libvirt and must be \
         installed next to virtstrap (cargo install and cargo build put both there)",
        host.display()
    )
}
