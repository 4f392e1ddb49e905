//! Reading `cluster.yaml` into a [`Cluster`], collecting every problem.
//!
//! The entry point of the spec step (spec -> render -> plan -> apply).
//! The YAML is parsed with positions (the Butane crate's parser), then
//! read as a cluster spec (`cluster`) or the write-up's vars file
//! (`vars`): field by field against what each mapping allows (`reader`,
//! `node`), defaulted from `defaults:` and expanded (`expand`), then
//! cross-checked (`checks`: duplicate names, overlapping CIDRs, addresses
//! outside their network, missing files). Nothing stops at the first
//! problem: the caller gets all of them, each with file, line, column and
//! key path.

use std::path::{Path, PathBuf};

use virtstrap_butane::yaml::{self, NodeKind};
use virtstrap_butane::KeyPath;

use super::problem::{SpecError, SpecProblem};
use super::reader::{scalar, Reader};
use super::Cluster;

/// How to load.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Butane files added before the spec's own cluster-level ones (for
    /// vars files, which cannot name any).
    pub extra_butane: Vec<PathBuf>,
    /// Cluster name for a vars file (default `cluster`).
    pub name: Option<String>,
}

/// Load and check the spec at `path`.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Cluster, SpecError> {
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, path, opts),
        Err(e) => Err(SpecError {
            problems: vec![SpecProblem {
                file: path.to_path_buf(),
                mark: None,
                path: "$".into(),
                message: format!("cannot read the spec: {e}"),
            }],
        }),
    }
}

/// Load and check spec text that came from `file` (relative paths in it
/// are relative to that file's directory).
pub fn load_str(text: &str, file: &Path, opts: &LoadOptions) -> Result<Cluster, SpecError> {
    let mut r = Reader::new(file);
    let root = match yaml::parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            r.err(
                &KeyPath::root(),
                None,
                "the spec is empty (see `virtstrap init`)",
            );
            return Err(r.finish());
        }
        Err(e) => {
            r.err(
                &KeyPath::root(),
                Some(e.mark),
                format!("YAML syntax: {}", e.message),
            );
            return Err(r.finish());
        }
    };
    let is_vars = matches!(&root.kind, NodeKind::Map(m) if m.iter().any(|(k, _)| scalar(k) == Some("k8s_node")));
    let cluster = if is_vars {
        super::vars::read(&mut r, &root, opts)
    } else {
        r.cluster(&root, opts)
    };
    // cross-checks run even after earlier problems: every problem is
    // reported in one go
    if let Some(c) = &cluster {
        r.check(c);
    }
    match cluster {
        Some(c) if r.problems.is_empty() => Ok(c),
        _ => Err(r.finish()),
    }
}
