//! `virtstrap apply` and `virtstrap destroy`: under the cluster lock,
//! plan, show the plan, confirm, execute with progress.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{anyhow, Result};
use clap::Args;

use crate::apply;
use crate::apply::lock::{with_lock, LockOptions};
use crate::fleet::Member;
use crate::plan::{destroy_plan, Desired, Plan, Step};
use crate::session::Session;

use super::host::{print_plan, Format, HostArgs, Opened};
use super::spec_args::IgnitionErrors;
use super::BadInput;

/// Make the host match the spec.
///
/// Takes the cluster's lock on the host, shows the plan, asks for
/// confirmation (or --yes; without a terminal it refuses unless --yes),
/// then creates pools, networks, volumes and domains, with independent
/// nodes in parallel. A failure stops new work and is reported with its
/// object and libvirt's message; run apply again to finish, or destroy to
/// remove everything virtstrap made.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Take over objects with clashing names that virtstrap did not make
    #[arg(long)]
    adopt: bool,
    #[command(flatten)]
    wait: super::wait::WaitArgs,
}

/// Remove everything virtstrap made for this cluster.
///
/// Takes the cluster's lock, stops and undefines the cluster's domains,
/// deletes the volumes they record, then the declared networks and pools
/// virtstrap created. Objects virtstrap does not own are never touched.
/// Safe to run again.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    run: RunArgs,
}

/// How apply, destroy and reset carry out their plan.
#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub(super) yes: bool,
    /// Nodes worked on at the same time (on each host)
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(super) parallel: usize,
    /// Wait up to DURATION (30s, 5m) for another run's cluster lock
    /// instead of refusing at once
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(super) lock_timeout: Option<Duration>,
    /// Break the cluster lock another run holds (only if that run is gone)
    #[arg(long)]
    pub(super) force_unlock: bool,
    /// With hosts: (several hosts), go ahead on the hosts that answer,
    /// leaving out those that do not and every node that may be on them
    #[arg(long)]
    pub(super) partial: bool,
}

/// `virtstrap apply`.
pub fn apply(args: &ApplyArgs) -> Result<()> {
    let adopt = args.adopt;
    let s = match args.host.open_any(args.run.partial, false)? {
        Opened::One(s) => *s,
        Opened::Fleet(f) => {
            let (cluster, fleet) = *f;
            let make = |m: &Member, w: &Desired| m.session.checked_plan(w, adopt);
            let q = "Apply these steps?";
            let (wants, plans) =
                super::fleet::converge(&cluster, &fleet, &args.run, "apply", q, &make)?;
            for (w, p) in wants.iter().zip(&plans) {
                crate::ssh::forget_rebuilt(&cluster.name, p, w);
            }
            if args.wait.wait {
                super::wait::run_fleet(&cluster, &fleet, &wants, &args.wait, &args.host, &STOP)?;
            }
            return super::fleet::unfinished(&fleet, "apply");
        }
    };
    let (s, want, plan) = converge(
        s,
        &args.run,
        args.wait.output,
        "apply",
        "Apply these steps?",
        |s, w| Ok(s.checked_plan(w, adopt)?),
    )?;
    // a rebuilt node has a new host key: forget the old one
    crate::ssh::forget_rebuilt(&s.cluster.name, &plan, &want);
    if args.wait.wait {
        super::wait::run(&s, &want, &args.wait, &args.host, &STOP)?;
    }
    Ok(())
}

/// `virtstrap destroy`.
pub fn destroy(args: &DestroyArgs) -> Result<()> {
    // a host down does not stop destroy: it removes what it can reach
    // and names what is left
    let s = match args.host.open_any(true, true)? {
        Opened::One(s) => *s,
        Opened::Fleet(f) => {
            let (cluster, fleet) = *f;
            let make = |m: &Member, w: &Desired| destroy_plan(&m.session.backend, w);
            let q = "Destroy these objects?";
            super::fleet::converge(&cluster, &fleet, &args.run, "destroy", q, &make)?;
            return super::fleet::unfinished(&fleet, "destroy");
        }
    };
    converge(
        s,
        &args.run,
        Format::Text,
        "destroy",
        "Destroy these objects?",
        |s, w| Ok(destroy_plan(&s.backend, w)?),
    )
    .map(drop)
}

/// Ctrl-C, or a lock broken by another run: stop new work, as a failure
/// does (steps under way finish, so what was made stays consistent).
pub(super) static STOP: AtomicBool = AtomicBool::new(false);

/// Under the lock: plan with `make`, show it, confirm, execute.
pub(super) fn converge(
    s: Session,
    run: &RunArgs,
    format: Format,
    verb: &str,
    question: &str,
    make: impl Fn(&Session, &Desired) -> Result<Plan>,
) -> Result<(Session, Desired, Plan)> {
    let want = s.desired().map_err(IgnitionErrors::from)?;
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    let opts = LockOptions {
        timeout: run.lock_timeout,
        force: run.force_unlock,
    };
    let note = |m: &str| eprintln!("{m}");
    with_lock(
        &s.backend,
        &s.cluster.name,
        verb,
        opts,
        &STOP,
        &note,
        || {
            let plan = make(&s, &want)?;
            print_plan(&s.cluster.name, &s.uri, &plan, format);
            if plan.steps.is_empty() {
                return Ok(plan);
            }
            confirm(question, run.yes)?;
            execute(&s, &plan, run.parallel, verb, format)?;
            Ok(plan)
        },
    )?
    .map(|plan| (s, want, plan))
}

/// Ask on a terminal; refuse without one.
pub(super) fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(BadInput(
            "not a terminal, so not asking: pass --yes to go ahead; nothing was changed".into(),
        )
        .into());
    }
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(anyhow!("not confirmed; nothing was changed"))
    }
}

/// Execute with a progress bar on a terminal, plain lines otherwise.
fn execute(s: &Session, plan: &Plan, parallel: usize, verb: &str, format: Format) -> Result<()> {
    let total = plan.steps.len() as u64;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            b.set_style(style);
        }
        b
    });
    let counter = AtomicUsize::new(0);
    let progress = |step: &Step| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
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
        &s.cluster.name,
        plan,
        parallel,
        &STOP,
        &progress,
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if out.ok() {
        let secs = start.elapsed().as_secs_f64();
        let done = format!("{verb}: {} steps in {secs:.1} s", out.done);
        // JSON on stdout stays JSON
        match format {
            Format::Text => println!("{done}"),
            Format::Json => eprintln!("{done}"),
        }
        return Ok(());
    }
    // each failure names its operation and object once: libvirt's error
    // already says `start domain x: ...`
    let mut lines: Vec<String> = out.failures.iter().map(|(_, e)| e.to_string()).collect();
    if out.interrupted {
        lines.push("interrupted".into());
    }
    lines.push(format!(
        "{verb} stopped after {} of {} steps; run it again to finish, or `virtstrap destroy` \
         to remove what was made",
        out.done,
        plan.steps.len()
    ));
    Err(anyhow!("{}", lines.join("\nerror: ")))
}
