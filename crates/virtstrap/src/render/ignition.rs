//! Per-node Ignition: the cluster's Butane files, then the node's, merged
//! with Ignition's own merge rules, plus what only virtstrap knows.
//!
//! Merge semantics are Ignition's (`config/merge`): a later config wins
//! per file path, unit name, user name, disk device...; lists of plain
//! values (SSH keys, groups) are unions. The order is:
//! 1. the cluster's Butane files, in order;
//! 2. what virtstrap adds: `/etc/hostname` = the node name, and the
//!    cluster's `ssh_authorized_keys` on the OS's default user (`core`);
//! 3. the node's own Butane files, in order.
//!
//! So a node's Butane can set its own hostname, and a cluster-wide
//! Butane that writes `/etc/hostname` (as the write-up's does) does not
//! give every node the same name. Each Butane file is translated once
//! per render, whatever the number of nodes using it; its `local`
//! references are relative to its own directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use virtstrap_butane::merge::merge;
use virtstrap_butane::out::{Out, Src, Val};
use virtstrap_butane::{ignvalidate, sugar, translate, Options, Report};

use crate::spec::{Cluster, Node, Os};

/// Why a node's Ignition could not be built.
#[derive(Debug, thiserror::Error)]
pub enum IgnitionError {
    /// A Butane file could not be read.
    #[error("cannot read Butane file {file}: {reason}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The OS's reason.
        reason: String,
    },
    /// A Butane file did not translate; `report` has every entry.
    #[error("{file}: {summary}")]
    Butane {
        /// The file.
        file: PathBuf,
        /// One-line reason.
        summary: String,
        /// Every finding, with key path and line:column.
        report: Report,
    },
    /// A Butane file is for another OS than the cluster's.
    #[error("{file}: variant {variant} does not match the cluster's os ({os})")]
    Variant {
        /// The file.
        file: PathBuf,
        /// Its variant.
        variant: String,
        /// The cluster's Butane variant.
        os: &'static str,
    },
    /// The merged config fails Ignition's checks (e.g. a duplicate path
    /// across files).
    #[error("node {node}: the merged Ignition config is invalid")]
    Merged {
        /// The node.
        node: String,
        /// Ignition's findings.
        report: Report,
    },
}

/// A node's Ignition config.
#[derive(Clone, Debug)]
pub struct NodeIgnition {
    /// The config tree (`config.to_json(true)` for humans).
    pub config: Out,
    /// The JSON text (compact, as Butane writes it).
    pub json: String,
    /// Its Ignition spec version.
    pub version: String,
    /// Warnings from the Butane files, by file.
    pub warnings: Vec<(PathBuf, Report)>,
}

