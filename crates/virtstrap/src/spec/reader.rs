//! Reading typed fields out of the positioned YAML tree.
//!
//! This is the bottom of the spec step (spec -> render -> plan -> apply):
//! the cluster, node and vars readers ask a [`Reader`] for a mapping's
//! fields, a string, a number, a size or a file path, and it answers with
//! the value or records a problem with file, line, column and key path
//! and answers `None`, so that reading goes on and every problem is
//! reported in one go. It also keeps where things were written, for the
//! cross-checks run after `count` expansion.

use std::path::{Path, PathBuf};

use virtstrap_butane::decode::{closest, is_null};
use virtstrap_butane::yaml::{Mark, Node, NodeKind};
use virtstrap_butane::KeyPath;

use super::problem::{SpecError, SpecProblem};
use super::size::{self, Unit};

/// The text of a scalar, `None` for a mapping or a list.
pub(super) fn scalar(n: &Node) -> Option<&str> {
    match &n.kind {
        NodeKind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

/// Where the value of `key` in mapping `node` was written.
pub(super) fn value_mark(node: &Node, key: &str) -> Option<Mark> {
    match &node.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| scalar(k) == Some(key))
            .map(|(_, v)| v.mark),
        _ => None,
    }
}

/// A mapping's entries, checked against the keys it may have.
pub(super) struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node, Mark)>,
    /// Key path of the mapping itself.
    pub(super) path: KeyPath,
    /// Where the mapping starts.
    pub(super) mark: Mark,
}

impl<'n> Fields<'n> {
    /// The value of `key`, unless it is absent or null.
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, v, _)| *k == key && !is_null(v))
            .map(|(_, v, _)| *v)
    }
}

/// A value with where it was written.
#[derive(Clone, Debug)]
pub(super) struct At<T> {
    /// The value.
    pub(super) v: T,
    /// Its key path.
    pub(super) path: KeyPath,
    /// Where it was written.
    pub(super) mark: Mark,
}

/// Reads nodes of the YAML tree, collecting problems.
pub(super) struct Reader {
    file: PathBuf,
    pub(super) dir: PathBuf,
    /// Every problem found so far, in the order found.
    pub(super) problems: Vec<SpecProblem>,
    /// Where each NIC entry, its ip and its mac were written.
    pub(super) nic_marks: Vec<(Mark, Mark, Mark)>,
    /// Where each expanded node, NIC and file reference was written.
    pub(super) srcs: Srcs,
}

/// Positions kept for the cross-checks after expansion.
#[derive(Default)]
pub(super) struct Srcs {
    /// Per expanded node: where its name was written.
    pub(super) node_names: Vec<(KeyPath, Mark)>,
    /// Per node, per NIC: its path and where its ip and mac were written.
    pub(super) nics: Vec<Vec<(KeyPath, Mark, Mark)>>,
    /// Every file the spec names, with where it was named.
    pub(super) files: Vec<(PathBuf, KeyPath, Mark)>,
    /// Per declared network: where its name was written.
    pub(super) networks: Vec<(KeyPath, Mark)>,
    /// Per network: where its cidr (or, without one, its name) was written.
    pub(super) cidrs: Vec<(KeyPath, Mark)>,
    /// Per declared pool: where its name was written.
    pub(super) pools: Vec<(KeyPath, Mark)>,
}

impl Reader {
    /// A reader for the spec text that came from `file`.
    pub(super) fn new(file: &Path) -> Self {
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Reader {
            file: file.to_path_buf(),
            dir,
            problems: Vec::new(),
            nic_marks: Vec::new(),
            srcs: Srcs::default(),
        }
    }

    /// The spec file being read.
    pub(super) fn file(&self) -> &Path {
        &self.file
    }

    /// The problems found, sorted by position.
    pub(super) fn finish(mut self) -> SpecError {
        self.problems
            .sort_by_key(|p| p.mark.map(|m| (m.line, m.col)));
        SpecError {
            problems: self.problems,
        }
    }

    /// Record a problem at `path`.
    pub(super) fn err(&mut self, path: &KeyPath, mark: Option<Mark>, msg: impl Into<String>) {
        self.problems.push(SpecProblem {
            file: self.file.clone(),
            mark,
            path: path.to_string(),
            message: msg.into(),
        });
    }

    /// Record a problem that is not in the spec's text but in `file` or
    /// on the command line (`what`: the flag).
    pub(super) fn err_in(&mut self, file: &Path, what: &str, msg: impl Into<String>) {
        self.problems.push(SpecProblem {
            file: file.to_path_buf(),
            mark: None,
            path: what.into(),
            message: msg.into(),
        });
    }

