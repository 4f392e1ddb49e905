//! Butane -> Ignition, in-process and pure.
//!
//! Bytes (and a files-dir for `local` references) in; an Ignition config
//! plus warnings out. The steps: [`yaml`] parses with positions, [`decode`]
//! reads the nodes as the variant/version's schema ([`schema`]) says,
//! [`validate`] runs Butane's source checks, [`translate`](mod@translate) (with [`sugar`]
//! and [`fcos`]) builds the Ignition tree, [`ignvalidate`] runs Ignition's
//! own checks of the result, and [`out`] writes JSON byte-for-byte as the
//! real Butane v0.29.0 does. Every finding names its key path and
//! line:column ([`report`]).
//!
//! ```
//! let bu = b"variant: fcos\nversion: 1.4.0\npasswd:\n  users:\n    - name: core\n";
//! let t = virtstrap_butane::translate(bu, &Default::default()).expect("valid");
//! assert_eq!(
//!     t.to_json(false),
//!     r#"{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core"}]}}"#
//! );
//! ```

pub mod dataurl;
pub mod decode;
pub mod fcos;
pub mod ignvalidate;
pub mod merge;
pub mod out;
pub mod redact;
pub mod report;
pub mod schema;
pub mod sugar;
pub mod translate;
pub mod validate;
pub mod yaml;

pub use out::Out;
pub use report::{Entry, KeyPath, Kind, Report};
pub use translate::Options;

use schema::Spec;
use yaml::{Mark, Node, NodeKind};

/// A translated config and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct Translated {
    /// The Ignition config tree.
    pub config: Out,
    /// Warnings (never errors).
    pub report: Report,
    /// The Ignition spec version of `config`, e.g. `3.3.0`.
    pub ignition_version: &'static str,
}

impl Translated {
    /// The config as JSON text, compact or `--pretty`.
    pub fn to_json(&self, pretty: bool) -> String {
        self.config.to_json(pretty)
    }
}

/// Why a config could not be translated: every error (and the warnings
/// found before them), each with key path and position.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{summary}")]
pub struct ButaneError {
    /// One-line reason, as the real Butane's "Error translating config".
    pub summary: String,
    /// All findings.
    pub report: Report,
}

/// The variants and versions this crate translates, with the Ignition
/// version each produces (as Butane v0.29.0 registers them).
pub const SUPPORTED: &[(&str, &str, &str)] = &[
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

fn spec_of(variant: &str, version: &str) -> Option<Spec> {
    let fcos = |minor: u8, base: u8| Spec {
        base,
        fcos: Some(minor),
    };
    let other = |base: u8| Spec { base, fcos: None };
    Some(match (variant, version) {
        ("fcos", "1.0.0") => fcos(0, 1),
        ("fcos", "1.1.0") => fcos(1, 2),
        ("fcos", "1.2.0") => fcos(2, 3),
        ("fcos", "1.3.0") => fcos(3, 3),
        ("fcos", "1.4.0") => fcos(4, 4),
        ("fcos", "1.5.0") => fcos(5, 5),
        ("fcos", "1.6.0") => fcos(6, 6),
        ("fcos", "1.7.0") => fcos(7, 7),
        ("fcos", "1.8.0-experimental") => fcos(8, 8),
        ("flatcar", "1.0.0") => other(4),
        ("flatcar", "1.1.0") => other(5),
        ("flatcar", "1.2.0-experimental") => other(8),
        _ => return None,
    })
}

/// Translate Butane YAML to an Ignition config.
pub fn translate(input: &[u8], opts: &Options) -> Result<Translated, ButaneError> {
    let mut report = Report::default();
    match run(input, opts, &mut report) {
        Ok((config, spec)) => Ok(Translated {
            config,
            report,
            ignition_version: translate::ignition_version(spec),
        }),
        Err(summary) => Err(ButaneError {
            summary: summary.to_string(),
            report,
        }),
    }
}

/// The steps of [`translate()`], each stopping at its first fatal
/// finding: parse, pick the spec, decode and check the source, build the
/// Ignition tree, then Ignition's own checks. Fails with the one-line
/// summary of the step that stopped (its findings are in `report`).
fn run(input: &[u8], opts: &Options, report: &mut Report) -> Result<(Out, Spec), &'static str> {
    let root = parse_yaml(input, report)?;
    let spec = select_spec(&root, report).ok_or("cannot tell the variant and version")?;
    let doc = decode::decode_root(&root, &schema::CONFIG, spec, report);
    stop_if_fatal(report, "source config is invalid")?;
    validate::check(&doc, spec, report);
    stop_if_fatal(report, "source config is invalid")?;
    let config = build_config(&doc, spec, opts, report);
    stop_if_fatal(report, "source config is invalid")?;
    ignvalidate::field_filters(&config, spec, report);
    stop_if_fatal(report, "source config is invalid")?;
    ignvalidate::validate(&config, spec.ign_minor(), report);
    stop_if_fatal(report, "config generated was invalid")?;
    Ok((config, spec))
}

