//! Reading `cluster.yaml` into a [`Cluster`], collecting every problem.
//!
//! The YAML is parsed with positions (the Butane crate's parser), read
//! field by field against what each mapping allows, defaulted from
//! `defaults:`, expanded (`count`), then cross-checked (duplicate names,
//! overlapping CIDRs, addresses outside their network, missing files).
//! Nothing stops at the first problem: the caller gets all of them, each
//! with file, line, column and key path.

use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use virtstrap_butane::yaml::{self, Node, NodeKind};
use virtstrap_butane::KeyPath;

use super::node::NodePart;
use super::problem::{SpecError, SpecProblem};
use super::reader::{scalar, Reader};
use super::{Cluster, DomainNaming, Image, NetMode, Network, Os, Pool};

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

impl Reader {
    fn cluster(&mut self, root: &Node, opts: &LoadOptions) -> Option<Cluster> {
        const KEYS: &[&str] = &[
            "name",
            "connect",
            "os",
            "image",
            "ssh_authorized_keys",
            "butane",
            "domain_name",
            "defaults",
            "nodes",
            "pools",
            "networks",
        ];
        let f = self.map(root, &KeyPath::root(), KEYS)?;
        let p = KeyPath::root();
        let name = match f.get("name") {
            Some(n) => self.string(n, &p.key("name")),
            None => {
                self.err(
                    &p.key("name"),
                    Some(f.mark),
                    "name is required (the cluster's name)",
                );
                None
            }
        };
        if let (Some(n), Some(node)) = (&name, f.get("name")) {
            self.check_name(n, &p.key("name"), node.mark, 40);
        }
        let connect = f
            .get("connect")
            .and_then(|n| self.string(n, &p.key("connect")));
        let os = match f
            .get("os")
            .and_then(|n| self.string(n, &p.key("os")))
            .as_deref()
        {
            None | Some("fcos") => Os::Fcos,
            Some("flatcar") => Os::Flatcar,
            Some(other) => {
                let m = f.get("os").map(|n| n.mark);
                self.err(
                    &p.key("os"),
                    m,
                    format!("unknown os {other:?} (fcos or flatcar)"),
                );
                Os::Fcos
            }
        };
        let domain_name = match f
            .get("domain_name")
            .and_then(|n| self.string(n, &p.key("domain_name")))
            .as_deref()
        {
            None | Some("prefixed") => DomainNaming::Prefixed,
            Some("node") => DomainNaming::Node,
            Some(other) => {
                let m = f.get("domain_name").map(|n| n.mark);
                self.err(
                    &p.key("domain_name"),
                    m,
                    format!("unknown domain_name {other:?} (prefixed or node)"),
                );
                DomainNaming::Prefixed
            }
        };
        let image = f.get("image").and_then(|n| self.image(n, &p.key("image")));
        let ssh_authorized_keys = f
            .get("ssh_authorized_keys")
            .map(|n| self.strings(n, &p.key("ssh_authorized_keys")))
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.v)
            .collect();
        let mut butane: Vec<PathBuf> = opts.extra_butane.clone();
        for s in f
            .get("butane")
            .map(|n| self.strings(n, &p.key("butane")))
            .unwrap_or_default()
        {
            butane.push(self.file_ref(s).v);
        }
        let defaults = match f.get("defaults") {
            Some(n) => self.node_part(n, &p.key("defaults"), true),
            None => NodePart::default(),
        };
        let pools = f
            .get("pools")
            .map(|n| self.pools(n, &p.key("pools")))
            .unwrap_or_default();
        let networks = f
            .get("networks")
            .map(|n| self.networks(n, &p.key("networks")))
            .unwrap_or_default();
        let mut parts = Vec::new();
        match f.get("nodes") {
            Some(n) => {
                for (i, item) in self.list(n, &p.key("nodes")).iter().enumerate() {
                    parts.push(self.node_part(item, &p.key("nodes").index(i), false));
                }
            }
            None => self.err(
                &p.key("nodes"),
                Some(f.mark),
                "nodes is required (a list of VMs)",
            ),
        }
        if let Some(n) = f.get("nodes") {
            if matches!(&n.kind, NodeKind::Seq(items) if items.is_empty()) {
                self.err(&p.key("nodes"), Some(n.mark), "the cluster has no nodes");
            }
        }
        let nodes = self.expand(&defaults, parts);
        if f.get("image").is_none() && nodes.iter().any(|n| n.boot.is_none()) {
            self.err(
                &p.key("image"),
                Some(f.mark),
                "image is required: the base image ({pool, volume}) root disks are layered on",
            );
        }
        Some(Cluster {
            // a missing or bad name is reported above; keep checking
            name: name.unwrap_or_default(),
            connect,
            os,
            image: image.unwrap_or_else(|| Image {
                pool: String::new(),
                volume: String::new(),
                format: "qcow2".into(),
            }),
            ssh_authorized_keys,
            butane,
            domain_name,
            nodes,
            pools,
            networks,
        })
    }

    fn image(&mut self, node: &Node, path: &KeyPath) -> Option<Image> {
        let f = self.map(node, path, &["pool", "volume", "format"])?;
        let get = |k: &str, r: &mut Self| {
            let v = f.get(k).and_then(|n| r.string(n, &path.key(k)));
            if v.is_none() && k != "format" && f.get(k).is_none() {
                r.err(&path.key(k), Some(f.mark), format!("image.{k} is required"));
            }
            v
        };
        let pool = get("pool", self);
        let volume = get("volume", self);
        let format = get("format", self).unwrap_or_else(|| "qcow2".into());
        if !matches!(format.as_str(), "qcow2" | "raw") {
            let m = f.get("format").map(|n| n.mark);
            self.err(
                &path.key("format"),
                m,
                format!("unknown image format {format:?} (qcow2 or raw)"),
            );
        }
        Some(Image {
            pool: pool?,
            volume: volume?,
            format,
        })
    }

    fn pools(&mut self, node: &Node, path: &KeyPath) -> Vec<Pool> {
        let mut out = Vec::new();
        for (i, item) in self.list(node, path).iter().enumerate() {
            let p = path.index(i);
            let Some(f) = self.map(item, &p, &["name", "path"]) else {
                continue;
            };
            let name = self.required_string(&f, "name");
            let dir = self.required_string(&f, "path");
            if let Some(d) = &dir {
                if !d.starts_with('/') {
                    let m = f.get("path").map(|n| n.mark);
                    self.err(&p.key("path"), m, "pool path must be absolute");
                }
            }
            if let (Some(name), Some(dir)) = (name, dir) {
                let m = f.get("name").map_or(f.mark, |n| n.mark);
                self.check_name(&name, &p.key("name"), m, 64);
                self.srcs.pools.push((p.key("name"), m));
                out.push(Pool {
                    name,
                    path: PathBuf::from(dir),
                });
            }
        }
        out
    }

    fn networks(&mut self, node: &Node, path: &KeyPath) -> Vec<Network> {
        let mut out = Vec::new();
        for (i, item) in self.list(node, path).iter().enumerate() {
            let p = path.index(i);
            let Some(f) = self.map(item, &p, &["name", "mode", "cidr", "bridge"]) else {
                continue;
            };
            let name = self.required_string(&f, "name");
            let mode = match f
                .get("mode")
                .and_then(|n| self.string(n, &p.key("mode")))
                .as_deref()
            {
                None | Some("nat") => NetMode::Nat,
                Some("isolated") => NetMode::Isolated,
                Some("bridge") => NetMode::Bridge,
                Some(other) => {
                    let m = f.get("mode").map(|n| n.mark);
                    self.err(
                        &p.key("mode"),
                        m,
                        format!("unknown network mode {other:?} (nat, isolated or bridge)"),
                    );
                    NetMode::Nat
                }
            };
            let cidr = f.get("cidr").and_then(|n| {
                let text = self.string(n, &p.key("cidr"))?;
                match text.parse::<Ipv4Net>() {
                    Ok(net) if net.prefix_len() > 29 => {
                        self.err(
                            &p.key("cidr"),
                            Some(n.mark),
                            format!("{text} is too small for guests (use a /29 or larger)"),
                        );
                        None
                    }
                    Ok(net) if net.network() != net.addr() => {
                        self.err(
                            &p.key("cidr"),
                            Some(n.mark),
                            format!("{text} has host bits set (did you mean {}?)", net.trunc()),
                        );
                        None
                    }
                    Ok(net) => Some(net),
                    Err(_) => {
                        self.err(
                            &p.key("cidr"),
                            Some(n.mark),
                            format!("{text:?} is not an IPv4 CIDR such as 192.168.150.0/24"),
                        );
                        None
                    }
                }
            });
            let bridge = f
                .get("bridge")
                .and_then(|n| self.string(n, &p.key("bridge")));
            match mode {
                NetMode::Bridge if bridge.is_none() => {
                    self.err(
                        &p.key("bridge"),
                        Some(f.mark),
                        "bridge mode needs bridge: the host bridge to attach to",
                    );
                }
                NetMode::Bridge if f.get("cidr").is_some() => {
                    let m = f.get("cidr").map(|n| n.mark);
                    self.err(
                        &p.key("cidr"),
                        m,
                        "a bridge network's addresses come from the LAN: remove cidr",
                    );
                }
                NetMode::Nat | NetMode::Isolated if f.get("cidr").is_none() => {
                    self.err(
                        &p.key("cidr"),
                        Some(f.mark),
                        "cidr is required for nat and isolated networks (e.g. 192.168.150.0/24)",
                    );
                }
                _ => {}
            }
            if let Some(name) = name {
                let m = f.get("name").map_or(f.mark, |n| n.mark);
                self.check_name(&name, &p.key("name"), m, 64);
                self.srcs.networks.push((p.key("name"), m));
                self.srcs
                    .cidrs
                    .push((p.key("cidr"), f.get("cidr").map_or(m, |n| n.mark)));
                out.push(Network {
                    name,
                    mode,
                    cidr,
                    bridge,
                });
            }
        }
        out
    }
}
