//! `apply --wait`: watch each node come up (running, leased, SSH, up),
//! one live line per node on a terminal, plain lines otherwise, JSON
//! lines with `--output json`; then write the kubespray inventory beside
//! the spec. A node not up in time fails the command with its stage and
//! its console's last lines.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, Result};
use clap::Args;
use serde_json::json;

use crate::fleet::{at_once, Fleet};
use crate::inventory::{self, Format as InventoryFormat};
use crate::plan::Desired;
use crate::render::host::console_log_path;
use crate::session::Session;
use crate::spec::Cluster;
use crate::wait::{wait, Options, Outcome, Progress, Stage, Target};

use super::host::{Format, HostArgs};

/// `--wait` and what goes with it.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// After applying, wait until every node is up: running, its address
    /// leased, SSH answering (where this machine can reach it); then
    /// write the kubespray inventory beside the spec
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits for every node (30s, 10m, 1h)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// text, or json: the plan as one JSON object, then with --wait one
    /// object per line at each change of a node
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: Format,
}

/// Wait for the nodes of `want`, report, write the inventory.
pub fn run(
    s: &Session,
    want: &Desired,
    args: &WaitArgs,
    host: &HostArgs,
    stop: &AtomicBool,
) -> Result<()> {
    let outcomes = watch(s, want, args, stop)?;
    write_inventory(&s.cluster, &outcomes, &BTreeMap::new(), host, args.output)
}

/// [`run`] over every host of a cluster over several: each host's nodes
/// watched at once, one report, one inventory naming each node's host.
pub fn run_fleet(
    cluster: &Cluster,
    fleet: &Fleet,
    wants: &[Desired],
    args: &WaitArgs,
    host: &HostArgs,
    stop: &AtomicBool,
) -> Result<()> {
    let parts: Vec<(&Session, Vec<Target>)> = fleet
        .members
        .iter()
        .zip(wants)
        .map(|(m, w)| (&m.session, targets(&m.session, w)))
        .collect();
    let outcomes = watch_all(&parts, args, stop)?;
    let placed = fleet
        .members
        .iter()
        .flat_map(|m| {
            m.session
                .cluster
                .nodes
                .iter()
                .map(|n| (n.name.clone(), m.name.clone()))
        })
        .collect();
    write_inventory(cluster, &outcomes, &placed, host, args.output)
}

/// Wait for the nodes of `want` and show their progress: an error naming
/// each node that did not come up in time.
pub fn watch(
    s: &Session,
    want: &Desired,
    args: &WaitArgs,
    stop: &AtomicBool,
) -> Result<Vec<Outcome>> {
    watch_all(&[(s, targets(s, want))], args, stop)
}

/// What to watch of the nodes of `want`.
fn targets(s: &Session, want: &Desired) -> Vec<Target> {
    want.nodes
        .iter()
        .map(|n| Target {
            node: n.node.clone(),
            domain: n.domain.clone(),
            macs: n.nics.iter().map(|nic| nic.mac.clone()).collect(),
            console_log: console_log_path(&s.host, &n.domain),
        })
        .collect()
}

/// Watch each host's targets at once, on one display.
fn watch_all(
    parts: &[(&Session, Vec<Target>)],
    args: &WaitArgs,
    stop: &AtomicBool,
) -> Result<Vec<Outcome>> {
    let all: Vec<Target> = parts.iter().flat_map(|(_, t)| t.clone()).collect();
    let opts = Options {
        timeout: args.timeout,
        ..Options::default()
    };
    let ui = Ui::new(&all, args.output);
    let outcomes: Vec<Outcome> = at_once(parts, |(s, targets)| {
        wait(&s.backend, targets, opts, stop, &|p| ui.show(p))
    })
    .into_iter()
    .flatten()
    .collect();
    ui.finish();
    let stuck: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.last.stage != Stage::Up)
        .collect();
    if !stuck.is_empty() {
        return Err(anyhow!("{}", stuck_report(&stuck, &all, args.timeout)));
    }
    Ok(outcomes)
}

/// `node cp1 is not up: stuck at leased after 600 s ...` with the tail.
fn stuck_report(stuck: &[&Outcome], targets: &[Target], timeout: Duration) -> String {
    let mut out = Vec::new();
    for o in stuck {
        let p = &o.last;
        let why = match (p.stage, &p.note) {
            (Stage::Failed, Some(note)) => format!("failed while {}: {note}", stage_words(p)),
            _ => format!(
                "stuck at {} when the wait ended ({} s of --timeout {})",
                stage_words(p),
                p.elapsed.as_secs(),
                humantime::format_duration(timeout)
            ),
        };
        let log = targets
            .iter()
            .find(|t| t.node == p.node)
            .map(|t| t.console_log.display().to_string())
            .unwrap_or_default();
        let mut text = format!("node {} is not up: {why}", p.node);
        if o.console_tail.is_empty() {
            text.push_str(&format!(
                "\n  its console log ({log}) cannot be read from here"
            ));
        } else {
            text.push_str(&format!(
                "\n  last {} lines of its console ({log}):",
                o.console_tail.len()
            ));
            for line in &o.console_tail {
                text.push_str(&format!("\n    {line}"));
            }
        }
        out.push(text);
    }
    out.join("\nerror: ")
}

