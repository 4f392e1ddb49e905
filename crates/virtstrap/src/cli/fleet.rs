//! `plan`, `apply` and `destroy` of a cluster over several hosts
//! (`hosts:`): one plan over every host, read in parallel; the cluster
//! lock taken on every host, always in the order of the hosts' names (two
//! runs never wait on each other crosswise); each host's steps run in
//! parallel with the others'.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, Result};
use serde_json::json;

use crate::apply;
use crate::apply::lock::{with_lock, LockOptions};
use crate::fleet::{at_once, Fleet, Member};
use crate::plan::{Desired, Plan, PlanError, Step};
use crate::spec::Cluster;

use super::converge::{confirm, RunArgs, STOP};
use super::host::{plan_json, Format};
use super::spec_args::IgnitionErrors;

/// Each host's share of the cluster, rendered.
pub(super) fn desired(fleet: &Fleet) -> Result<Vec<Desired>> {
    let mut out = Vec::new();
    for m in &fleet.members {
        out.push(m.session.desired().map_err(IgnitionErrors::from)?);
    }
    Ok(out)
}

/// Every host's plan, read in parallel; `make` plans one host.
pub(super) fn plans(
    fleet: &Fleet,
    wants: &[Desired],
    make: &(dyn Fn(&Member, &Desired) -> Result<Plan, PlanError> + Sync),
) -> Result<Vec<Plan>> {
    let pairs: Vec<(&Member, &Desired)> = fleet.members.iter().zip(wants).collect();
    let results = at_once(&pairs, |(m, w)| make(m, w));
    let mut plans = Vec::new();
    let mut conflicts = Vec::new();
    for (m, r) in fleet.members.iter().zip(results) {
        match r {
            Ok(p) => plans.push(p),
            Err(PlanError::Conflicts(c)) => {
                conflicts.extend(c.into_iter().map(|c| format!("host {}: {c}", m.name)));
            }
            Err(e) => return Err(anyhow!(e).context(format!("host {}", m.name))),
        }
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicts(conflicts).into());
    }
    Ok(plans)
}

/// The plan of every host, for people or programs; then what was left
/// out.
pub(super) fn print(cluster: &Cluster, fleet: &Fleet, plans: &[Plan], format: Format) {
    match format {
        Format::Text => {
            for (m, p) in fleet.members.iter().zip(plans) {
                let label = format!("host {} ({})", m.name, m.session.uri);
                print!("{}", p.to_text(&cluster.name, &label));
            }
        }
        Format::Json => {
            let hosts: Vec<_> = fleet
                .members
                .iter()
                .zip(plans)
                .map(|(m, p)| {
                    let mut v = plan_json(p);
                    v["host"] = json!(m.name);
                    v["uri"] = json!(m.session.uri);
                    v
                })
                .collect();
            let down: Vec<_> = fleet.down.iter().map(crate::fleet::Down::json).collect();
            println!(
                "{:#}",
                json!({"hosts": hosts, "down": down, "left_out": fleet.unplaced})
            );
        }
    }
    for line in left_out(fleet) {
        eprintln!("{line}");
    }
}

/// What a run with hosts down leaves alone, a line each.
fn left_out(fleet: &Fleet) -> Vec<String> {
    let mut out: Vec<String> = fleet
        .down
        .iter()
        .map(|d| format!("skipped host {d}: it did not answer: {}", d.why))
        .collect();
    if !fleet.unplaced.is_empty() {
        out.push(format!(
            "skipped nodes that may be on a host that did not answer: {}",
            fleet.unplaced.join(", ")
        ));
    }
    out
}

/// Under the cluster lock of every host (taken in the order of their
/// names), run `body`.
pub(super) fn locked<T>(
    fleet: &Fleet,
    cluster: &str,
    verb: &str,
    run: &RunArgs,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let mut order: Vec<&Member> = fleet.members.iter().collect();
    order.sort_by(|a, b| a.name.cmp(&b.name));
    let opts = LockOptions {
        timeout: run.lock_timeout,
        force: run.force_unlock,
    };
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    nest(&order, cluster, verb, opts, Box::new(body))
}

