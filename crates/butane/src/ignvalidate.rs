//! Ignition's own checks of the translated config (placeholder: filled in
//! by the Ignition validation work).

use crate::out::Out;
use crate::report::Report;
use crate::schema::Spec;

/// Fields a variant's spec forbids in its output.
pub fn field_filters(_config: &Out, _spec: Spec, _report: &mut Report) {}

/// Ignition's validation of `config` for spec `3.<ign_minor>.0`.
pub fn validate(_config: &Out, _ign_minor: u8, _report: &mut Report) {}
