//! Integration tests of the Butane -> Ignition translation, all in one test
//! binary. Expected outputs come from the real Butane v0.29.0.
//!
//! - `features`: every fixture in `tests/fixtures/valid` (input `NAME.bu`,
//!   Butane's output `NAME.ign`, its warnings `NAME.warnings`; `NAME.args`
//!   means "run with the standard files-dir"), plus version boundaries.
//! - `invalid`: inputs that must fail, with key path, line and column.
//! - `corpus`: the shared conformance corpus (`../shared/conformance`).
//! - `known_bugs`: cases that fail today; `#[ignore]`d until fixed.

mod common;
mod corpus;
mod features;
mod invalid;
mod known_bugs;

mod boundary_cases;
mod invalid_cases;