fn nest<'a, T>(
    order: &[&Member],
    cluster: &str,
    verb: &str,
    opts: LockOptions,
    body: Box<dyn FnOnce() -> Result<T> + 'a>,
) -> Result<T> {
    let Some((first, rest)) = order.split_first() else {
        return body();
    };
    let note = |m: &str| eprintln!("host {}: {m}", first.name);
    let inner = || nest(rest, cluster, verb, opts, body);
    with_lock(
        &first.session.backend,
        cluster,
        verb,
        opts,
        &STOP,
        &note,
        inner,
    )
    .map_err(|e| anyhow!(e).context(format!("host {}", first.name)))?
}

/// Plan every host, show it, confirm, run every host's steps at once:
/// each host's share of the spec, rendered, and its plan.
pub(super) fn converge(
    cluster: &Cluster,
    fleet: &Fleet,
    run: &RunArgs,
    verb: &str,
    question: &str,
    make: &(dyn Fn(&Member, &Desired) -> Result<Plan, PlanError> + Sync),
) -> Result<(Vec<Desired>, Vec<Plan>)> {
    let wants = desired(fleet)?;
    let plans = locked(fleet, &cluster.name, verb, run, || {
        let plans = plans(fleet, &wants, make)?;
        print(cluster, fleet, &plans, Format::Text);
        if plans.iter().all(|p| p.steps.is_empty()) {
            return Ok(plans);
        }
        confirm(question, run.yes)?;
        execute(cluster, fleet, &plans, run.parallel, verb)?;
        Ok(plans)
    })?;
    Ok((wants, plans))
}

/// Run each host's plan, all hosts at once; progress lines name the host.
fn execute(
    cluster: &Cluster,
    fleet: &Fleet,
    plans: &[Plan],
    parallel: usize,
    verb: &str,
) -> Result<()> {
    let total: usize = plans.iter().map(|p| p.steps.len()).sum();
    let counter = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let start = std::time::Instant::now();
    std::thread::scope(|scope| {
        for (m, plan) in fleet.members.iter().zip(plans) {
            let (counter, failures) = (&counter, &failures);
            scope.spawn(move || {
                let progress = |step: &Step| {
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    eprintln!("[{n}/{total}] {}: {}", m.name, step.action.describe());
                };
                let out = apply::run(
                    &m.session.backend,
                    &cluster.name,
                    plan,
                    parallel,
                    &STOP,
                    &progress,
                );
                let mut f = failures.lock().expect("no panics under this lock");
                for (_, e) in &out.failures {
                    f.push(format!("host {}: {e}", m.name));
                }
                if out.interrupted {
                    f.push(format!("host {}: interrupted", m.name));
                }
            });
        }
    });
    let done = counter.load(Ordering::SeqCst);
    let failures = failures.into_inner().expect("no panics under this lock");
    if failures.is_empty() {
        let secs = start.elapsed().as_secs_f64();
        let hosts = match fleet.members.len() {
            1 => "1 host".to_string(),
            n => format!("{n} hosts"),
        };
        println!("{verb}: {done} steps on {hosts} in {secs:.1} s");
        return Ok(());
    }
    let mut lines = failures;
    lines.push(format!(
        "{verb} stopped after {done} of {total} steps; run it again to finish, or \
         `virtstrap destroy` to remove what was made"
    ));
    Err(anyhow!("{}", lines.join("\nerror: ")))
}

/// A read-only command that could not reach every host: an error naming
/// them, after what it could show.
pub(super) fn unreached(fleet: &Fleet, verb: &str) -> Result<()> {
    if fleet.down.is_empty() {
        return Ok(());
    }
    let hosts: Vec<String> = fleet
        .down
        .iter()
        .map(|d| format!("{d}: {}", d.why))
        .collect();
    Err(anyhow!(
        "{verb} did not reach host {}; its nodes are shown as unknown",
        hosts.join(", ")
    ))
}

/// What a run with hosts down did not reach: for destroy an error (what
/// is left, and where); for apply --partial, which asked for exactly
/// that, a note.
pub(super) fn unfinished(fleet: &Fleet, verb: &str) -> Result<()> {
    if fleet.down.is_empty() {
        return Ok(());
    }
    if verb == "apply" {
        eprintln!(
            "apply --partial: done on the hosts that answered; run apply again when the others do"
        );
        return Ok(());
    }
    let hosts: Vec<String> = fleet.down.iter().map(ToString::to_string).collect();
    Err(anyhow!(
        "{verb} did not reach host {}: whatever this cluster has there is left; run {verb} \
         again when it answers",
        hosts.join(", ")
    ))
}
