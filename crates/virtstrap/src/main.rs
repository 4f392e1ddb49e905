//! `virtstrap`: one YAML file in, a libvirt cluster out. This binary only
//! hands the command line to [`virtstrap::cli::run`], which parses it,
//! calls one library function and maps the result to an exit code
//! (0 ok, 1 failed, 2 bad input).

use std::process::ExitCode;

fn main() -> ExitCode {
    virtstrap::cli::run(std::env::args_os().collect())
}