/// `Err(summary)` once `report` holds an error.
fn stop_if_fatal(report: &Report, summary: &'static str) -> Result<(), &'static str> {
    if report.is_fatal() {
        Err(summary)
    } else {
        Ok(())
    }
}

/// The input as a YAML tree: UTF-8, well-formed and not empty.
fn parse_yaml(input: &[u8], report: &mut Report) -> Result<Node, &'static str> {
    let Ok(text) = std::str::from_utf8(input) else {
        report.error(KeyPath::root(), None, "input is not valid UTF-8");
        return Err("error parsing YAML");
    };
    match yaml::parse(text) {
        Ok(Some(root)) => Ok(root),
        Ok(None) => {
            report.error(
                KeyPath::root(),
                None,
                "error parsing variant; must be specified",
            );
            Err("the config is empty")
        }
        Err(e) => {
            report.error(
                KeyPath::root(),
                Some(e.mark),
                format!("YAML syntax: {}", e.message),
            );
            Err("error parsing YAML")
        }
    }
}

/// The Ignition tree of `doc`, with the fcos sugar and checks applied.
fn build_config(doc: &decode::Obj, spec: Spec, opts: &Options, report: &mut Report) -> Out {
    let mut ctx = translate::Ctx { spec, opts, report };
    let mut config = ctx.root(doc);
    if let Some(minor) = spec.fcos {
        if minor >= 6 {
            ctx.fcos_config_checks(doc);
        }
        ctx.fcos(doc, &mut config, minor);
    }
    config
}

/// Read `variant` and `version` from the root mapping.
fn select_spec(root: &Node, report: &mut Report) -> Option<Spec> {
    let NodeKind::Map(entries) = &root.kind else {
        report.error(
            KeyPath::root(),
            Some(root.mark),
            "the config must be a mapping with variant and version, not a list or a scalar",
        );
        return None;
    };
    let variant = scalar_member(entries, "variant").filter(|(v, _)| !v.is_empty());
    let Some((variant, vmark)) = variant else {
        report.error(
            KeyPath::root().key("variant"),
            Some(root.mark),
            "error parsing variant; must be specified (fcos or flatcar)",
        );
        return None;
    };
    let (version, mark) = scalar_member(entries, "version").unwrap_or(("", root.mark));
    if !is_semver(version) {
        report.error(
            KeyPath::root().key("version"),
            Some(mark),
            "error parsing version; must be a valid semver",
        );
        return None;
    }
    if variant == "rhcos" {
        report.error(
            KeyPath::root().key("variant"),
            Some(vmark),
            "rhcos variant has been removed; use openshift variant instead: https://coreos.github.io/butane/upgrading-openshift/",
        );
        return None;
    }
    let spec = spec_of(variant, version);
    if spec.is_none() {
        no_translator(variant, vmark, version, mark, report);
    }
    spec
}

/// The scalar value of the root's member `key`, and where it is.
fn scalar_member<'a>(entries: &'a [(Node, Node)], key: &str) -> Option<(&'a str, Mark)> {
    entries.iter().find_map(|(k, v)| match (&k.kind, &v.kind) {
        (NodeKind::Scalar { value, .. }, NodeKind::Scalar { value: val, .. }) if value == key => {
            Some((val.as_str(), v.mark))
        }
        _ => None,
    })
}

/// The error for a variant or version this crate does not translate, at
/// the variant (`vmark`) or the version (`mark`), with the variants or the
/// variant's versions it does translate.
fn no_translator(variant: &str, vmark: Mark, version: &str, mark: Mark, report: &mut Report) {
    let known: Vec<String> = SUPPORTED
        .iter()
        .filter(|(v, _, _)| *v == variant)
        .map(|(_, ver, _)| ver.to_string())
        .collect();
    let hint = if known.is_empty() {
        " (supported variants: fcos, flatcar)".to_string()
    } else {
        format!(" (supported versions: {})", known.join(", "))
    };
    let (path, m) = if known.is_empty() {
        (KeyPath::root().key("variant"), vmark)
    } else {
        (KeyPath::root().key("version"), mark)
    };
    report.error(
        path,
        Some(m),
        format!("No translator exists for variant {variant} with version {version}{hint}"),
    );
}

fn is_semver(v: &str) -> bool {
    let (core, _pre) = v.split_once('-').unwrap_or((v, ""));
    let core = core.split('+').next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}