fn stage_words(p: &Progress) -> String {
    match (p.stage, p.address) {
        (Stage::Starting, _) => "starting (the domain is not running)".into(),
        (Stage::Running, _) => "running (no address leased yet)".into(),
        (Stage::Leased, Some(ip)) => format!("leased {ip} (SSH does not answer yet)"),
        (stage, _) => stage.name().into(),
    }
}

/// The inventory of what came up, beside the spec.
fn write_inventory(
    cluster: &Cluster,
    outcomes: &[Outcome],
    placed: &BTreeMap<String, String>,
    host: &HostArgs,
    format: Format,
) -> Result<()> {
    let addresses: inventory::Addresses = outcomes
        .iter()
        .map(|o| (o.last.node.clone(), o.last.address))
        .collect::<BTreeMap<_, _>>();
    let mut inv = inventory::build(cluster, &addresses);
    inventory::place(&mut inv, placed);
    let path = inventory_path(host, &cluster.name);
    crate::fsutil::write_atomic(
        &path,
        inv.to_text(InventoryFormat::Kubespray).as_bytes(),
        0o644,
    )
    .map_err(|e| anyhow!("writing the inventory {}: {e}", path.display()))?;
    match format {
        Format::Json => println!(
            "{}",
            json!({ "inventory": path.display().to_string(), "format": "kubespray" })
        ),
        Format::Text => println!(
            "inventory: wrote {} (kubespray hosts.yaml; ansible -i {} all -m ping)",
            path.display(),
            path.display()
        ),
    }
    Ok(())
}

/// `<the spec's directory>/<cluster>.hosts.yaml`.
pub fn inventory_path(host: &HostArgs, cluster: &str) -> PathBuf {
    let dir = host
        .spec_file()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    dir.join(format!("{cluster}.hosts.yaml"))
}

/// How progress is shown.
enum Ui {
    /// One live line per node.
    Bars(
        indicatif::MultiProgress,
        BTreeMap<String, indicatif::ProgressBar>,
    ),
    /// A line at each change.
    Lines(Mutex<()>),
    /// A JSON object per line at each change.
    Json(Mutex<()>),
}

impl Ui {
    fn new(targets: &[Target], format: Format) -> Ui {
        if format == Format::Json {
            return Ui::Json(Mutex::new(()));
        }
        if !std::io::stderr().is_terminal() {
            return Ui::Lines(Mutex::new(()));
        }
        let multi = indicatif::MultiProgress::new();
        let width = targets.iter().map(|t| t.node.len()).max().unwrap_or(4);
        let style = indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {{prefix:<{width}}} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        let bars = targets
            .iter()
            .map(|t| {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(t.node.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                (t.node.clone(), bar)
            })
            .collect();
        Ui::Bars(multi, bars)
    }

    fn show(&self, p: &Progress) {
        let text = describe(p);
        match self {
            Ui::Bars(_, bars) => {
                if let Some(bar) = bars.get(&p.node) {
                    bar.set_message(text);
                    if matches!(p.stage, Stage::Up | Stage::Failed) {
                        bar.finish();
                    }
                }
            }
            Ui::Lines(lock) => {
                let _g = lock.lock();
                eprintln!("{}: {text}", p.node);
            }
            Ui::Json(lock) => {
                let _g = lock.lock();
                let line = json!({
                    "node": p.node,
                    "stage": p.stage.name(),
                    "address": p.address.map(|a| a.to_string()),
                    "source": p.source.map(|s| s.name()),
                    "elapsed_s": (p.elapsed.as_secs_f64() * 10.0).round() / 10.0,
                    "note": p.note,
                });
                println!("{line}");
            }
        }
    }

    fn finish(&self) {
        if let Ui::Bars(multi, bars) = self {
            for bar in bars.values() {
                bar.finish();
            }
            let _ = multi.clear();
            // the live lines are gone: leave their last state in the scrollback
            for bar in bars.values() {
                eprintln!("{} {}", bar.prefix(), bar.message());
            }
        }
    }
}

/// `leased 192.168.150.10 (lease) after 9.1 s`.
fn describe(p: &Progress) -> String {
    let mut text = p.stage.name().to_string();
    if let Some(ip) = p.address {
        text.push_str(&format!(" {ip}"));
    }
    if let (Stage::Leased, Some(src)) = (p.stage, p.source) {
        text.push_str(&format!(" ({})", src.name()));
    }
    text.push_str(&format!(" after {:.1} s", p.elapsed.as_secs_f64()));
    if let Some(note) = &p.note {
        text.push_str(&format!("; {note}"));
    }
    text
}
