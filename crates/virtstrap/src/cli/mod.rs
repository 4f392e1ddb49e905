//! Command-line front end: clap types and a thin dispatch. Each command
//! parses, calls the core, prints, and returns an exit code.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod butane;
mod cluster;
mod init;
mod render;
mod spec_args;
mod validate;

/// Exit code for a failed operation.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for bad input (nothing was changed).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Kubernetes-ready VM clusters on libvirt hosts, from one YAML file.
#[derive(Debug, Parser)]
#[command(name = "virtstrap", version, about, long_about = None, max_term_width = 80)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Butane(butane::Args),
    Init(init::Args),
    Plan(cluster::PlanArgs),
    Apply(cluster::ApplyArgs),
    Destroy(cluster::DestroyArgs),
    Status(cluster::StatusArgs),
    Render(render::Args),
    Validate(validate::Args),
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
    if invoked_as(&argv) == "butane" {
        return butane::run_as_butane(argv);
    }
    if argv.get(1).is_some_and(|a| a == "butane") {
        return butane::run_as_subcommand(argv);
    }
    match Cli::try_parse_from(&argv) {
        Ok(cli) => match cli.command {
            Command::Plan(_) | Command::Apply(_) | Command::Destroy(_) | Command::Status(_) => {
                exec_host(&argv)
            }
            command => run_offline(command),
        },
        Err(e) => clap_error(&e),
    }
}

/// Run every command, those that talk to libvirt included: the main of
/// [`HOST_EXE`].
pub fn run_host(argv: Vec<OsString>) -> ExitCode {
    match Cli::try_parse_from(argv) {
        Ok(cli) => match cli.command {
            Command::Plan(args) => cluster::plan(&args),
            Command::Apply(args) => cluster::apply(&args),
            Command::Destroy(args) => cluster::destroy(&args),
            Command::Status(args) => cluster::status(&args),
            command => run_offline(command),
        },
        Err(e) => clap_error(&e),
    }
}

fn invoked_as(argv: &[OsString]) -> String {
    argv.first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The commands that need no libvirt.
fn run_offline(command: Command) -> ExitCode {
    match command {
        Command::Butane(args) => butane::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Plan(_) | Command::Apply(_) | Command::Destroy(_) | Command::Status(_) => {
            unreachable!("host commands are dispatched before")
        }
    }
}

fn clap_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 })
}

/// Replace this process with [`HOST_EXE`] from this executable's
/// directory, same arguments and `argv[0]`; returns only on failure.
fn exec_host(argv: &[OsString]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let Some(host) = dir.map(|d| d.join(HOST_EXE)) else {
        eprintln!("error: cannot tell which directory virtstrap runs from, to find {HOST_EXE}");
        return ExitCode::from(EXIT_FAILED);
    };
    let err = std::process::Command::new(&host)
        .arg0(argv.first().cloned().unwrap_or_else(|| "virtstrap".into()))
        .args(argv.iter().skip(1))
        .exec();
    eprintln!(
        "error: cannot run {}: {err}\n  {HOST_EXE} runs the commands that talk to libvirt and must be \
         installed next to virtstrap (cargo install and cargo build put both there)",
        host.display()
    );
    ExitCode::from(EXIT_FAILED)
}
