//! Desired state vs the host's: an ordered list of actions, each with its
//! reason. Third step of spec -> render -> plan -> apply.
//!
//! - [`desired`](mod@desired) renders what the spec wants;
//! - [`actual`](mod@actual) reads, in one pass through a [`Backend`], what the host
//!   has of it;
//! - [`diff`](mod@diff) compares the two, purely: what apply must do, or what
//!   destroy must remove;
//! - [`action`] is the plan as data, which [`crate::apply`] executes.
//!
//! Ownership comes from libvirt itself: a domain's `<vs:owner>` names its
//! cluster and node and lists its volumes; a network's names its cluster;
//! a pool virtstrap created holds a marker volume. Nothing else is ever
//! changed or deleted.

use crate::libvirt::{Backend, BackendError};

pub mod action;
pub mod actual;
pub mod address;
pub mod desired;
pub mod diff;
pub mod placement;
pub(crate) mod refusals;
pub mod reset;

pub use action::{Action, Change, Plan, Step};
pub use actual::{pool_marker, Actual};
pub use desired::{desired, Desired, DesiredNetwork, DesiredNode, DomainXml, IgnitionBytes};

/// Why planning failed: the host could not be read, or an object virtstrap
/// does not own stands in the way.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Reading the host failed.
    #[error(transparent)]
    Host(#[from] BackendError),
    /// Objects that are not virtstrap's clash with the spec, or the host
    /// cannot hold it as it is; nothing was changed.
    #[error("{}", .0.join("\n"))]
    Conflicts(Vec<String>),
}

/// Read the host, then [`diff::diff`]: what apply must do.
pub fn make_plan(backend: &dyn Backend, want: &Desired, adopt: bool) -> Result<Plan, PlanError> {
    diff::diff(want, &Actual::read(backend, want)?, adopt)
}

/// Read the host, then [`diff::destroy`]: what destroy must remove.
pub fn destroy_plan(backend: &dyn Backend, want: &Desired) -> Result<Plan, PlanError> {
    diff::destroy(want, &Actual::read(backend, want)?)
}
