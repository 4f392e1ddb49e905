//! `plan`, `apply`, `destroy`, `status`: the commands that talk to a host.
//! Each loads the spec, connects, renders, plans, and prints; apply and
//! destroy then execute with bounded parallelism and progress.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::apply;
use crate::libvirt::real::LibvirtBackend;
use crate::libvirt::Backend;
use crate::plan::{desired, destroy_plan, make_plan, owner_of, Change, Desired, Plan, PlanError};
use crate::render::addr::{ip, nic_mac};
use crate::render::domain::DomainOptions;
use crate::render::host::{console_log_path, HostFacts};
use crate::spec::{Cluster, DomainType, DEFAULT_CONNECT};

use super::spec_args::{print_ignition_error, Loaded, SpecArgs};
use super::{EXIT_BAD_INPUT, EXIT_FAILED};

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

/// Show what apply would change on the host, and why.
///
/// Compares the spec with the host and lists each step: + create,
/// ~ update, -/+ replace, - delete, each with its reason. Only what the
/// spec sets is compared; libvirt's own defaults are not drift.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    host: HostArgs,
    /// text, or json for programs
    #[arg(short, long, value_enum, default_value = "text")]
    output: Format,
    /// Take over objects with clashing names that virtstrap did not make
    #[arg(long)]
    adopt: bool,
}

/// Make the host match the spec.
///
/// Shows the plan, asks for confirmation (or --yes; without a terminal
/// it refuses unless --yes), then creates pools, networks, volumes and
/// domains, with independent nodes in parallel. A failure stops new work
/// and is reported with its object and libvirt's message; run apply again
/// to finish, or destroy to remove everything virtstrap made.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Take over objects with clashing names that virtstrap did not make
    #[arg(long)]
    adopt: bool,
}

/// Remove everything virtstrap made for this cluster.
///
/// Stops and undefines the cluster's domains, deletes the volumes they
/// record, then the declared networks and pools virtstrap created. Objects
/// virtstrap does not own are never touched. Safe to run again.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    run: RunArgs,
}

/// How apply and destroy carry out their plan.
#[derive(Debug, Args)]
struct RunArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    yes: bool,
    /// Nodes worked on at the same time
    #[arg(long, value_name = "N", default_value_t = 4)]
    parallel: usize,
}

/// Show each node's state on the host.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    host: HostArgs,
    /// text, or json for programs
    #[arg(short, long, value_enum, default_value = "text")]
    output: Format,
}

/// A connected host with the spec rendered for it.
struct Session {
    loaded: Loaded,
    uri: String,
    backend: LibvirtBackend,
    host: HostFacts,
    opts: DomainOptions,
}

impl HostArgs {
    fn open(&self) -> Result<Session, ExitCode> {
        let mut loaded = self.spec.load()?;
        let uri = self
            .connect
            .clone()
            .or_else(|| {
                std::env::var("LIBVIRT_DEFAULT_URI")
                    .ok()
                    .filter(|u| !u.is_empty())
            })
            .or_else(|| loaded.cluster.connect.clone())
            .unwrap_or_else(|| DEFAULT_CONNECT.to_string());
        if uri.starts_with("test:") {
            // libvirt's test driver only defines domains of its own type
            for n in &mut loaded.cluster.nodes {
                n.domain_type = DomainType::Test;
            }
        }
        let backend = LibvirtBackend::connect(Some(&uri)).map_err(|e| {
            let why = match e {
                crate::libvirt::BackendError::Libvirt { message, .. } => message,
                other => other.to_string(),
            };
            eprintln!(
                "error: cannot connect to {uri}: {why}\n  (the URI comes from --connect, else \
                 LIBVIRT_DEFAULT_URI, else the spec's connect:, else {DEFAULT_CONNECT})"
            );
            ExitCode::from(EXIT_FAILED)
        })?;
        let host = host_facts(&backend, &loaded.cluster).map_err(|e| {
            eprintln!("error: reading {uri}: {e}");
            ExitCode::from(EXIT_FAILED)
        })?;
        let opts = DomainOptions {
            explain: false,
            qemu_commandline_fw_cfg: self.qemu_commandline_fw_cfg,
        };
        Ok(Session {
            loaded,
            uri,
            backend,
            host,
            opts,
        })
    }
}

