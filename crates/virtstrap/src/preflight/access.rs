//! Can QEMU reach a pool's files? Who QEMU runs as (the daemon's
//! `qemu.conf`, `/etc/passwd` and `/etc/group`), and whether every
//! directory from `/` down to a pool's is searchable by that user (mode
//! bits and POSIX ACLs). A pool under a `mktemp -d` directory (0700)
//! defines and builds fine, and the domain then fails to start with
//! "Cannot access storage file ... Permission denied": this finds it first.

use std::path::{Path, PathBuf};

/// What the daemon's `qemu.conf` says about QEMU's identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QemuConf {
    /// `user = "..."`, if set.
    pub user: Option<String>,
    /// `group = "..."`, if set.
    pub group: Option<String>,
    /// `dynamic_ownership = 0|1`, if set (libvirt's default is 1).
    pub dynamic_ownership: Option<bool>,
    /// `security_driver = ...`, if set (`"none"`, `"selinux"`, ...).
    pub security_driver: Option<String>,
}

impl QemuConf {
    /// Parse libvirt's `key = value` config (only the keys above; `#`
    /// comments, quoted strings, `[ ... ]` lists kept as text).
    pub fn parse(text: &str) -> QemuConf {
        let mut conf = QemuConf::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_string();
            match key.trim() {
                "user" => conf.user = Some(value),
                "group" => conf.group = Some(value),
                "dynamic_ownership" => conf.dynamic_ownership = Some(value != "0"),
                "security_driver" => conf.security_driver = Some(value),
                _ => {}
            }
        }
        conf
    }
}

/// A user as QEMU runs: uid, primary gid and supplementary groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user's name, if known.
    pub name: String,
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Supplementary gids.
    pub groups: Vec<u32>,
    /// Where this came from (`qemu.conf`, `the daemon's DAC label`, ...).
    pub source: String,
}

impl Identity {
    /// `libvirt-qemu (uid 64055, gid 64055, groups 107)`.
    pub fn describe(&self) -> String {
        let groups = if self.groups.is_empty() {
            String::new()
        } else {
            let g: Vec<String> = self.groups.iter().map(u32::to_string).collect();
            format!(", groups {}", g.join(","))
        };
        format!("{} (uid {}, gid {}{groups})", self.name, self.uid, self.gid)
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// `/etc/passwd` and `/etc/group`, as read.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    /// (name, uid, gid) of each user.
    pub users: Vec<(String, u32, u32)>,
    /// (name, gid, members) of each group.
    pub groups: Vec<(String, u32, Vec<String>)>,
}

impl Accounts {
    /// Parse the two files' text.
    pub fn parse(passwd: &str, group: &str) -> Accounts {
        let fields = |l: &str| l.split(':').map(str::to_string).collect::<Vec<_>>();
        let users = passwd
            .lines()
            .map(fields)
            .filter_map(|f| {
                Some((
                    f.first()?.clone(),
                    f.get(2)?.parse().ok()?,
                    f.get(3)?.parse().ok()?,
                ))
            })
            .collect();
        let groups = group
            .lines()
            .map(fields)
            .filter_map(|f| {
                let members = f.get(3).map_or(Vec::new(), |m| {
                    m.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                });
                Some((f.first()?.clone(), f.get(2)?.parse().ok()?, members))
            })
            .collect();
        Accounts { users, groups }
    }

    /// A user by name or `+uid` / bare number (qemu.conf's forms).
    fn user(&self, spec: &str) -> Option<(String, u32, u32)> {
        let by_id = spec.trim_start_matches('+').parse::<u32>().ok();
        self.users
            .iter()
            .find(|(n, uid, _)| (!spec.starts_with('+') && n == spec) || Some(*uid) == by_id)
            .cloned()
    }

    fn group(&self, spec: &str) -> Option<u32> {
        let by_id = spec.trim_start_matches('+').parse::<u32>().ok();
        self.groups
            .iter()
            .find(|(n, gid, _)| (!spec.starts_with('+') && n == spec) || Some(*gid) == by_id)
            .map(|(_, gid, _)| *gid)
            .or(by_id)
    }

    /// The supplementary groups `user` is listed in (libvirt starts QEMU
    /// with them: initgroups).
    fn member_of(&self, user: &str) -> Vec<u32> {
        self.groups
            .iter()
            .filter(|(_, _, m)| m.iter().any(|u| u == user))
            .map(|(_, gid, _)| *gid)
            .collect()
    }

