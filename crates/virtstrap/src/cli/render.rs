//! `virtstrap render NODE`: print what apply would create for one node.

use clap::{Args as ClapArgs, ValueEnum};

use crate::render::domain::{domain_xml_with_ignition, DomainOptions};
use crate::render::host::HostFacts;
use crate::render::ignition::{ignition_hash, node_ignition, NodeIgnition};
use crate::render::network::network_xml;
use crate::render::storage::{node_volumes, pool_xml};
use crate::render::xml::comment_line;
use crate::spec::{Cluster, Node};

use super::spec_args::{IgnitionErrors, SpecArgs};
use super::BadInput;

/// Print the libvirt XML and the Ignition config for one node.
///
/// Nothing is touched: the output is what `apply` would define. Pool
/// paths not declared in the spec are assumed to be
/// /var/lib/libvirt/images. --explain puts a comment before each XML
/// element saying why it is there.
///
/// Examples:
///   virtstrap render master1 --explain
///   virtstrap render worker2 --only ignition > worker2.ign
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Node to render (as named in the spec, after count expansion)
    node: String,
    #[command(flatten)]
    spec: SpecArgs,
    /// Comment every XML element with why it is there
    #[arg(long)]
    explain: bool,
    /// Pass Ignition with -fw_cfg in <qemu:commandline> (libvirt < 6.5)
    #[arg(long)]
    qemu_commandline_fw_cfg: bool,
    /// Print only this part
    #[arg(long, value_enum)]
    only: Option<Part>,
}

/// A part of the rendering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// The domain XML
    Domain,
    /// The node's volumes (root overlay, data disks, Ignition)
    Volumes,
    /// The declared networks and pools the node uses
    Networks,
    /// The node's Ignition config (JSON)
    Ignition,
}

/// Run the command.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let loaded = args.spec.load()?;
    let c = &loaded.cluster;
    let Some(node) = c.node(&args.node) else {
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        return Err(BadInput(format!(
            "no node {:?} in {}; nodes: {}",
            args.node,
            args.spec.file.display(),
            names.join(", ")
        ))
        .into());
    };
    let ign = node_ignition(c, node, &loaded.butane).map_err(IgnitionErrors::from)?;
    print!("{}", render(args, c, node, &ign));
    Ok(())
}

/// The parts `--only` asks for (all of them without it), in order.
fn render(args: &Args, c: &Cluster, node: &Node, ign: &NodeIgnition) -> String {
    let host = HostFacts::default();
    let show = |p: Part| args.only.is_none_or(|o| o == p);
    let mut out = String::new();
    if show(Part::Domain) {
        out.push_str(&domain(args, c, node, &host, ign));
    }
    if show(Part::Volumes) {
        out.push_str(&volumes(c, node, &host));
    }
    if show(Part::Networks) {
        out.push_str(&networks_and_pools(c, node));
    }
    if show(Part::Ignition) {
        out.push_str(&ignition(ign, args.only.is_none()));
    }
    out
}

/// The domain XML, with the hash of the Ignition config it is given.
fn domain(args: &Args, c: &Cluster, node: &Node, host: &HostFacts, ign: &NodeIgnition) -> String {
    let opts = DomainOptions {
        explain: args.explain,
        qemu_commandline_fw_cfg: args.qemu_commandline_fw_cfg,
    };
    let mut out = comment_line(&format!("domain {}", c.domain_name(node)));
    let hash = ignition_hash(&ign.json);
    out.push_str(&domain_xml_with_ignition(c, node, host, &opts, &hash));
    out.push('\n');
    out
}

/// The node's volumes: root overlay, data disks, Ignition.
fn volumes(c: &Cluster, node: &Node, host: &HostFacts) -> String {
    let mut out = String::new();
    for v in node_volumes(c, node, host) {
        // names are checked at validate; the comment is safe whatever
        // they hold
        out.push_str(&comment_line(&format!(
            "volume {} in pool {}",
            v.name, v.pool
        )));
        out.push_str(&format!("{}\n", v.xml));
    }
    out
}

/// The declared networks the node's NICs are on and the declared pools
/// its disks are in.
fn networks_and_pools(c: &Cluster, node: &Node) -> String {
    let mut out = String::new();
    for net in c
        .networks
        .iter()
        .filter(|n| node.networks.iter().any(|nic| nic.network == n.name))
    {
        out.push_str(&comment_line(&format!("network {}", net.name)));
        out.push_str(&format!("{}\n", network_xml(c, net)));
    }
    let pools = std::iter::once(&node.disk).chain(&node.extra_disks);
    for pool in c
        .pools
        .iter()
        .filter(|p| pools.clone().any(|d| d.pool == p.name))
    {
        out.push_str(&comment_line(&format!("pool {}", pool.name)));
        out.push_str(&format!("{}\n", pool_xml(pool)));
    }
    out
}

/// The Ignition config, pretty-printed; with a header line unless it is
/// printed alone (`--only ignition`, so the output is a usable `.ign`).
fn ignition(ign: &NodeIgnition, header: bool) -> String {
    let mut out = String::new();
    if header {
        out.push_str(&comment_line(&format!("Ignition (spec {})", ign.version)));
    }
    out.push_str(&ign.config.to_json(true));
    out.push('\n');
    out
}