    /// The entries of a mapping; unknown keys are errors with a hint.
    pub(super) fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &KeyPath,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.err(
                path,
                Some(node.mark),
                "expected a mapping (key: value lines)",
            );
            return None;
        };
        let mut fields = Fields {
            entries: Vec::new(),
            path: path.clone(),
            mark: node.mark,
        };
        for (k, v) in entries {
            let Some(key) = scalar(k) else {
                self.err(path, Some(k.mark), "keys must be plain strings");
                continue;
            };
            if !allowed.contains(&key) {
                let hint = closest(key, allowed.iter().copied())
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_else(|| format!(" (allowed: {})", allowed.join(", ")));
                self.err(
                    &path.key(key),
                    Some(k.mark),
                    format!("unknown key {key}{hint}"),
                );
                continue;
            }
            fields.entries.push((key, v, k.mark));
        }
        Some(fields)
    }

    /// A scalar as a string.
    pub(super) fn string(&mut self, node: &Node, path: &KeyPath) -> Option<String> {
        match &node.kind {
            NodeKind::Scalar { value, .. } => Some(value.clone()),
            _ => {
                self.err(path, Some(node.mark), "expected a string");
                None
            }
        }
    }

    /// A whole number; `what` names it in the problem.
    pub(super) fn uint(&mut self, node: &Node, path: &KeyPath, what: &str) -> Option<u64> {
        let parsed = scalar(node).and_then(|s| s.trim().parse::<u64>().ok());
        if parsed.is_none() {
            self.err(
                path,
                Some(node.mark),
                format!("expected {what} (a whole number)"),
            );
        }
        parsed
    }

    /// A size in bytes; a bare number is in `bare` units.
    pub(super) fn size(&mut self, node: &Node, path: &KeyPath, bare: Unit) -> Option<u64> {
        let Some(text) = scalar(node) else {
            self.err(path, Some(node.mark), "expected a size such as 4GiB");
            return None;
        };
        match size::parse(text, bare) {
            Ok(b) => Some(b),
            Err(e) => {
                self.err(path, Some(node.mark), e);
                None
            }
        }
    }

    /// A string or a list of strings.
    pub(super) fn strings(&mut self, node: &Node, path: &KeyPath) -> Vec<At<String>> {
        match &node.kind {
            NodeKind::Scalar { value, .. } => vec![At {
                v: value.clone(),
                path: path.clone(),
                mark: node.mark,
            }],
            NodeKind::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    let p = path.index(i);
                    self.string(n, &p).map(|v| At {
                        v,
                        path: p,
                        mark: n.mark,
                    })
                })
                .collect(),
            NodeKind::Map(_) => {
                self.err(
                    path,
                    Some(node.mark),
                    "expected a string or a list of strings",
                );
                Vec::new()
            }
        }
    }

    /// The items of a list.
    pub(super) fn list<'n>(&mut self, node: &'n Node, path: &KeyPath) -> &'n [Node] {
        match &node.kind {
            NodeKind::Seq(items) => items,
            _ => {
                self.err(path, Some(node.mark), "expected a list");
                &[]
            }
        }
    }

    /// A path relative to the spec's directory.
    pub(super) fn file_ref(&mut self, s: At<String>) -> At<PathBuf> {
        let p = self.dir.join(&s.v);
        self.srcs.files.push((p.clone(), s.path.clone(), s.mark));
        At {
            v: p,
            path: s.path,
            mark: s.mark,
        }
    }

    /// The string at `key` of `f`, which must be there.
    pub(super) fn required_string(&mut self, f: &Fields<'_>, key: &str) -> Option<String> {
        match f.get(key) {
            Some(n) => self.string(n, &f.path.key(key)),
            None => {
                self.err(&f.path.key(key), Some(f.mark), format!("{key} is required"));
                None
            }
        }
    }

    /// Names become hostnames, volume prefixes and domain names: one DNS
    /// label each, lowercase.
    pub(super) fn check_name(&mut self, name: &str, path: &KeyPath, mark: Mark, max: usize) {
        let ok = !name.is_empty()
            && name.len() <= max
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !ok {
            self.err(
                path,
                Some(mark),
                format!("{name:?} is not a valid name: use 1 to {max} lowercase letters, digits and '-', not starting or ending with '-'"),
            );
        }
    }
}