    /// Who QEMU runs as: the daemon's DAC label (`dac`, exact), else
    /// qemu.conf's `user`/`group`, else the distribution's default user
    /// (Debian's `libvirt-qemu`, Fedora's `qemu`).
    pub fn qemu_identity(&self, dac: Option<(u32, u32)>, conf: &QemuConf) -> Option<Identity> {
        let (name, uid, gid, source) = if let Some((uid, gid)) = dac {
            let name = self.users.iter().find(|u| u.1 == uid).map(|u| u.0.clone());
            (
                name.unwrap_or_else(|| uid.to_string()),
                uid,
                gid,
                "the daemon's DAC label",
            )
        } else {
            let (spec, source) = match conf.user.as_deref() {
                Some(u) => (u.to_string(), "qemu.conf"),
                None => {
                    let default = ["libvirt-qemu", "qemu"]
                        .into_iter()
                        .find(|n| self.user(n).is_some())?;
                    (default.to_string(), "the distribution's default user")
                }
            };
            let (name, uid, primary) = self.user(&spec)?;
            let gid = conf.group.as_deref().and_then(|g| self.group(g));
            (name, uid, gid.unwrap_or(primary), source)
        };
        let mut groups = self.member_of(&name);
        groups.retain(|g| *g != gid);
        Some(Identity {
            name,
            uid,
            gid,
            groups,
            source: source.to_string(),
        })
    }
}

/// One entry of a POSIX access ACL (`acl(5)`): tag, permission bits, id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AclEntry {
    /// `ACL_USER_OBJ` 1, `ACL_USER` 2, `ACL_GROUP_OBJ` 4, `ACL_GROUP` 8,
    /// `ACL_MASK` 0x10, `ACL_OTHER` 0x20.
    pub tag: u16,
    /// rwx bits (4 2 1).
    pub perm: u16,
    /// The uid or gid of a named entry.
    pub id: u32,
}

/// What decides whether a directory can be searched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirMeta {
    /// The directory.
    pub path: PathBuf,
    /// Its mode bits.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
    /// Its access ACL, if it has one beyond the mode bits.
    pub acl: Vec<AclEntry>,
}

const SEARCH: u16 = 1;

/// Whether `who` may search (`x`) `dir`, as the kernel decides it: the
/// owner class, else named users, else the group class, else others
/// (acl(5), "access check algorithm").
pub fn searchable(who: &Identity, dir: &DirMeta) -> bool {
    if who.uid == 0 {
        return true;
    }
    let bits = |shift: u32| (dir.mode >> shift) as u16 & 7;
    if who.uid == dir.uid {
        return bits(6) & SEARCH != 0;
    }
    if dir.acl.is_empty() {
        let class = if who.in_group(dir.gid) {
            bits(3)
        } else {
            bits(0)
        };
        return class & SEARCH != 0;
    }
    let mask = dir.acl.iter().find(|e| e.tag == 0x10).map_or(7, |e| e.perm);
    if let Some(e) = dir.acl.iter().find(|e| e.tag == 2 && e.id == who.uid) {
        return e.perm & mask & SEARCH != 0;
    }
    let matching: Vec<u16> = dir
        .acl
        .iter()
        .filter(|e| (e.tag == 4 && who.in_group(dir.gid)) || (e.tag == 8 && who.in_group(e.id)))
        .map(|e| e.perm & mask)
        .collect();
    if !matching.is_empty() {
        return matching.iter().any(|p| p & SEARCH != 0);
    }
    bits(0) & SEARCH != 0
}

/// Parse the `system.posix_acl_access` extended attribute: a version
/// (2) then 8-byte entries (tag u16, perm u16, id u32, little-endian).
pub fn parse_acl(raw: &[u8]) -> Vec<AclEntry> {
    if raw.len() < 4 || raw[..4] != 2u32.to_le_bytes() {
        return Vec::new();
    }
    raw[4..]
        .chunks_exact(8)
        .map(|c| AclEntry {
            tag: u16::from_le_bytes([c[0], c[1]]),
            perm: u16::from_le_bytes([c[2], c[3]]),
            id: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Every directory from `/` down to `path` that exists (the rest, pool
/// build makes, searchable), with its mode, owner and ACL.
pub fn dirs_above(path: &Path) -> Vec<DirMeta> {
    path.ancestors()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map_while(dir_meta)
        .collect()
}

fn dir_meta(path: &Path) -> Option<DirMeta> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(DirMeta {
        path: path.to_path_buf(),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        acl: read_acl(path),
    })
}

fn read_acl(path: &Path) -> Vec<AclEntry> {
    let mut buf = [0u8; 1024];
    rustix::fs::getxattr(path, "system.posix_acl_access", &mut buf[..])
        .map_or(Vec::new(), |n| parse_acl(&buf[..n]))
}

/// The first directory above (or at) a pool's path that `who` cannot
/// search.
pub fn first_blocked<'a>(who: &Identity, dirs: &'a [DirMeta]) -> Option<&'a DirMeta> {
    dirs.iter().find(|d| !searchable(who, d))
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
