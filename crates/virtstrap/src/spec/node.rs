//! Reading one node (or `defaults:`) as written.
//!
//! Part of the spec step (spec -> render -> plan -> apply): a node's
//! mapping becomes a [`NodePart`], every field optional, before defaults
//! and `count` are applied by the expansion. The field readers for
//! vCPUs, memory, disks and NICs are shared with the vars-file reader.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use virtstrap_butane::yaml::{Node, NodeKind};
use virtstrap_butane::KeyPath;

use super::checks::ObjectName;
use super::hosts::Where;
use super::reader::{value_mark, At, Fields, Reader};
use super::size::{self, Unit};
use super::{Boot, Disk, DomainType, Nic, Role};

/// A node as written (before defaults and expansion).
#[derive(Clone, Debug, Default)]
pub(super) struct NodePart {
    /// `name`, with where it was written.
    pub(super) name: Option<At<String>>,
    /// `count`, with where it was written.
    pub(super) count: Option<At<u64>>,
    /// `role` or `roles`.
    pub(super) roles: Option<Vec<Role>>,
    /// `vcpus`.
    pub(super) vcpus: Option<u32>,
    /// `memory`, in MiB.
    pub(super) memory_mib: Option<u64>,
    /// `disk`: the root disk.
    pub(super) disk: Option<Disk>,
    /// `extra_disks`.
    pub(super) extra_disks: Option<Vec<Disk>>,
    /// `networks`, each NIC with where it was written.
    pub(super) networks: Option<Vec<At<Nic>>>,
    /// `butane` files, resolved against the spec's directory.
    pub(super) butane: Option<Vec<At<PathBuf>>>,
    /// `domain_type`.
    pub(super) domain_type: Option<DomainType>,
    /// `boot`: direct kernel boot.
    pub(super) boot: Option<At<Boot>>,
    /// `host` or `placement`: where it runs.
    pub(super) place: Option<Where>,
}

/// The keys a node may have; `defaults` may have all but name and count.
const NODE_KEYS: &[&str] = &[
    "name",
    "count",
    "role",
    "roles",
    "vcpus",
    "memory",
    "disk",
    "extra_disks",
    "networks",
    "butane",
    "domain_type",
    "boot",
    "host",
    "placement",
];

impl Reader {
    /// A node (or `defaults`) as written.
    pub(super) fn node_part(&mut self, node: &Node, path: &KeyPath, defaults: bool) -> NodePart {
        let keys: Vec<&str> = NODE_KEYS
            .iter()
            .copied()
            .filter(|k| !defaults || !matches!(*k, "name" | "count"))
            .collect();
        let Some(f) = self.map(node, path, &keys) else {
            return NodePart::default();
        };
        let key = |k: &str| path.key(k);
        // a struct literal evaluates its fields in the order written, so
        // the fields are read, and their problems found, in this order
        NodePart {
            name: self.node_name(&f, defaults),
            count: f.get("count").and_then(|n| {
                let v = self.uint(n, &key("count"), "a count")?;
                Some(At {
                    v,
                    path: key("count"),
                    mark: n.mark,
                })
            }),
            roles: self.roles(&f),
            vcpus: f.get("vcpus").and_then(|n| self.vcpus(n, &key("vcpus"))),
            memory_mib: f.get("memory").and_then(|n| self.memory(n, &key("memory"))),
            disk: f.get("disk").and_then(|n| self.disk(n, &key("disk"))),
            extra_disks: f
                .get("extra_disks")
                .map(|n| self.extra_disks(n, &key("extra_disks"))),
            networks: f.get("networks").map(|n| self.nics(n, &key("networks"))),
            butane: f
                .get("butane")
                .map(|n| self.butane_files(n, &key("butane"))),
            domain_type: f
                .get("domain_type")
                .and_then(|n| self.domain_type(n, &key("domain_type"))),
            boot: f.get("boot").and_then(|n| self.boot(n, &key("boot"))),
            place: self.node_where(&f),
        }
    }

    /// `name`: required on a node (`defaults` has none).
    fn node_name(&mut self, f: &Fields<'_>, defaults: bool) -> Option<At<String>> {
        let path = f.path.key("name");
        let Some(n) = f.get("name") else {
            if !defaults {
                self.err(&path, Some(f.mark), "name is required");
            }
            return None;
        };
        let v = self.string(n, &path)?;
        Some(At {
            v,
            path,
            mark: n.mark,
        })
    }

