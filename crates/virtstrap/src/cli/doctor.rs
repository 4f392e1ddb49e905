//! `virtstrap doctor`: every preflight check, one line each, with the
//! fix for each warning and failure (see [`crate::preflight`]).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args as ClapArgs;
use serde_json::json;

use crate::fleet::{Fleet, FleetError};
use crate::libvirt::real::LibvirtBackend;
use crate::libvirt::{Backend, BackendError};
use crate::plan::Actual;
use crate::preflight::{all_checks, daemon, Check, Outcome, View};
use crate::render::domain::DomainOptions;
use crate::session::{resolve_uri, spec_checks_of, Session, SessionError};

use super::host::Format;
use super::spec_args::{IgnitionErrors, Loaded, SpecArgs};
use super::BadInput;

/// Check that this host can run the spec, before apply finds out.
///
/// One line per check (pass, warn, fail, skip) with the fix for each
/// warning and failure: libvirt and QEMU versions, fw_cfg, KVM, the
/// user QEMU runs as, SELinux/AppArmor, the spec's pools, networks and
/// base image, pool paths QEMU must reach, free space, network ranges
/// against the host's routes, the daemon's socket. Without a spec (no
/// -f and no ./cluster.yaml) only the host is checked. Exit 1 when a
/// check fails; plan and apply refuse a spec that fails KVM, pool path
/// or space checks.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Cluster spec to check (default: ./cluster.yaml when there)
    #[arg(short, long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Butane file merged into every node before the spec's own (as for
    /// plan); repeatable
    #[arg(long, value_name = "FILE")]
    butane: Vec<PathBuf>,
    /// Cluster name for a vars file (default: cluster)
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// libvirt URI (default: LIBVIRT_DEFAULT_URI, then the spec's
    /// connect:, then qemu:///system)
    #[arg(short, long, value_name = "URI")]
    connect: Option<String>,
    /// Check as plan and apply would with --qemu-commandline-fw-cfg
    #[arg(long)]
    qemu_commandline_fw_cfg: bool,
    /// text, or json for programs
    #[arg(short, long, value_enum, default_value = "text")]
    output: Format,
}

/// Run the command.
pub fn run(args: &Args) -> Result<()> {
    let file = args
        .file
        .clone()
        .or_else(|| Some(PathBuf::from("cluster.yaml")).filter(|f| f.exists()));
    let loaded = match file {
        Some(file) => Some(
            SpecArgs {
                file,
                butane: args.butane.clone(),
                name: args.name.clone(),
            }
            .load()?,
        ),
        None => None,
    };
    if let Some(l) = loaded.as_ref().filter(|l| !l.cluster.hosts.is_empty()) {
        return over_hosts(l, args);
    }
    let env = std::env::var("LIBVIRT_DEFAULT_URI").ok();
    let spec_uri = loaded.as_ref().and_then(|l| l.cluster.connect.as_deref());
    let uri = resolve_uri(args.connect.as_deref(), env.as_deref(), spec_uri);
    let checks = match loaded {
        None => host_only(&uri)?,
        Some(l) => {
            let opts = DomainOptions {
                explain: false,
                qemu_commandline_fw_cfg: args.qemu_commandline_fw_cfg,
            };
            match Session::open(l.cluster, l.butane, &uri, opts) {
                Ok(s) => with_spec(&s)?,
                Err(SessionError::Connect { why, .. }) => vec![daemon(&uri, Some(&why))],
                Err(e) => return Err(e.into()),
            }
        }
    };
    print(&uri, &checks, args.output);
    failures(checks.iter().filter(|c| c.outcome == Outcome::Fail).count())
}

/// Exit 1 when checks failed.
fn failures(failed: usize) -> Result<()> {
    if failed > 0 {
        return Err(anyhow!(
            "{failed} check{} failed",
            if failed == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

/// Every check on every host of a cluster over several (`hosts:`), each
/// host's under its name; a host that does not answer fails its daemon
/// check.
fn over_hosts(l: &Loaded, args: &Args) -> Result<()> {
    if let Some(uri) = &args.connect {
        return Err(BadInput(format!(
            "--connect {uri}: the spec names its hosts (hosts:); drop --connect"
        ))
        .into());
    }
    let opts = DomainOptions {
        explain: false,
        qemu_commandline_fw_cfg: args.qemu_commandline_fw_cfg,
    };
    let (members, down) = match Fleet::open(&l.cluster, &l.butane, opts, true, false) {
        Ok(f) => (f.members, f.down),
        Err(FleetError::NoneUp(down)) => (Vec::new(), down),
        Err(e) => return Err(e.into()),
    };
    let mut per_host = Vec::new();
    for h in &l.cluster.hosts {
        let checks = match members.iter().find(|m| m.name == h.name) {
            Some(m) => with_spec(&m.session)?,
            None => {
                let why = down
                    .iter()
                    .find(|d| d.name == h.name)
                    .map(|d| d.why.as_str());
                vec![daemon(&h.uri, why)]
            }
        };
        per_host.push((h, checks));
    }
    let failed = per_host
        .iter()
        .flat_map(|(_, c)| c)
        .filter(|c| c.outcome == Outcome::Fail)
        .count();
    match args.output {
        Format::Text => {
            for (h, checks) in &per_host {
                println!("host {} ({}):", h.name, h.uri);
                for c in checks {
                    println!("  {}", c.to_string().replace('\n', "\n  "));
                }
            }
        }
        Format::Json => {
            let hosts: Vec<_> = per_host
                .iter()
                .map(|(h, checks)| {
                    json!({ "host": h.name, "uri": h.uri, "checks": checks_json(checks) })
                })
                .collect();
            println!("{:#}", json!({ "hosts": hosts }));
        }
    }
    failures(failed)
}

fn host_only(uri: &str) -> Result<Vec<Check>> {
    let backend = match LibvirtBackend::connect(Some(uri)) {
        Ok(b) => b,
        Err(BackendError::Libvirt { message, .. }) => return Ok(vec![daemon(uri, Some(&message))]),
        Err(e) => return Ok(vec![daemon(uri, Some(&e.to_string()))]),
    };
    let info = backend.host_info()?;
    let mut checks = vec![daemon(&backend.uri(), None)];
    checks.extend(all_checks(&info, &View::for_uri(&backend.uri()), None));
    Ok(checks)
}

fn with_spec(s: &Session) -> Result<Vec<Check>> {
    let want = s.desired().map_err(IgnitionErrors::from)?;
    let actual = Actual::read(&s.backend, &want)?;
    let info = s.backend.host_info()?;
    let mut checks = vec![daemon(&s.uri, None)];
    checks.extend(spec_checks_of(
        s,
        &info,
        &View::for_uri(&s.uri),
        &want,
        &actual,
    ));
    Ok(checks)
}

fn print(uri: &str, checks: &[Check], format: Format) {
    match format {
        Format::Text => {
            for c in checks {
                println!("{c}");
            }
        }
        Format::Json => {
            println!("{:#}", json!({ "uri": uri, "checks": checks_json(checks) }));
        }
    }
}

fn checks_json(checks: &[Check]) -> Vec<serde_json::Value> {
    checks
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "outcome": c.outcome.name(),
                "detail": c.detail,
                "fix": c.fix,
                "refuses_apply": c.guards,
            })
        })
        .collect()
}
