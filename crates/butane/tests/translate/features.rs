//! Valid inputs: output, warnings and version boundaries, against the
//! outputs of Butane v0.29.0 stored in `tests/fixtures/valid`.

use std::fs;
use std::path::Path;

use virtstrap_butane::Kind;

use crate::boundary_cases::BOUNDARIES;
use crate::common::{
    assert_ignition_parses, assert_same_config, fixtures_dir, parse_raw, positions, read,
    std_files_dir, translate,
};
use crate::known_bugs::KNOWN_BUGS;

/// Names of all fixtures (`NAME.bu` with a `NAME.ign`).
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/valid exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|n| n.strip_suffix(".bu").map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Translate one fixture and compare output and warnings with Butane's.
pub fn check_fixture(name: &str) {
    let dir = fixtures_dir();
    let input = read(&dir.join(format!("{name}.bu")));
    let expected = read(&dir.join(format!("{name}.ign")));
    let files = std_files_dir();
    let files_dir = dir
        .join(format!("{name}.args"))
        .exists()
        .then(|| files.path());
    let t = match translate(&input, files_dir) {
        Ok(t) => t,
        Err(e) => panic!("{name}: translation failed: {e}\n{:#?}", e.report.entries),
    };
    assert_same_config(name, &t.to_json(false), &expected);
    let warnings_file = dir.join(format!("{name}.warnings"));
    let expected_warnings = if warnings_file.exists() {
        parse_raw(&read(&warnings_file), "warning")
    } else {
        Vec::new()
    };
    assert_eq!(
        positions(&t.report, Kind::Warning),
        expected_warnings,
        "{name}: warnings (path, line, col) differ from Butane v0.29.0"
    );
    assert_ignition_parses(name, &t);
}

#[test]
fn fixtures_match_butane() {
    let names = fixture_names();
    assert!(names.len() > 100, "fixtures missing: {}", names.len());
    let mut failures = Vec::new();
    for name in &names {
        if KNOWN_BUGS.contains(&name.as_str()) {
            continue;
        }
        if let Err(e) = std::panic::catch_unwind(|| check_fixture(name)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "panic".to_string());
            failures.push(msg);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}

#[test]
fn known_bugs_name_existing_cases() {
    for name in KNOWN_BUGS {
        let is_fixture = fixtures_dir().join(format!("{name}.bu")).exists();
        let is_invalid = crate::invalid_cases::INVALID.iter().any(|c| c.0 == *name);
        assert!(is_fixture || is_invalid, "known bug {name} names no case");
    }
}

/// The header for a variant and version.
fn config(variant: &str, version: &str, body: &str) -> String {
    format!("variant: {variant}\nversion: {version}\n{body}")
}

fn unused_key_warnings(input: &str, files: &Path) -> Vec<(String, usize, usize)> {
    let report = match translate(input, Some(files)) {
        Ok(t) => t.report,
        Err(e) => e.report,
    };
    report
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Warning && e.message.contains("unused key"))
        .map(|e| {
            let (l, c) = e.mark.map_or((0, 0), |m| (m.line, m.col));
            (e.path.to_string(), l, c)
        })
        .collect()
}

#[test]
fn version_boundaries() {
    let files = std_files_dir();
    for b in BOUNDARIES {
        let (variant, feature, body, path) = (b.variant, b.feature, b.body, b.path);
        let (before, first, line, col) = (b.before, b.first, b.line, b.col);
        let old = config(variant, before, body);
        let warned = unused_key_warnings(&old, files.path());
        assert!(
            warned.contains(&(path.to_string(), line, col)),
            "{variant} {before} {feature}: expected an unused key warning at {path}:{line}:{col}, got {warned:?}"
        );
        let new = config(variant, first, body);
        let t = translate(&new, Some(files.path())).unwrap_or_else(|e| {
            panic!(
                "{variant} {first} {feature}: must translate: {e} {:#?}",
                e.report.entries
            )
        });
        assert!(
            !t.report
                .entries
                .iter()
                .any(|e| e.message.contains("unused key")),
            "{variant} {first} {feature}: unexpected unused key warning {:?}",
            t.report.entries
        );
        assert_ignition_parses(feature, &t);
    }
}

#[test]
fn every_version_translates_to_its_ignition_version() {
    const VERSIONS: &[(&str, &str, &str)] = &[
        ("fcos", "1.0.0", "3.0.0"),
        ("fcos", "1.1.0", "3.1.0"),
        ("fcos", "1.2.0", "3.2.0"),
        ("fcos", "1.3.0", "3.2.0"),
        ("fcos", "1.4.0", "3.3.0"),
        ("fcos", "1.5.0", "3.4.0"),
        ("fcos", "1.6.0", "3.5.0"),
        ("fcos", "1.7.0", "3.6.0"),
        ("fcos", "1.8.0-experimental", "3.7.0-experimental"),
        ("flatcar", "1.0.0", "3.3.0"),
        ("flatcar", "1.1.0", "3.4.0"),
        ("flatcar", "1.2.0-experimental", "3.7.0-experimental"),
    ];
    for &(variant, version, ign) in VERSIONS {
        let t = translate(&config(variant, version, ""), None).expect("minimal config");
        assert_eq!(t.ignition_version, ign, "{variant} {version}");
        let expected = format!(r#"{{"ignition":{{"version":"{ign}"}}}}"#);
        assert_same_config(version, &t.to_json(false), &expected);
        assert!(
            t.report.entries.is_empty(),
            "{variant} {version}: {:?}",
            t.report.entries
        );
        assert_ignition_parses(version, &t);
    }
}

#[test]
fn pretty_and_compact_are_the_same_config() {
    let t =
        translate(&read(&fixtures_dir().join("files-fcos-1.4.0.bu")), None).expect("translates");
    let pretty = t.to_json(true);
    assert!(
        pretty.contains("\n  "),
        "pretty output is indented: {pretty}"
    );
    assert_same_config("pretty", &pretty, &t.to_json(false));
}
