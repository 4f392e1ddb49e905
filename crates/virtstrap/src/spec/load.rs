//! Reading `cluster.yaml` into a [`Cluster`], collecting every problem.
//!
//! The entry point of the spec step (spec -> render -> plan -> apply).
//! The file is read only if it is a regular file within
//! [`MAX_SPEC_BYTES`]; the YAML (one document) is parsed with positions
//! (the Butane crate's parser), then read as a cluster spec (`cluster`)
//! or the write-up's vars file (`vars`): field by field against what each
//! mapping allows (`reader`, `node`), defaulted from `defaults:` and
//! expanded (`expand`), MACs that would collide derived anew (`macs`),
//! then cross-checked (`checks`: duplicate names, overlapping CIDRs,
//! addresses outside their network, missing files). Nothing stops at the
//! first problem: the caller gets all of them, each with file, line,
//! column and key path.

use std::path::{Path, PathBuf};

use virtstrap_butane::yaml::{self, Mark, Node, NodeKind};
use virtstrap_butane::KeyPath;

use super::problem::{SpecError, SpecProblem};
use super::reader::{scalar, Reader};
use super::Cluster;
use crate::fsutil::{read_regular, MAX_SPEC_BYTES};

/// How to load.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Butane files added before the spec's own cluster-level ones (for
    /// vars files, which cannot name any).
    pub extra_butane: Vec<PathBuf>,
    /// Cluster name for a vars file (default `cluster`).
    pub name: Option<String>,
}

/// Load and check the spec at `path`: a regular file (not a FIFO, a
/// device or a directory) of at most [`MAX_SPEC_BYTES`].
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Cluster, SpecError> {
    let read = read_regular(path, MAX_SPEC_BYTES).map_err(|e| e.to_string());
    match read.and_then(|b| String::from_utf8(b).map_err(|_| "is not UTF-8 text".into())) {
        Ok(text) => load_str(&text, path, opts),
        Err(e) => Err(SpecError {
            problems: vec![SpecProblem {
                file: path.to_path_buf(),
                mark: None,
                path: "$".into(),
                message: format!("cannot read the spec: it {e}"),
            }],
        }),
    }
}

/// Load and check spec text that came from `file` (relative paths in it
/// are relative to that file's directory).
pub fn load_str(text: &str, file: &Path, opts: &LoadOptions) -> Result<Cluster, SpecError> {
    let mut r = Reader::new(file);
    if let Some(mark) = second_document(text) {
        r.err(
            &KeyPath::root(),
            Some(mark),
            "a second YAML document: a spec is one document; remove this `---` and what \
             follows, or merge it into the first",
        );
        return Err(r.finish());
    }
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
    let cluster = if is_vars(&mut r, &root, opts) {
        super::vars::read(&mut r, &root, opts)
    } else {
        r.cluster(&root, opts)
    };
    // cross-checks run even after earlier problems: every problem is
    // reported in one go
    if let Some(mut c) = cluster {
        super::macs::rederive_colliding(&mut c);
        r.check(&c);
        if r.problems.is_empty() {
            return Ok(c);
        }
    }
    Err(r.finish())
}

/// Whether `root` is a vars file (it has `k8s_node`). One that also has
/// a cluster.yaml key is refused: it would be read as a vars file and
/// that key ignored. `--name` is refused for a cluster.yaml, whose name
/// is its own `name:`.
fn is_vars(r: &mut Reader, root: &Node, opts: &LoadOptions) -> bool {
    let NodeKind::Map(entries) = &root.kind else {
        return false;
    };
    let key = |name: &str| entries.iter().find(|(k, _)| scalar(k) == Some(name));
    let Some((list, _)) = key("k8s_node") else {
        if opts.name.is_some() {
            let at = key("name").map_or(String::new(), |(k, _)| {
                format!(" (name: at line {})", k.mark.line)
            });
            let file = r.file().to_path_buf();
            r.err_in(
                &file,
                "--name",
                format!(
                    "--name is for a vars file; this cluster.yaml names itself{at}: drop --name"
                ),
            );
        }
        return false;
    };
    let cluster_keys: Vec<String> = entries
        .iter()
        .filter_map(|(k, _)| scalar(k).filter(|k| super::cluster::CLUSTER_KEYS.contains(k)))
        .map(str::to_string)
        .collect();
    if !cluster_keys.is_empty() {
        r.err(
            &KeyPath::root().key("k8s_node"),
            Some(list.mark),
            format!(
                "k8s_node (a vars file's node list) beside cluster.yaml key{} {}: a spec is \
                 one or the other; list the nodes under nodes:, or drop {}",
                if cluster_keys.len() == 1 { "" } else { "s" },
                cluster_keys.join(", "),
                cluster_keys.join(", "),
            ),
        );
    }
    true
}

/// Where a second YAML document starts, if the text has one: a `---`
/// line (or text after a `...` line) once the first document has content.
/// Document markers are only ever at the start of a line, and end block
/// and quoted scalars there too, so a line scan finds every one.
fn second_document(text: &str) -> Option<Mark> {
    let mut content = false;
    let mut ended = false;
    for (i, line) in text.lines().enumerate() {
        let mark = Mark {
            line: i + 1,
            col: 1,
        };
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        };
        let rest_blank = |m: &str| {
            let rest = line[m.len()..].trim_start();
            rest.is_empty() || rest.starts_with('#')
        };
        let blank = line.trim().is_empty() || line.trim_start().starts_with('#');
        if marker("---") {
            if content || ended {
                return Some(mark);
            }
            content = !rest_blank("---");
        } else if marker("...") {
            ended = true;
        } else if !(blank || line.starts_with('%') && !content) {
            if ended {
                return Some(mark);
            }
            content = true;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_documents_are_found() {
        let cases: &[(&str, Option<usize>)] = &[
            ("name: a\n", None),
            ("---\nname: a\n", None),
            ("%YAML 1.2\n---\nname: a\n...\n# done\n", None),
            ("--- {name: a}\n", None),
            ("name: a\n---\nname: b\n", Some(2)),
            ("name: a\n--- \n", Some(2)),
            ("--- {name: a}\n---\n", Some(2)),
            ("name: a\n...\nname: b\n", Some(3)),
            ("k: |\n  ---\n  x\n", None),
            ("k: \"a\n ---\"\n", None),
            ("name: a\n----\n", None),
            ("# c\n\n---\nname: a\n---\n{[bad\n", Some(5)),
        ];
        for (text, want) in cases {
            assert_eq!(second_document(text).map(|m| m.line), *want, "{text:?}");
        }
    }
}