    /// `role` or `roles` (not both): one role or a list of them.
    fn roles(&mut self, f: &Fields<'_>) -> Option<Vec<Role>> {
        let path = &f.path;
        if f.get("roles").is_some() && f.get("role").is_some() {
            let m = f.get("roles").map(|n| n.mark);
            self.err(&path.key("roles"), m, "give role or roles, not both");
        }
        let roles_key = if f.get("roles").is_some() {
            "roles"
        } else {
            "role"
        };
        let n = f.get(roles_key)?;
        let mut roles = Vec::new();
        for s in self.strings(n, &path.key(roles_key)) {
            match s.v.as_str() {
                "control-plane" | "master" => roles.push(Role::ControlPlane),
                "worker" => roles.push(Role::Worker),
                "etcd" => roles.push(Role::Etcd),
                other => self.err(
                    &s.path,
                    Some(s.mark),
                    format!("unknown role {other:?} (control-plane, worker or etcd)"),
                ),
            }
        }
        Some(roles)
    }

    /// `extra_disks`: a list of disks.
    fn extra_disks(&mut self, n: &Node, path: &KeyPath) -> Vec<Disk> {
        self.list(n, path)
            .iter()
            .enumerate()
            .filter_map(|(i, d)| self.disk(d, &path.index(i)))
            .collect()
    }

    /// `butane`: a file or a list of files.
    fn butane_files(&mut self, n: &Node, path: &KeyPath) -> Vec<At<PathBuf>> {
        self.strings(n, path)
            .into_iter()
            .map(|s| self.file_ref(s))
            .collect()
    }

    /// `domain_type`: kvm or qemu.
    fn domain_type(&mut self, n: &Node, path: &KeyPath) -> Option<DomainType> {
        match self.string(n, path).as_deref() {
            Some("kvm") => Some(DomainType::Kvm),
            Some("qemu") => Some(DomainType::Qemu),
            Some(other) => {
                self.err(
                    path,
                    Some(n.mark),
                    format!("unknown domain_type {other:?} (kvm, or qemu for software emulation)"),
                );
                None
            }
            None => None,
        }
    }

    /// A vCPU count, 1 to 1024.
    pub(super) fn vcpus(&mut self, n: &Node, path: &KeyPath) -> Option<u32> {
        let v = self.uint(n, path, "a number of vCPUs")?;
        if (1..=1024).contains(&v) {
            u32::try_from(v).ok()
        } else {
            self.err(
                path,
                Some(n.mark),
                format!("vcpus {v} is out of range (1 to 1024)"),
            );
            None
        }
    }

    /// A memory size in MiB (a bare number is MiB), 128MiB to 16TiB.
    pub(super) fn memory(&mut self, n: &Node, path: &KeyPath) -> Option<u64> {
        let b = self.size(n, path, Unit::MiB)?;
        let mib = b / (1024 * 1024);
        if b % (1024 * 1024) != 0 {
            self.err(path, Some(n.mark), "memory must be a whole number of MiB");
            None
        } else if !(128..=16 * 1024 * 1024).contains(&mib) {
            let msg = format!(
                "memory {} is out of range (128MiB to 16TiB)",
                size::human(b)
            );
            self.err(path, Some(n.mark), msg);
            None
        } else {
            Some(mib)
        }
    }

    /// A disk: `pool` and `size` (a bare number is GiB), at least 1MiB.
    pub(super) fn disk(&mut self, node: &Node, path: &KeyPath) -> Option<Disk> {
        let f = self.map(node, path, &["pool", "size"])?;
        let pool = self.required_string(&f, "pool");
        if let (Some(name), Some(n)) = (&pool, f.get("pool")) {
            self.check_object_name(name, ObjectName::Pool, &path.key("pool"), n.mark);
        }
        let size = match f.get("size") {
            Some(n) => self.size(n, &path.key("size"), Unit::GiB).and_then(|b| {
                if b < 1024 * 1024 {
                    self.err(
                        &path.key("size"),
                        Some(n.mark),
                        "a disk must be at least 1MiB",
                    );
                    None
                } else {
                    Some(b)
                }
            }),
            None => {
                self.err(
                    &path.key("size"),
                    Some(f.mark),
                    "size is required (e.g. 20GiB)",
                );
                None
            }
        };
        Some(Disk {
            pool: pool?,
            size_bytes: size?,
        })
    }