/// The paths of the pools the nodes use, as the host has them.
fn host_facts(
    backend: &dyn Backend,
    c: &Cluster,
) -> Result<HostFacts, crate::libvirt::BackendError> {
    let mut host = HostFacts::default();
    let pools = c
        .nodes
        .iter()
        .flat_map(|n| std::iter::once(&n.disk).chain(&n.extra_disks))
        .map(|d| d.pool.clone())
        .chain(std::iter::once(c.image.pool.clone()));
    for pool in pools {
        if host.pool_paths.contains_key(&pool) || pool.is_empty() {
            continue;
        }
        if let Some(p) = backend.pool(&pool)? {
            host.pool_paths.insert(pool, p.path);
        }
    }
    Ok(host)
}

impl Session {
    fn desired(&self) -> Result<Desired, ExitCode> {
        desired(
            &self.loaded.cluster,
            &self.loaded.butane,
            &self.host,
            &self.opts,
        )
        .map_err(|e| {
            print_ignition_error(&e);
            ExitCode::from(EXIT_BAD_INPUT)
        })
    }

    fn plan(&self, want: &Desired, adopt: bool) -> Result<Plan, ExitCode> {
        make_plan(&self.backend, want, adopt).map_err(|e| report_plan_error(&e))
    }
}

fn report_plan_error(e: &PlanError) -> ExitCode {
    match e {
        PlanError::Conflicts(list) => {
            for c in list {
                eprintln!("error: {c}");
            }
            eprintln!("nothing was changed");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        PlanError::Host(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn symbol(c: Change) -> &'static str {
    match c {
        Change::Create => "+",
        Change::Update => "~",
        Change::Replace => "-/+",
        Change::Delete => "-",
    }
}

fn print_plan(cluster: &str, uri: &str, plan: &Plan) {
    if plan.steps.is_empty() {
        println!("cluster {cluster} on {uri}: up to date, nothing to do");
        return;
    }
    let count = |c: Change| plan.steps.iter().filter(|s| s.change == c).count();
    println!(
        "cluster {cluster} on {uri}: {} steps ({} create, {} update, {} replace, {} delete)",
        plan.steps.len(),
        count(Change::Create),
        count(Change::Update),
        count(Change::Replace),
        count(Change::Delete)
    );
    for s in &plan.steps {
        println!(
            "  {:>3} {:<60} {}",
            symbol(s.change),
            s.action.describe(),
            s.reason
        );
    }
}

fn plan_json(plan: &Plan) -> serde_json::Value {
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
    json!({ "steps": steps })
}

/// `virtstrap plan`.
pub fn plan(args: &PlanArgs) -> ExitCode {
    let s = match args.host.open() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = s.desired().and_then(|w| s.plan(&w, args.adopt));
    match result {
        Ok(p) if args.output == Format::Json => {
            println!("{:#}", plan_json(&p));
            ExitCode::SUCCESS
        }
        Ok(p) => {
            print_plan(&s.loaded.cluster.name, &s.uri, &p);
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// Ask on a terminal; refuse without one.
fn confirm(question: &str, yes: bool) -> Result<(), ExitCode> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: not a terminal, so not asking: pass --yes to go ahead; nothing was changed"
        );
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    }
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        eprintln!("nothing was changed");
        Err(ExitCode::from(EXIT_FAILED))
    }
}

/// Execute with a progress bar on a terminal, plain lines otherwise.
fn execute(s: &Session, plan: &Plan, parallel: usize, verb: &str) -> ExitCode {
    static STOP: AtomicBool = AtomicBool::new(false);
    // Ctrl-C stops new work like a failure does: steps under way finish,
    // so what was made stays consistent
    let _ = ctrlc::set_handler(|| STOP.store(true, std::sync::atomic::Ordering::SeqCst));
    let total = plan.steps.len() as u64;
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            b.set_style(style);
        }
        Some(b)
    } else {
        None
    };
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let progress = |step: &crate::plan::Step| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        match &bar {
            Some(b) => {
                b.set_message(step.action.describe());
                b.inc(1);
            }
            None => eprintln!("[{n}/{total}] {}", step.action.describe()),
        }
    };
    let start = std::time::Instant::now();
    let out = apply::run(
        &s.backend,
        &s.loaded.cluster.name,
        plan,
        parallel,
        &STOP,
        &progress,
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if out.interrupted {
        eprintln!("interrupted");
    }
    if out.ok() {
        println!(
            "{verb}: {} steps in {:.1} s",
            out.done,
            start.elapsed().as_secs_f64()
        );
        return ExitCode::SUCCESS;
    }
    for (step, e) in &out.failures {
        eprintln!("error: {}: {e}", step.action.describe());
    }
    eprintln!(
        "{verb} stopped after {} of {} steps; run it again to finish, or `virtstrap destroy` to remove what was made",
        out.done,
        plan.steps.len()
    );
    ExitCode::from(EXIT_FAILED)
}

