//! `virtstrap reset NODE...`: under the cluster lock, plan the reset
//! ([`crate::plan::reset`]), show it, confirm, execute it with apply's
//! executor, forget the nodes' SSH host keys, and with `--wait` watch
//! them come up again.

use anyhow::Result;
use clap::Args as ClapArgs;

use crate::plan::reset::reset_plan;
use crate::plan::{Action, Desired, Plan};

use super::converge::{converge, RunArgs, STOP};
use crate::session::Session;

use super::host::{node_index, Format, HostArgs, Opened};
use super::wait::{watch, WaitArgs};

/// Make nodes pristine again: a fresh root disk, Ignition run anew
///
/// Takes the cluster's lock, powers each node off, replaces its root disk
/// with a fresh overlay on the base image, makes its Ignition volume
/// again from the spec and uploads it, then starts it: the node boots as
/// new and runs Ignition again. Extra data disks are kept unless --data.
/// Asks for confirmation on a terminal (without one it refuses unless
/// --yes). A reset cut short is finished by the next reset or apply.
///
/// Examples:
///   virtstrap reset worker1
///   virtstrap reset --yes --wait worker1 worker2
///   virtstrap reset --yes --data cp1
#[derive(Debug, ClapArgs)]
#[command(
    verbatim_doc_comment,
    mut_arg("wait", |a| a.help(WAIT_HELP).long_help(WAIT_HELP))
)]
pub struct Args {
    /// Nodes to reset, by their names in the spec (worker1, cp1)
    #[arg(value_name = "NODE", required = true)]
    nodes: Vec<String>,
    /// Make the extra data disks again, empty (default: kept as they are)
    #[arg(long)]
    data: bool,
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

/// `--wait` for reset: no inventory is written (the addresses are the
/// reserved ones, as before the reset).
const WAIT_HELP: &str = "After the reset, wait until each node is up again: running, its \
    address leased, SSH answering (where this machine can reach it)";

/// `virtstrap reset`: on the spec's host, or (several hosts) on the host
/// of each node named, one host after another.
pub fn run(args: &Args) -> Result<()> {
    let work: Vec<(Session, Vec<String>)> = match args.host.open_any(false, false)? {
        Opened::One(s) => vec![(*s, args.nodes.clone())],
        Opened::Fleet(f) => {
            let (cluster, fleet) = *f;
            for n in &args.nodes {
                node_index(&cluster, n)?;
            }
            fleet
                .members
                .into_iter()
                .map(|m| {
                    let here = args
                        .nodes
                        .iter()
                        .filter(|n| m.session.cluster.node(n).is_some())
                        .cloned()
                        .collect::<Vec<_>>();
                    (m.session, here)
                })
                .filter(|(_, here)| !here.is_empty())
                .collect()
        }
    };
    for (s, nodes) in work {
        reset_on(s, &nodes, args)?;
    }
    Ok(())
}

/// Reset `nodes` on the host of `s`.
fn reset_on(s: Session, nodes: &[String], args: &Args) -> Result<()> {
    let (s, want, plan) = converge(
        s,
        &args.run,
        args.wait.output,
        "reset",
        "Reset these nodes?",
        |s, w| Ok(reset_plan(&s.backend, w, nodes, args.data)?),
    )?;
    // a reset node has a new host key: forget the old one
    crate::ssh::forget_rebuilt(&s.cluster.name, &plan, &want);
    let reset = reset_nodes(&want, &plan);
    if args.wait.output == Format::Text {
        let disks = if args.data { "made again" } else { "kept" };
        for node in &reset.nodes {
            println!(
                "reset {}: fresh root disk, Ignition uploaded again, started (data disks {disks})",
                node.node
            );
        }
    }
    if args.wait.wait {
        watch(&s, &reset, &args.wait, &STOP)?;
    }
    Ok(())
}

/// `want` with only the nodes `plan` starts again.
fn reset_nodes(want: &Desired, plan: &Plan) -> Desired {
    let started = |node: &str| {
        plan.steps
            .iter()
            .any(|s| &*s.node == node && matches!(s.action, Action::StartDomain { .. }))
    };
    let mut out = want.clone();
    out.nodes.retain(|n| started(&n.node));
    out
}
