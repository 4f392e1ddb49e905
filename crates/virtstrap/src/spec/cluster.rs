//! Reading the top of `cluster.yaml`: the cluster's own fields, the
//! pools and networks it declares, and its list of nodes.
//!
//! Part of the spec step (spec -> render -> plan -> apply): the root
//! mapping is read key by key, `defaults:` and each node are handed to
//! the node reader, and the nodes are expanded before the cluster is
//! returned for the cross-checks.

use std::collections::HashMap;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use virtstrap_butane::yaml::{Mark, Node, NodeKind};
use virtstrap_butane::KeyPath;

use super::checks::ObjectName;
use super::load::LoadOptions;
use super::node::NodePart;
use super::reader::{Fields, Reader};
use super::{Cluster, DomainNaming, Image, NetMode, Network, Node as SpecNode, Os, Pool};

/// The keys the root of `cluster.yaml` may have.
pub(super) const CLUSTER_KEYS: &[&str] = &[
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
    "hosts",
];

impl Reader {
    /// The cluster `root` describes, nodes expanded; `None` when the root
    /// is not a mapping.
    pub(super) fn cluster(&mut self, root: &Node, opts: &LoadOptions) -> Option<Cluster> {
        let f = self.map(root, &KeyPath::root(), CLUSTER_KEYS)?;
        let p = KeyPath::root();
        let name = self.cluster_name(&f);
        let connect = f
            .get("connect")
            .and_then(|n| self.string(n, &p.key("connect")));
        let os = self.os(&f);
        let domain_name = self.domain_naming(&f);
        let image = f.get("image").and_then(|n| self.image(n, &p.key("image")));
        let ssh_authorized_keys = self.ssh_keys(&f);
        let butane = self.cluster_butane(&f, opts);
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
        let hosts = f.get("hosts").map(|n| self.hosts(n, &p.key("hosts")));
        self.check_connect_or_hosts(&f);
        let parts = self.node_parts(&f);
        let nodes = self.expand(&defaults, parts, hosts.as_deref());
        self.check_image_given(&f, &nodes);
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
            hosts: hosts.unwrap_or_default(),
        })
    }

    /// `connect:` names the one host of a spec; `hosts:` several: not
    /// both.
    fn check_connect_or_hosts(&mut self, f: &Fields<'_>) {
        if let (Some(c), Some(_)) = (f.get("connect"), f.get("hosts")) {
            self.err(
                &f.path.key("connect"),
                Some(c.mark),
                "give connect: (one host) or hosts: (several), not both: with hosts:, \
                 each node's host: names its URI",
            );
        }
    }

    /// `name`: required, a name of at most 40 characters.
    fn cluster_name(&mut self, f: &Fields<'_>) -> Option<String> {
        let path = f.path.key("name");
        let Some(n) = f.get("name") else {
            self.err(&path, Some(f.mark), "name is required (the cluster's name)");
            return None;
        };
        let name = self.string(n, &path)?;
        self.check_name(&name, &path, n.mark, 40);
        Some(name)
    }

    /// `os`: fcos (the default) or flatcar.
    fn os(&mut self, f: &Fields<'_>) -> Os {
        let p = &f.path;
        match f
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
        }
    }

    /// `domain_name`: prefixed (the default) or node.
    fn domain_naming(&mut self, f: &Fields<'_>) -> DomainNaming {
        let p = &f.path;
        match f
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
        }
    }

    /// `ssh_authorized_keys`: a key, or a list whose items are keys or
    /// `{ file: PATH }`, a public key file (`~/` is the home directory, a
    /// relative path is the spec's directory's) whose every key is taken.
    fn ssh_keys(&mut self, f: &Fields<'_>) -> Vec<String> {
        let path = f.path.key("ssh_authorized_keys");
        let Some(node) = f.get("ssh_authorized_keys") else {
            return Vec::new();
        };
        let items: Vec<&Node> = match &node.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            // one key; a `{ file: }` item only in a list, as documented
            _ => return self.strings(node, &path).into_iter().map(|a| a.v).collect(),
        };
        let mut keys = Vec::new();
        // per key: the item it came from and where that item is
        let mut seen: HashMap<String, (usize, Mark)> = HashMap::new();
        for (i, item) in items.into_iter().enumerate() {
            let p = path.index(i);
            let found = if matches!(item.kind, NodeKind::Map(_)) {
                self.key_file(item, &p)
            } else {
                self.string(item, &p).into_iter().collect()
            };
            for k in found {
                self.check_key_once(&k, (i, item.mark), &p, &mut seen);
                keys.push(k);
            }
        }
        keys
    }

    /// Ignition refuses a user whose key list holds one key twice, and
    /// names no file for it: say here which item repeats which.
    fn check_key_once(
        &mut self,
        key: &str,
        at: (usize, Mark),
        p: &KeyPath,
        seen: &mut HashMap<String, (usize, Mark)>,
    ) {
        let key = key.trim();
        match seen.get(key) {
            Some(&(first, _)) if first == at.0 => {
                self.err(p, Some(at.1), "this key file holds one key twice; remove one");
            }
            Some(&(_, mark)) => self.err(
                p,
                Some(at.1),
                format!(
                    "this key is also listed at line {} col {}; remove one (Ignition refuses a key given twice)",
                    mark.line, mark.col
                ),
            ),
            None => {
                seen.insert(key.to_string(), at);
            }
        }
    }

    /// The keys in the file a `{ file: PATH }` item names.
    fn key_file(&mut self, item: &Node, p: &KeyPath) -> Vec<String> {
        let Some(f) = self.map(item, p, &["file"]) else {
            return Vec::new();
        };
        let Some(name) = self.required_string(&f, "file") else {
            return Vec::new();
        };
        let mark = f.get("file").map_or(f.mark, |n| n.mark);
        let file = match name.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map_or_else(|| PathBuf::from(&name), |h| PathBuf::from(h).join(rest)),
            None => self.dir.join(&name),
        };
        let read = crate::fsutil::read_regular(&file, crate::fsutil::MAX_KEY_FILE_BYTES)
            .map_err(|e| format!("it {e}"))
            .and_then(|b| String::from_utf8(b).map_err(|_| "it is not UTF-8 text".into()));
        match read {
            Ok(text) => {
                let keys: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string)
                    .collect();
                if keys.is_empty() {
                    self.err(&p.key("file"), Some(mark), format!("{name} holds no key"));
                }
                keys
            }
            Err(e) => {
                self.err(
                    &p.key("file"),
                    Some(mark),
                    format!(
                        "cannot read the key file {name} ({}): {e}; make a key pair with \
                         `ssh-keygen -t ed25519`, or list the key itself",
                        file.display()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// Butane files for every node: the caller's, then the spec's own.
    fn cluster_butane(&mut self, f: &Fields<'_>, opts: &LoadOptions) -> Vec<PathBuf> {
        let mut butane: Vec<PathBuf> = opts.extra_butane.clone();
        for s in f
            .get("butane")
            .map(|n| self.strings(n, &f.path.key("butane")))
            .unwrap_or_default()
        {
            butane.push(self.file_ref(s).v);
        }
        butane
    }

    /// `nodes` as written: required, a list that is not empty.
    fn node_parts(&mut self, f: &Fields<'_>) -> Vec<NodePart> {
        let p = f.path.key("nodes");
        let Some(n) = f.get("nodes") else {
            self.err(&p, Some(f.mark), "nodes is required (a list of VMs)");
            return Vec::new();
        };
        let mut parts = Vec::new();
        for (i, item) in self.list(n, &p).iter().enumerate() {
            parts.push(self.node_part(item, &p.index(i), false));
        }
        if matches!(&n.kind, NodeKind::Seq(items) if items.is_empty()) {
            self.err(&p, Some(n.mark), "the cluster has no nodes");
        }
        parts
    }

    /// `image` may be left out only when every node boots a kernel.
    fn check_image_given(&mut self, f: &Fields<'_>, nodes: &[SpecNode]) {
        if f.get("image").is_none() && nodes.iter().any(|n| n.boot.is_none()) {
            self.err(
                &f.path.key("image"),
                Some(f.mark),
                "image is required: the base image ({pool, volume}) root disks are layered on",
            );
        }
    }

    /// `image`: the base image's pool, volume and format.
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
        // the base image is looked up by these names, and the overlay's
        // backing store is the volume's path inside the pool's directory
        for (key, value, kind) in [
            ("pool", &pool, ObjectName::Pool),
            ("volume", &volume, ObjectName::Volume),
        ] {
            if let (Some(v), Some(n)) = (value, f.get(key)) {
                self.check_object_name(v, kind, &path.key(key), n.mark);
            }
        }
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

    /// `pools`: declared directory pools, each a name and an absolute path.
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

    /// `networks`: declared libvirt networks.
    fn networks(&mut self, node: &Node, path: &KeyPath) -> Vec<Network> {
        let mut out = Vec::new();
        for (i, item) in self.list(node, path).iter().enumerate() {
            out.extend(self.network(item, &path.index(i)));
        }
        out
    }

    /// One declared network; `None` when it is not a mapping or has no
    /// name.
    fn network(&mut self, item: &Node, p: &KeyPath) -> Option<Network> {
        let f = self.map(item, p, &["name", "mode", "cidr", "bridge"])?;
        let name = self.required_string(&f, "name");
        let mode = self.net_mode(&f);
        let cidr = f.get("cidr").and_then(|n| self.cidr(n, &p.key("cidr")));
        let bridge = f.get("bridge").and_then(|n| {
            let b = self.string(n, &p.key("bridge"))?;
            self.check_object_name(&b, ObjectName::Bridge, &p.key("bridge"), n.mark);
            Some(b)
        });
        self.check_mode_fields(&f, mode, bridge.is_some());
        let name = name?;
        let m = f.get("name").map_or(f.mark, |n| n.mark);
        self.check_name(&name, &p.key("name"), m, 64);
        self.srcs.networks.push((p.key("name"), m));
        self.srcs
            .cidrs
            .push((p.key("cidr"), f.get("cidr").map_or(m, |n| n.mark)));
        Some(Network {
            name,
            mode,
            cidr,
            bridge,
        })
    }

    /// `mode`: nat (the default), isolated or bridge.
    fn net_mode(&mut self, f: &Fields<'_>) -> NetMode {
        let p = &f.path;
        match f
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
        }
    }

    /// `cidr`: a network address (no host bits) of a /29 or larger.
    fn cidr(&mut self, n: &Node, path: &KeyPath) -> Option<Ipv4Net> {
        let text = self.string(n, path)?;
        match text.parse::<Ipv4Net>() {
            Ok(net) if net.prefix_len() > 29 => {
                self.err(
                    path,
                    Some(n.mark),
                    format!("{text} is too small for guests (use a /29 or larger)"),
                );
                None
            }
            Ok(net) if net.network() != net.addr() => {
                self.err(
                    path,
                    Some(n.mark),
                    format!("{text} has host bits set (did you mean {}?)", net.trunc()),
                );
                None
            }
            Ok(net) => Some(net),
            Err(_) => {
                self.err(
                    path,
                    Some(n.mark),
                    format!("{text:?} is not an IPv4 CIDR such as 192.168.150.0/24"),
                );
                None
            }
        }
    }

    /// What each mode needs: a bridge mode network a host bridge and no
    /// cidr, a nat or isolated one a cidr.
    fn check_mode_fields(&mut self, f: &Fields<'_>, mode: NetMode, has_bridge: bool) {
        let p = &f.path;
        match mode {
            NetMode::Bridge if !has_bridge => {
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
    }
}
