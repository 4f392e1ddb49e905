//! Executing a plan: the last step of spec -> render -> plan -> apply.
//!
//! Steps run in plan order; the first failure stops new work and is
//! returned with its object and libvirt's message. Whatever was done
//! stays consistent (see [`crate::plan`]): the next apply finishes the
//! job and destroy removes everything owned.

use crate::libvirt::{Backend, BackendError};
use crate::plan::{execute, Plan, Step};

/// How far an apply got.
#[derive(Debug)]
pub struct Outcome {
    /// Steps that completed.
    pub done: usize,
    /// The failure that stopped it, with the step.
    pub failed: Option<(Step, BackendError)>,
}

/// Run `plan`'s steps in order, calling `progress` after each one.
pub fn run(
    backend: &dyn Backend,
    cluster: &str,
    plan: &Plan,
    progress: &mut dyn FnMut(usize, &Step),
) -> Outcome {
    for (i, step) in plan.steps.iter().enumerate() {
        if let Err(e) = execute(backend, cluster, &step.action) {
            return Outcome {
                done: i,
                failed: Some((step.clone(), e)),
            };
        }
        progress(i, step);
    }
    Outcome {
        done: plan.steps.len(),
        failed: None,
    }
}
