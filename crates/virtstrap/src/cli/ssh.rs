//! `virtstrap ssh NODE [-- CMD...]` and `virtstrap console NODE`: log in
//! to a node as its OS's default user at the address it was found at
//! (else the one reserved for it), or follow its serial console log.

use std::os::unix::process::CommandExt as _;

use anyhow::{anyhow, Result};
use clap::Args as ClapArgs;

use crate::render::host::console_log_path;
use crate::wait::discover::addresses;

use super::host::{node_index, HostArgs};

/// Log in to a node over SSH (as core)
///
/// Runs `ssh core@ADDRESS`, the address being the one the node was found
/// at (DHCP lease, ARP table or guest agent), else the one reserved for
/// it. Host keys are kept per cluster, not in your known_hosts, and a
/// rebuilt node's are forgotten by apply. Anything after `--` is run on
/// the node instead of a shell.
///
/// Examples:
///   virtstrap ssh cp1
///   virtstrap ssh worker1 -- cat /etc/hostname
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct SshArgs {
    #[command(flatten)]
    host: HostArgs,
    /// Private key to log in with (default: ssh's own choice)
    #[arg(short, long, value_name = "FILE")]
    identity: Option<std::path::PathBuf>,
    /// The node
    node: String,
    /// Command to run on the node
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// Follow a node's serial console log
///
/// Shows the last 200 lines of the node's serial console and follows it
/// (Ctrl-C stops). The log is a file on the libvirt host, so this works
/// where that host is this machine.
#[derive(Debug, ClapArgs)]
pub struct ConsoleArgs {
    #[command(flatten)]
    host: HostArgs,
    /// The node
    node: String,
}

/// `virtstrap ssh`.
pub fn ssh(args: &SshArgs) -> Result<()> {
    let s = args.host.open_for_node(&args.node)?;
    let c = &s.cluster;
    let i = node_index(c, &args.node)?;
    let address = addresses(&s.backend, c)?.swap_remove(i);
    let Some(ip) = address.best() else {
        return Err(anyhow!(
            "node {} has no address yet: it is not running or has no lease \
             (virtstrap status shows it; apply --wait waits for it)",
            args.node
        ));
    };
    let user = c.os.default_user();
    let mut ssh = crate::ssh::command(&c.name, user, ip, &args.command);
    if let Some(key) = &args.identity {
        // before the destination, where ssh reads its options
        let rest: Vec<std::ffi::OsString> = ssh.get_args().map(ToOwned::to_owned).collect();
        ssh = std::process::Command::new("ssh");
        ssh.arg("-i")
            .arg(key)
            .arg("-o")
            .arg("IdentitiesOnly=yes")
            .args(rest);
    }
    let err = ssh.exec();
    Err(anyhow!("cannot run ssh: {err} (install openssh-client)"))
}

/// `virtstrap console`.
pub fn console(args: &ConsoleArgs) -> Result<()> {
    let s = args.host.open_for_node(&args.node)?;
    let c = &s.cluster;
    let node = &c.nodes[node_index(c, &args.node)?];
    let log = console_log_path(&s.host, &c.domain_name(node));
    if !log.exists() {
        return Err(anyhow!(
            "no console log at {} on this machine: the node never started here, or its \
             libvirt host ({}) is another machine",
            log.display(),
            s.uri
        ));
    }
    let err = std::process::Command::new("tail")
        .args(["-n", "200", "-F"])
        .arg(&log)
        .exec();
    Err(anyhow!("cannot run tail: {err}"))
}
