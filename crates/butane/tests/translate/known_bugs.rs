//! Regression tests for mismatches with Butane v0.29.0 that were found
//! and fixed, each named after what broke. New mismatches go in
//! `KNOWN_BUGS` (which excludes them from the table-driven tests) with an
//! `#[ignore]`d test of their own until fixed.

use crate::features::check_fixture;
use crate::invalid::check_invalid;
use crate::invalid_cases::INVALID;

/// Fixture names (valid) and invalid-case names that fail today.
pub const KNOWN_BUGS: &[&str] = &[];

/// Run one invalid case by name.
fn invalid(name: &str) {
    let &(n, input, files, path, line, col) = INVALID
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no invalid case {name}"));
    check_invalid(n, input, files, path, line, col);
}

/// Butane warns "skipping validation for the merge/replace ignition config
/// due to an unkown version" at `$.ignition.config.merge.N.version` when an
/// inline merge/replace config's version differs from the output version
/// (so `--strict` fails); we emit no warning.
#[test]
fn fixed_inline_merge_other_version_warning() {
    for name in ["ign-config-1.3.0", "ign-config-1.4.0", "ign-config-1.6.0"] {
        check_fixture(name);
    }
}

/// `user: *owner` where the anchor holds unknown keys: Butane emits one
/// warning at the alias (`$.storage.files.1.user`, 12:13, "context tree
/// does not match content tree ..."); we report the keys inside the anchor
/// with the anchor's positions.
#[test]
fn fixed_alias_unused_key_warnings() {
    check_fixture("yaml-anchors");
}

/// `uid: !!int "42"` is accepted by Butane (uid 42); we reject it.
#[test]
fn fixed_explicit_int_tag() {
    check_fixture("yaml-explicit-tag");
}

/// A tab used as indentation at line 4 column 1 is reported at column 2.
#[test]
fn fixed_tab_error_column() {
    invalid("yaml-tabs");
}

/// Fixed (regression test): `partitions: [{number: 0, label: a}]`: Butane
/// omits `"number": 0` from the output (Go `omitempty`), and from 1.6.0
/// warns "partitions cannot be reused by label; ..." at the value (7:19).
#[test]
fn fixed_partition_number_zero() {
    check_fixture("partition-number-0");
    check_fixture("partition-number-0-1.6");
}
