//! What every command that talks to a host shares: where the spec is,
//! which URI, how to render, and the output format. Turns them into a
//! [`Session`] (the core's connected host) and prints plans.

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::fleet::Fleet;
use crate::plan::Plan;
use crate::render::domain::DomainOptions;
use crate::session::{resolve_uri, Session};
use crate::spec::Cluster;

use super::spec_args::{Loaded, SpecArgs};
use super::BadInput;

/// Where to connect and what the spec is.
#[derive(Debug, Args)]
pub struct HostArgs {
    #[command(flatten)]
    spec: SpecArgs,
    /// libvirt URI (default: LIBVIRT_DEFAULT_URI, then the spec's
    /// connect:, then qemu:///system)
    #[arg(short, long, value_name = "URI")]
    connect: Option<String>,
    /// Pass Ignition with -fw_cfg in <qemu:commandline> (libvirt < 6.5)
    #[arg(long)]
    qemu_commandline_fw_cfg: bool,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people
    Text,
    /// For programs
    Json,
}

impl HostArgs {
    /// The spec file.
    pub fn spec_file(&self) -> &std::path::Path {
        &self.spec.file
    }

    /// Load the spec and connect to its host, or (`hosts:`) to every
    /// host it names; `partial`: leave out the hosts that do not answer.
    /// `destroy`: each host's share holds every node of the cluster found
    /// there (see [`Fleet::open`]).
    pub fn open_any(&self, partial: bool, destroy: bool) -> anyhow::Result<Opened> {
        self.connect(self.spec.load()?, partial, destroy)
    }

    fn connect(&self, loaded: Loaded, partial: bool, destroy: bool) -> anyhow::Result<Opened> {
        let opts = DomainOptions {
            explain: false,
            qemu_commandline_fw_cfg: self.qemu_commandline_fw_cfg,
        };
        if !loaded.cluster.hosts.is_empty() {
            if let Some(uri) = &self.connect {
                return Err(BadInput(format!(
                    "--connect {uri}: {} names its hosts (hosts:); drop --connect",
                    self.spec.file.display()
                ))
                .into());
            }
            let fleet = Fleet::open(&loaded.cluster, &loaded.butane, opts, partial, destroy)?;
            return Ok(Opened::Fleet(Box::new((loaded.cluster, fleet))));
        }
        let env = std::env::var("LIBVIRT_DEFAULT_URI").ok();
        let uri = resolve_uri(
            self.connect.as_deref(),
            env.as_deref(),
            loaded.cluster.connect.as_deref(),
        );
        Ok(Opened::One(Box::new(Session::open(
            loaded.cluster,
            loaded.butane,
            &uri,
            opts,
        )?)))
    }

    /// Connect to the host of `node`: the spec's one host, or (`hosts:`)
    /// the one it is on or would be placed on.
    pub fn open_for_node(&self, node: &str) -> anyhow::Result<Session> {
        let (cluster, fleet) = match self.open_any(true, false)? {
            Opened::One(s) => return Ok(*s),
            Opened::Fleet(f) => *f,
        };
        node_index(&cluster, node)?;
        let down: Vec<String> = fleet.down.iter().map(|d| d.name.clone()).collect();
        let member = fleet
            .members
            .into_iter()
            .find(|m| m.session.cluster.node(node).is_some());
        member.map(|m| m.session).ok_or_else(|| {
            anyhow::anyhow!(
                "node {node} is on no host that answered (did not answer: {})",
                down.join(", ")
            )
        })
    }
}

/// Where `name` is among the spec's nodes; exit 2 naming the nodes there
/// are when it is not one.
pub fn node_index(c: &Cluster, name: &str) -> anyhow::Result<usize> {
    c.nodes.iter().position(|n| n.name == name).ok_or_else(|| {
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        BadInput(format!(
            "no node {name:?} in the spec; nodes: {}",
            names.join(", ")
        ))
        .into()
    })
}

/// A spec connected: one host, or several.
pub enum Opened {
    /// A spec without `hosts:`.
    One(Box<Session>),
    /// A spec over several hosts: the whole cluster and its hosts.
    Fleet(Box<(Cluster, Fleet)>),
}

/// The plan for people, or for programs as one line of JSON.
pub fn print_plan(cluster: &str, uri: &str, plan: &Plan, format: Format) {
    match format {
        Format::Text => print!("{}", plan.to_text(cluster, uri)),
        Format::Json => println!("{}", plan_json(plan)),
    }
}

/// The plan for programs.
pub fn plan_json(plan: &Plan) -> serde_json::Value {
    let steps: Vec<_> = plan
        .steps
        .iter()
        .map(|s| {
            json!({
                "change": format!("{:?}", s.change).to_lowercase(),
                "action": s.action.describe(),
                "node": &*s.node,
                "reason": &*s.reason,
            })
        })
        .collect();
    json!({ "steps": steps, "notes": plan.notes })
}
