//! `virtstrap-host`: the `virtstrap` commands that talk to libvirt
//! (`plan`, `apply`, `destroy`, `status`). `virtstrap` hands them here
//! unchanged, so that its other commands start without loading libvirt's
//! client library; see [`virtstrap::cli::run`]. Run directly, it takes the
//! same command line as `virtstrap`.

use std::process::ExitCode;

fn main() -> ExitCode {
    virtstrap::cli::run_host(std::env::args_os().collect())
}
