//! Executing a plan: the last step of spec -> render -> plan -> apply.
//!
//! Pools and networks first, in order; then each node's steps in order,
//! different nodes in parallel (bounded); then the steps that must come
//! last (deleting networks and pools after the domains on them). The
//! first failure, or an interrupt, stops new work; steps already running
//! finish. Every failure is reported with its object and libvirt's
//! message. Whatever was done stays consistent (see [`crate::plan::diff`]): the
//! next apply finishes the job and destroy removes everything owned.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::libvirt::{Backend, BackendError};
use crate::plan::{Plan, Step};

mod execute;
pub mod lock;

pub use execute::execute;

/// How far an apply got.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Steps that completed.
    pub done: usize,
    /// Every failure, with its step.
    pub failures: Vec<(Step, BackendError)>,
    /// Whether an interrupt stopped it.
    pub interrupted: bool,
}

impl Outcome {
    /// Whether every step ran and none failed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && !self.interrupted
    }
}

/// Run `plan` with at most `parallel` nodes at a time (0 counts as 1).
/// `stop` may be set from outside (Ctrl-C) to stop new work; `progress`
/// is called after each completed step.
pub fn run(
    backend: &dyn Backend,
    cluster: &str,
    plan: &Plan,
    parallel: usize,
    stop: &AtomicBool,
    progress: &(dyn Fn(&Step) + Sync),
) -> Outcome {
    let first_node = plan.steps.iter().position(|s| !s.node.is_empty());
    let last_node = plan.steps.iter().rposition(|s| !s.node.is_empty());
    let (head, middle, tail) = match (first_node, last_node) {
        (Some(a), Some(b)) => (&plan.steps[..a], &plan.steps[a..=b], &plan.steps[b + 1..]),
        _ => (&plan.steps[..], &plan.steps[..0], &plan.steps[..0]),
    };
    let done = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let failed = AtomicBool::new(false);
    let run_one = |step: &Step| -> bool {
        if stop.load(Ordering::SeqCst) || failed.load(Ordering::SeqCst) {
            return false;
        }
        match execute(backend, cluster, &step.action) {
            Ok(()) => {
                done.fetch_add(1, Ordering::SeqCst);
                progress(step);
                true
            }
            Err(e) => {
                failed.store(true, Ordering::SeqCst);
                lock(&failures).push((step.clone(), e));
                false
            }
        }
    };
    let in_order = |steps: &[Step]| steps.iter().all(&run_one);
    let in_order_refs = |steps: &[&Step]| steps.iter().all(|s| run_one(s));
    if in_order(head) {
        let queue = Mutex::new(groups(middle));
        let workers = parallel.max(1).min(lock(&queue).len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let Some(group) = lock(&queue).pop_front() else {
                        break;
                    };
                    in_order_refs(&group);
                });
            }
        });
        if !failed.load(Ordering::SeqCst) {
            in_order(tail);
        }
    }
    Outcome {
        done: done.load(Ordering::SeqCst),
        failures: failures.into_inner().unwrap_or_else(|e| e.into_inner()),
        interrupted: stop.load(Ordering::SeqCst),
    }
}

/// Each node's steps, in plan order, one group per node (borrowed: the
/// plan's XML and Ignition bytes are not copied).
fn groups(steps: &[Step]) -> VecDeque<Vec<&Step>> {
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut out: VecDeque<Vec<&Step>> = VecDeque::new();
    for s in steps {
        let i = *index.entry(&*s.node).or_insert_with(|| {
            out.push_back(Vec::new());
            out.len() - 1
        });
        out[i].push(s);
    }
    out
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // a worker that panicked leaves the queue or list whole (one push or
    // pop at a time): keep going with it
    m.lock().unwrap_or_else(|e| e.into_inner())
}
