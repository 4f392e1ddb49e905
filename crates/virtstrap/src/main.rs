//! `virtstrap`: one YAML file in, a libvirt cluster out. This binary only
//! parses the command line, calls one library function and maps the result
//! to an exit code (0 ok, 1 failed, 2 bad input).

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::run(std::env::args_os().collect())
}