/// `virtstrap apply`.
pub fn apply(args: &ApplyArgs) -> ExitCode {
    let adopt = args.adopt;
    converge(
        &args.host,
        &args.run,
        "apply",
        "Apply these steps?",
        |s, w| s.plan(w, adopt),
    )
}

/// `virtstrap destroy`.
pub fn destroy(args: &DestroyArgs) -> ExitCode {
    converge(
        &args.host,
        &args.run,
        "destroy",
        "Destroy these objects?",
        |s, w| destroy_plan(&s.backend, w).map_err(|e| report_plan_error(&e)),
    )
}

/// Plan with `make`, show it, confirm, execute: apply and destroy alike.
fn converge(
    host: &HostArgs,
    run: &RunArgs,
    verb: &str,
    question: &str,
    make: impl Fn(&Session, &Desired) -> Result<Plan, ExitCode>,
) -> ExitCode {
    let s = match host.open() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let plan = match s.desired().and_then(|w| make(&s, &w)) {
        Ok(p) => p,
        Err(code) => return code,
    };
    print_plan(&s.loaded.cluster.name, &s.uri, &plan);
    if plan.steps.is_empty() {
        return ExitCode::SUCCESS;
    }
    if let Err(code) = confirm(question, run.yes) {
        return code;
    }
    execute(&s, &plan, run.parallel, verb)
}

/// `virtstrap status`.
pub fn status(args: &StatusArgs) -> ExitCode {
    let s = match args.host.open() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let c = &s.loaded.cluster;
    let mut rows = Vec::new();
    for (i, node) in c.nodes.iter().enumerate() {
        let domain = c.domain_name(node);
        let state = match s.backend.domain(&domain) {
            Ok(None) => "absent".to_string(),
            Ok(Some(d)) => {
                let ours = owner_of(&d.xml).is_some_and(|o| o.cluster == c.name);
                match (ours, d.running) {
                    (false, _) => "foreign".into(),
                    (true, true) => "running".into(),
                    (true, false) => "shut off".into(),
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
        let nic = node.networks.first();
        rows.push(json!({
            "node": node.name,
            "domain": domain,
            "state": state,
            "vcpus": node.vcpus,
            "memory_mib": node.memory_mib,
            "disk": crate::spec::size::human(node.disk.size_bytes),
            "mac": nic.map(|n| nic_mac(c, &node.name, n)),
            "ip": ip(c, i, 0).map(|a| a.to_string()),
            "console_log": console_log_path(&s.host, &domain).display().to_string(),
        }));
    }
    if args.output == Format::Json {
        println!(
            "{:#}",
            json!({ "cluster": c.name, "uri": s.uri, "nodes": rows })
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<14} {:<9} {:>5} {:>8} {:>7} {:<18} {:<16} CONSOLE LOG",
        "NODE", "STATE", "VCPUS", "MEMORY", "DISK", "MAC", "IP"
    );
    for r in &rows {
        let text = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        println!(
            "{:<14} {:<9} {:>5} {:>8} {:>7} {:<18} {:<16} {}",
            text("node"),
            text("state"),
            // a JSON value's Display ignores width: pad its text
            r["vcpus"].to_string(),
            format!("{}MiB", r["memory_mib"]),
            text("disk"),
            text("mac"),
            text("ip"),
            text("console_log")
        );
    }
    ExitCode::SUCCESS
}
