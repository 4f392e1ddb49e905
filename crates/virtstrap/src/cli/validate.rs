//! `virtstrap validate`: load and check the spec and every node's
//! Ignition; touch nothing.

use clap::Args as ClapArgs;

use crate::render::ignition::node_ignition;
use crate::spec::Role;

use super::spec_args::{IgnitionErrors, SpecArgs};

/// Check a cluster spec and its Butane files, touching no host
///
/// Every problem is reported with file, line, column and key path; the
/// exit status is 2 if there is any. Each node's Ignition config is built
/// (the cluster's Butane files, virtstrap's hostname and SSH keys, then
/// the node's own) and checked too.
///
/// Examples:
///   virtstrap validate
///   virtstrap validate -f examples/seed/vars.yml --butane examples/seed/node.bu
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    spec: SpecArgs,
}

/// Run the command.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let loaded = args.spec.load()?;
    let c = &loaded.cluster;
    let mut failed = Vec::new();
    let mut warned: Vec<std::path::PathBuf> = Vec::new();
    for node in &c.nodes {
        match node_ignition(c, node, &loaded.butane) {
            Ok(ign) => {
                for (file, report) in ign.warnings {
                    if !warned.contains(&file) {
                        for line in report.raw().lines() {
                            eprintln!("{}: {line}", file.display());
                        }
                        warned.push(file);
                    }
                }
            }
            Err(e) => failed.push(e),
        }
    }
    if !failed.is_empty() {
        return Err(IgnitionErrors(failed).into());
    }
    // kubespray's own check, foreseen: it refuses an even etcd group
    if let Some(even) = crate::inventory::even_etcd(c) {
        eprintln!("warning: {even}");
    }
    let count = |role: Role| c.nodes.iter().filter(|n| n.roles.contains(&role)).count();
    let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
    println!(
        "{}: valid: cluster {}, {} ({} control-plane, {} worker), {} and {} declared",
        args.spec.file.display(),
        c.name,
        n(c.nodes.len(), "node"),
        count(Role::ControlPlane),
        count(Role::Worker),
        n(c.networks.len(), "network"),
        n(c.pools.len(), "pool")
    );
    Ok(())
}