    /// `networks`: a list, each a network name or a mapping with name, ip
    /// and mac.
    pub(super) fn nics(&mut self, node: &Node, path: &KeyPath) -> Vec<At<Nic>> {
        let mut out = Vec::new();
        for (i, item) in self.list(node, path).iter().enumerate() {
            let p = path.index(i);
            let nic = match &item.kind {
                NodeKind::Scalar { value, .. } => Some(Nic {
                    network: value.clone(),
                    ip: None,
                    mac: None,
                }),
                _ => self.nic(item, &p),
            };
            if let Some(v) = nic {
                let name_mark = value_mark(item, "name").unwrap_or(item.mark);
                let name_path = match &item.kind {
                    NodeKind::Scalar { .. } => p.clone(),
                    _ => p.key("name"),
                };
                self.check_object_name(&v.network, ObjectName::Network, &name_path, name_mark);
                out.push(At {
                    v,
                    path: p,
                    mark: item.mark,
                });
                let at = |k: &str| value_mark(item, k).unwrap_or(item.mark);
                self.nic_marks.push((item.mark, at("ip"), at("mac")));
            }
        }
        out
    }

    /// One NIC written as a mapping.
    fn nic(&mut self, item: &Node, p: &KeyPath) -> Option<Nic> {
        let f = self.map(item, p, &["name", "ip", "mac"])?;
        let network = self.required_string(&f, "name")?;
        let ip = f.get("ip").and_then(|n| {
            let text = self.string(n, &p.key("ip"))?;
            let ip = text.parse::<Ipv4Addr>().ok();
            if ip.is_none() {
                let msg = format!("{text:?} is not an IPv4 address");
                self.err(&p.key("ip"), Some(n.mark), msg);
            }
            ip
        });
        let mac = f.get("mac").and_then(|n| {
            let text = self.string(n, &p.key("mac"))?.to_ascii_lowercase();
            match check_mac(&text) {
                Ok(()) => Some(text),
                Err(msg) => {
                    self.err(&p.key("mac"), Some(n.mark), msg);
                    None
                }
            }
        });
        Some(Nic { network, ip, mac })
    }

    /// `boot`: kernel (required), initrd and command line.
    fn boot(&mut self, node: &Node, path: &KeyPath) -> Option<At<Boot>> {
        let f = self.map(node, path, &["kernel", "initrd", "cmdline"])?;
        let written = self.required_string(&f, "kernel")?;
        let kernel = self.file_ref(At {
            v: written.clone(),
            path: path.key("kernel"),
            mark: f.get("kernel").map_or(f.mark, |n| n.mark),
        });
        let kernel = self.resolve_in_spec_dir(&written, kernel.v);
        let initrd = f.get("initrd").and_then(|n| {
            let s = self.string(n, &path.key("initrd"))?;
            let joined = self
                .file_ref(At {
                    v: s.clone(),
                    path: path.key("initrd"),
                    mark: n.mark,
                })
                .v;
            Some(self.resolve_in_spec_dir(&s, joined))
        });
        let cmdline = f
            .get("cmdline")
            .and_then(|n| self.string(n, &path.key("cmdline")));
        Some(At {
            v: Boot {
                kernel,
                initrd,
                cmdline,
            },
            path: path.clone(),
            mark: f.mark,
        })
    }
}

impl Reader {
    /// A host file the domain XML names (`boot.kernel`, `boot.initrd`),
    /// as `written` in the spec, already `joined` to the spec's
    /// directory: a relative one is made absolute from that directory
    /// resolved, so the XML, and the spec hash with it, are the same
    /// however `-f` is spelled (`cluster.yaml`, `./x/../cluster.yaml`, an
    /// absolute path) and libvirt, whose working directory is not ours,
    /// finds the file. An absolute one is kept as written.
    fn resolve_in_spec_dir(&self, written: &str, joined: PathBuf) -> PathBuf {
        if Path::new(written).is_absolute() {
            return joined;
        }
        let dir = if self.dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            self.dir.as_path()
        };
        // a directory that cannot be resolved: the spec was not read from
        // a file (tests), and the file check reports a missing file
        std::fs::canonicalize(dir).map_or(joined, |d| d.join(written))
    }
}

/// libvirt refuses malformed and multicast MACs.
fn check_mac(mac: &str) -> Result<(), String> {
    let octets: Vec<&str> = mac.split(':').collect();
    let valid = octets.len() == 6
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit()));
    if !valid {
        return Err(format!(
            "{mac:?} is not a MAC address such as 52:54:00:12:34:56"
        ));
    }
    let first = u8::from_str_radix(octets[0], 16).unwrap_or(0);
    if first & 1 == 1 {
        return Err(format!(
            "{mac} is a multicast address; libvirt rejects it (the first octet must be even)"
        ));
    }
    Ok(())
}
