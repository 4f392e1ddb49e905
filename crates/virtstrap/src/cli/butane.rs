//! `virtstrap butane`: the `butane` command, flag for flag.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use virtstrap_butane::{translate, Options};

use super::{clap_error, finish, ClosedStdout, Verbatim, EXIT_FAILED};

/// Translate Butane YAML to Ignition JSON (a drop-in for `butane`)
///
/// Reads INPUT, or standard input when it is absent, and writes the
/// Ignition JSON to standard output (or --output). Warnings and errors go
/// to standard error with the file, line, column and key path; unknown keys
/// are warnings unless --strict. Exit status: 0 translated, 1 the config is
/// invalid or a file could not be read or written.
///
/// Examples:
///   virtstrap butane --pretty node.bu > node.ign
///   virtstrap butane -d files/ -o node.ign node.bu
///   virtstrap butane --check --strict node.bu
#[derive(Debug, Parser)]
#[command(name = "butane", version, verbatim_doc_comment, max_term_width = 80)]
pub struct Args {
    /// Butane config to read (default: standard input)
    pub input: Option<PathBuf>,
    /// Write formatted (indented) JSON
    #[arg(short, long)]
    pub pretty: bool,
    /// Fail on any warning
    #[arg(short, long)]
    pub strict: bool,
    /// Allow embedding local files from this directory
    #[arg(short = 'd', long, value_name = "DIR")]
    pub files_dir: Option<PathBuf>,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Check the config without producing output
    #[arg(short, long)]
    pub check: bool,
    /// Never wrap in a MachineConfig; force Ignition output (accepted for
    /// compatibility: this tool always writes Ignition)
    #[arg(short, long)]
    pub raw: bool,
    /// Print errors one per line (`error at $.path, line L col C: ...`)
    /// instead of with the source line and a caret
    #[arg(long)]
    pub raw_errors: bool,
    /// Colour the report: auto, always or never
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: String,
}

/// Entry point when the binary is invoked as `butane`.
pub fn run_as_butane(argv: Vec<OsString>) -> ExitCode {
    match Args::try_parse_from(argv) {
        Ok(args) => finish(run(&args)),
        Err(e) => clap_error(&e),
    }
}

/// Entry point for `virtstrap butane ...` (`argv` whole): the arguments
/// are parsed by this command's parser alone, as `virtstrap` would parse
/// them, without first building the parser of every other command (the
/// command has a 2 ms budget per process).
pub fn run_as_subcommand(argv: Vec<OsString>) -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Args::command()
        .name("virtstrap-butane")
        .bin_name("virtstrap butane")
        .version(env!("CARGO_PKG_VERSION"))
        .try_get_matches_from(argv.into_iter().skip(1))
        .and_then(|m| Args::from_arg_matches(&m));
    match parsed {
        Ok(args) => finish(run(&args)),
        Err(e) => clap_error(&e),
    }
}

/// Run the command.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let (name, input) = read_input(args).map_err(failed)?;
    let opts = Options {
        files_dir: args.files_dir.clone(),
        no_auto_compression: false,
    };
    let color = match args.color.as_str() {
        "always" | "yes" => true,
        "never" | "no" => false,
        _ => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    };
    let source = String::from_utf8_lossy(&input);
    let render = |r: &virtstrap_butane::Report| {
        if args.raw_errors {
            r.raw()
        } else {
            r.pretty(&name, &source, color)
        }
    };
    let t = translate(&input, &opts).map_err(|e| {
        let report = render(&e.report);
        failed(format!("{report}Error translating config: {}", e.summary))
    })?;
    eprint!("{}", render(&t.report));
    if args.strict && !t.report.entries.is_empty() {
        return Err(failed("Config produced warnings and --strict was specified".into()).into());
    }
    if args.check {
        return Ok(());
    }
    let mut json = t.to_json(args.pretty);
    json.push('\n');
    write_output(args, json.as_bytes())
}

/// A failure in the real `butane`'s own words: exit 1.
fn failed(text: String) -> Verbatim {
    Verbatim {
        text,
        code: EXIT_FAILED,
    }
}

fn read_input(args: &Args) -> Result<(String, Vec<u8>), String> {
    use crate::fsutil::{read_capped, read_regular, MAX_BUTANE_BYTES};
    match &args.input {
        // `-` is standard input, as for the real butane
        Some(p) if p.as_os_str() != "-" => read_regular(p, MAX_BUTANE_BYTES)
            .map(|b| (p.display().to_string(), b))
            .map_err(|e| format!("failed to open {}: {e}", p.display())),
        _ => read_capped(std::io::stdin().lock(), MAX_BUTANE_BYTES)
            .map(|b| ("<stdin>".into(), b))
            .map_err(|e| format!("failed to read <stdin>: {e}")),
    }
}

/// Ignition configs hold password hashes and keys: a new file is readable
/// by its owner only. Written as the real butane writes: through a
/// symlink, a device or a FIFO; a regular file replaced atomically.
fn write_output(args: &Args, data: &[u8]) -> anyhow::Result<()> {
    let Some(path) = &args.output else {
        let mut out = std::io::stdout().lock();
        return match out.write_all(data).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ClosedStdout.into()),
            r => r.map_err(|e| failed(format!("failed to write config to stdout: {e}")).into()),
        };
    };
    crate::fsutil::write_through(path, data, 0o600)
        .map_err(|e| failed(format!("failed to write config to {}: {e}", path.display())).into())
}
