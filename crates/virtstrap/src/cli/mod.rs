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

/// Run the program on `argv`. Invoked as `butane` (a symlink), it
/// behaves as the `butane` command itself.
pub fn run(argv: Vec<OsString>) -> ExitCode {
    let invoked_as = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if invoked_as == "butane" {
        return butane::run_as_butane(argv);
    }
    match Cli::try_parse_from(argv) {
        Ok(cli) => match cli.command {
            Command::Butane(args) => butane::run(&args),
            Command::Init(args) => init::run(&args),
            Command::Plan(args) => cluster::plan(&args),
            Command::Apply(args) => cluster::apply(&args),
            Command::Destroy(args) => cluster::destroy(&args),
            Command::Status(args) => cluster::status(&args),
            Command::Render(args) => render::run(&args),
            Command::Validate(args) => validate::run(&args),
        },
        Err(e) => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 })
        }
    }
}