/// 16 hex digits of SHA-256 over an Ignition config's JSON: what the
/// domain's owner metadata records to tell a changed config.
pub fn ignition_hash(json: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(json.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every Butane file of a cluster, translated once.
#[derive(Clone, Debug, Default)]
pub struct ButaneSet {
    configs: HashMap<PathBuf, Out>,
    warnings: HashMap<PathBuf, Report>,
}

impl ButaneSet {
    /// Translate every Butane file `cluster` names. All failures are
    /// returned, not just the first.
    pub fn load(cluster: &Cluster) -> Result<ButaneSet, Vec<IgnitionError>> {
        let mut set = ButaneSet::default();
        let mut errors = Vec::new();
        let files = cluster
            .butane
            .iter()
            .chain(cluster.nodes.iter().flat_map(|n| n.butane.iter()));
        for file in files {
            if set.configs.contains_key(file) {
                continue;
            }
            match translate_file(file, cluster.os) {
                Ok((config, warnings)) => {
                    set.configs.insert(file.clone(), config);
                    set.warnings.insert(file.clone(), warnings);
                }
                Err(e) => errors.push(e),
            }
        }
        errors.dedup_by(|a, b| a.to_string() == b.to_string());
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    fn get(&self, file: &Path) -> Option<&Out> {
        self.configs.get(file)
    }
}

fn translate_file(file: &Path, os: Os) -> Result<(Out, Report), IgnitionError> {
    // a regular file, bounded: never a FIFO waited on or a device read
    // forever, even one swapped in after validate looked
    let limit = crate::fsutil::MAX_BUTANE_BYTES;
    let bytes = crate::fsutil::read_regular(file, limit).map_err(|e| IgnitionError::Read {
        file: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let opts = Options {
        files_dir: Some(file.parent().map(Path::to_path_buf).unwrap_or_default()),
        no_auto_compression: false,
    };
    let t = translate(&bytes, &opts).map_err(|e| IgnitionError::Butane {
        file: file.to_path_buf(),
        summary: e.summary,
        report: e.report,
    })?;
    let variant = variant_of(&bytes);
    if variant != os.butane_variant() {
        return Err(IgnitionError::Variant {
            file: file.to_path_buf(),
            variant,
            os: os.butane_variant(),
        });
    }
    Ok((t.config, t.report))
}

/// The `variant:` a Butane file that translated declares.
fn variant_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .find_map(|l| l.strip_prefix("variant:"))
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .unwrap_or_default()
}

/// Build `node`'s Ignition config.
pub fn node_ignition(
    cluster: &Cluster,
    node: &Node,
    set: &ButaneSet,
) -> Result<NodeIgnition, IgnitionError> {
    let mut config = empty_config(cluster.os);
    let mut warnings = Vec::new();
    for file in &cluster.butane {
        config = layer(config, file, set, &mut warnings);
    }
    let added = additions(cluster, node, &config);
    config = merge(config, added);
    for file in &node.butane {
        config = layer(config, file, set, &mut warnings);
    }
    sugar::canonical(&mut config, "");
    let version = config
        .get("ignition")
        .and_then(|i| i.get_str("version"))
        .unwrap_or("3.3.0")
        .to_string();
    let minor = version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(3);
    let mut report = Report::default();
    ignvalidate::validate(&config, minor, &mut report);
    if report.is_fatal() {
        return Err(IgnitionError::Merged {
            node: node.name.clone(),
            report,
        });
    }
    Ok(NodeIgnition {
        json: config.to_json(false),
        config,
        version,
        warnings,
    })
}

fn layer(config: Out, file: &Path, set: &ButaneSet, warnings: &mut Vec<(PathBuf, Report)>) -> Out {
    let Some(next) = set.get(file) else {
        return config;
    };
    if let Some(w) = set.warnings.get(file).filter(|w| !w.entries.is_empty()) {
        if !warnings.iter().any(|(f, _)| f == file) {
            warnings.push((file.to_path_buf(), w.clone()));
        }
    }
    let version = newer(version_of(&config), version_of(next)).to_string();
    let mut merged = merge(config, next.clone());
    if let Some(ign) = merged.get_mut("ignition") {
        ign.set("version", Out::str(version, Src::default()));
    }
    merged
}

fn version_of(c: &Out) -> &str {
    c.get("ignition")
        .and_then(|i| i.get_str("version"))
        .unwrap_or("3.0.0")
}

/// The later of two Ignition spec versions (`3.7.0-experimental` last).
fn newer<'a>(a: &'a str, b: &'a str) -> &'a str {
    let key = |v: &str| {
        let minor: u32 = v
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        (minor, !v.contains('-'))
    };
    if key(b) > key(a) {
        b
    } else {
        a
    }
}

/// The config a node starts from when no Butane says otherwise: spec
/// 3.3.0, which every supported variant reaches and Ignition 2.14 reads.
fn empty_config(os: Os) -> Out {
    let text = format!(
        "variant: {}\nversion: {}\n",
        os.butane_variant(),
        match os {
            Os::Fcos => "1.4.0",
            Os::Flatcar => "1.0.0",
        }
    );
    translate(text.as_bytes(), &Options::default())
        .map(|t| t.config)
        .unwrap_or_else(|_| Out::obj(Src::default()))
}

/// `/etc/hostname` and the cluster's SSH keys, as a config to merge.
fn additions(cluster: &Cluster, node: &Node, base: &Out) -> Out {
    let src = Src::default();
    let s = |v: &str| Out::str(v, src.clone());
    let obj = |members: Vec<(&str, Out)>| {
        let mut o = Out::obj(src.clone());
        for (k, v) in members {
            o.set(k, v);
        }
        o
    };
    let list = |items: Vec<Out>| Out::new(Val::List(items), src.clone());
    let hostname = obj(vec![
        ("overwrite", Out::new(Val::Bool(true), src.clone())),
        ("path", s("/etc/hostname")),
        (
            "contents",
            obj(vec![
                ("compression", s("")),
                ("source", s(&format!("data:,{}", node.name))),
            ]),
        ),
        ("mode", Out::new(Val::Int(0o644), src.clone())),
    ]);
    let mut root = obj(vec![
        ("ignition", obj(vec![("version", s(version_of(base)))])),
        ("storage", obj(vec![("files", list(vec![hostname]))])),
    ]);
    if !cluster.ssh_authorized_keys.is_empty() {
        let keys = cluster.ssh_authorized_keys.iter().map(|k| s(k)).collect();
        let user = obj(vec![
            ("name", s(cluster.os.default_user())),
            ("sshAuthorizedKeys", list(keys)),
        ]);
        root.set("passwd", obj(vec![("users", list(vec![user]))]));
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order() {
        assert_eq!(newer("3.3.0", "3.5.0"), "3.5.0");
        assert_eq!(newer("3.6.0", "3.2.0"), "3.6.0");
        assert_eq!(newer("3.6.0", "3.7.0-experimental"), "3.7.0-experimental");
    }

    #[test]
    fn variant_is_read() {
        assert_eq!(
            variant_of(b"# c\nvariant: 'flatcar'\nversion: 1.0.0\n"),
            "flatcar"
        );
    }
}
