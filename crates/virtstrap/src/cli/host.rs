//! What every command that talks to a host shares: where the spec is,
//! which URI, how to render, and the output format. Turns them into a
//! [`Session`] (the core's connected host) and prints plans.

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::plan::Plan;
use crate::render::domain::DomainOptions;
use crate::session::{resolve_uri, Session};

use super::spec_args::SpecArgs;

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

    /// Load the spec and connect to its host.
    pub fn open(&self) -> anyhow::Result<Session> {
        let loaded = self.spec.load()?;
        if !loaded.cluster.hosts.is_empty() {
            // read and checked, but not yet planned across hosts: refuse
            // rather than put every node on one host
            return Err(super::BadInput(format!(
                "{}: hosts: (a cluster over several libvirt hosts) is checked by validate, \
                 but plan, apply and the other host commands do not run it yet: remove hosts:, \
                 host: and placement: and give connect: to use one host",
                self.spec.file.display()
            ))
            .into());
        }
        let env = std::env::var("LIBVIRT_DEFAULT_URI").ok();
        let uri = resolve_uri(
            self.connect.as_deref(),
            env.as_deref(),
            loaded.cluster.connect.as_deref(),
        );
        let opts = DomainOptions {
            explain: false,
            qemu_commandline_fw_cfg: self.qemu_commandline_fw_cfg,
        };
        Ok(Session::open(loaded.cluster, loaded.butane, &uri, opts)?)
    }
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
