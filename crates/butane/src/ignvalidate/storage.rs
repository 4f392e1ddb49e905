//! The `Storage` section: the checks that look across its lists (paths
//! under links, hard links, filesystems on partitioned or wiped disks),
//! then the filesystem nodes themselves (files, directories, links).

use std::collections::HashMap;

use super::{get_int, is_true, key_device, key_name, key_path, not_empty, present, Rel, Validator};
use crate::out::Out;
use crate::report::KeyPath;
use crate::translate::slash_clean;

use super::resource::Res;
use Rel::{I, K};

impl Validator<'_> {
    /// The `Storage` section: the checks across its lists, its duplicate
    /// lists, then each member list in Go declaration order.
    pub(super) fn storage(&mut self, n: &Out, p: &KeyPath) {
        if !self.dups {
            self.storage_validate(n, p);
        }
        self.dup_lists(
            n,
            p,
            &[
                ("directories", "node", key_path),
                ("disks", "disks", key_device),
                ("files", "node", key_path),
                ("filesystems", "fs", key_device),
                ("links", "node", key_path),
                ("luks", "luks", key_name),
                ("raid", "raid", key_name),
            ],
        );
        for (i, d) in n.items("directories").iter().enumerate() {
            self.node(d, &p.key("directories").index(i), NodeKind::Directory);
        }
        for (i, d) in n.items("disks").iter().enumerate() {
            self.disk(d, &p.key("disks").index(i));
        }
        for (i, f) in n.items("files").iter().enumerate() {
            self.node(f, &p.key("files").index(i), NodeKind::File);
        }
        for (i, f) in n.items("filesystems").iter().enumerate() {
            if !self.dups {
                self.filesystem(f, &p.key("filesystems").index(i));
            }
        }
        for (i, l) in n.items("links").iter().enumerate() {
            self.node(l, &p.key("links").index(i), NodeKind::Link);
        }
        for (i, l) in n.items("luks").iter().enumerate() {
            self.luks(l, &p.key("luks").index(i));
        }
        for (i, r) in n.items("raid").iter().enumerate() {
            self.raid(r, &p.key("raid").index(i));
        }
    }

    /// `Storage.Validate`: nodes under links, links, then filesystems on
    /// the config's own disks.
    fn storage_validate(&mut self, n: &Out, p: &KeyPath) {
        let links: Vec<String> = n.items("links").iter().map(path_of).collect();
        self.nodes_under_links(n, p, &links);
        self.check_links(n, p, &links);
        self.filesystems_on_disks(n, p);
    }

    /// Directories and files whose path goes through a link of the config.
    fn nodes_under_links(&mut self, n: &Out, p: &KeyPath, links: &[String]) {
        for (kind, msg) in [
            ("directories", "directory path includes link in config"),
            ("files", "file path includes link in config"),
        ] {
            for (i, d) in n.items(kind).iter().enumerate() {
                let dp = path_of(d);
                for l in links {
                    if dp.starts_with(&format!("{l}/")) {
                        self.error(n, p, &[K(kind), I(i)], msg);
                    }
                }
            }
        }
    }

    /// Each link: not under another link, a target (3.3+), and a hard
    /// link's target and owner.
    fn check_links(&mut self, n: &Out, p: &KeyPath, links: &[String]) {
        let dirs: Vec<String> = n.items("directories").iter().map(path_of).collect();
        for (i, l1) in n.items("links").iter().enumerate() {
            let lp = path_of(l1);
            for l2 in links {
                if lp.starts_with(&format!("{l2}/")) {
                    self.error(
                        n,
                        p,
                        &[K("links"), I(i)],
                        "link path includes link in config",
                    );
                }
            }
            let target = match not_empty(l1, "target") {
                Some(target) => target,
                None if self.minor >= 3 => {
                    self.error(
                        n,
                        p,
                        &[K("links"), I(i), K("target")],
                        "link target is required",
                    );
                    continue;
                }
                None => "",
            };
            if is_true(l1, "hard") {
                self.hard_link(n, p, i, l1, &lp, target, &dirs);
            }
        }
    }

    /// Warnings for a filesystem on a disk the config partitions or wipes.
    fn filesystems_on_disks(&mut self, n: &Out, p: &KeyPath) {
        let mut disks: HashMap<&str, &Out> = HashMap::new();
        for d in n.items("disks") {
            disks.insert(d.get_str("device").unwrap_or_default(), d);
        }
        for (i, f) in n.items("filesystems").iter().enumerate() {
            let Some(disk) = disks.get(f.get_str("device").unwrap_or_default()) else {
                continue;
            };
            let rel = [K("filesystems"), I(i), K("device")];
            if !disk.items("partitions").is_empty() {
                self.warn(n, p, &rel, "filesystem overwrites partitioned device");
            } else if !is_true(f, "wipeFilesystem") && is_true(disk, "wipeTable") {
                self.warn(
                    n,
                    p,
                    &rel,
                    "device matches disk with wipeTable enabled; filesystem will be wiped",
                );
            }
        }
    }

    /// A hard link: its target may not be a directory of the config, and
    /// its user and group are ignored.
    #[allow(clippy::too_many_arguments)]
    fn hard_link(
        &mut self,
        n: &Out,
        p: &KeyPath,
        i: usize,
        l1: &Out,
        lp: &str,
        target: &str,
        dirs: &[String],
    ) {
        let mut t = slash_clean(target);
        if !t.starts_with('/') {
            t = slash_clean(&format!("{lp}/{target}"));
        }
        for d in dirs {
            if &t == d {
                self.error(n, p, &[K("links"), I(i)], "hard link target is a directory");
            }
        }
        for (who, field) in [
            ("user", "id"),
            ("user", "name"),
            ("group", "id"),
            ("group", "name"),
        ] {
            if l1.get(who).is_some_and(|o| present(o, field)) {
                self.warn(
                    n,
                    p,
                    &[K("links"), I(i), K(who), K(field)],
                    "user/group ignored for hard link",
                );
            }
        }
    }

    /// A `File`, `Directory` or `Link`: path, mode, overwrite and owner,
    /// then a file's contents.
    fn node(&mut self, n: &Out, p: &KeyPath, kind: NodeKind) {
        if self.dups {
            for (i, a) in n.items("append").iter().enumerate() {
                self.resource(a, &p.key("append").index(i), Res::Contents);
            }
            if let Some(c) = n.get("contents") {
                self.resource(c, &p.key("contents"), Res::Contents);
            }
            return;
        }
        self.check_path(n, p, &[K("path")], n.get_str("path").unwrap_or_default());
        if kind != NodeKind::Link {
            if let Some(m) = get_int(n, "mode") {
                if !(0..=0o7777).contains(&m) {
                    self.error(n, p, &[K("mode")], "illegal file mode");
                }
                if self.minor < 6 && (m as u32) & 0o7000 != 0 {
                    self.warn(
                        n,
                        p,
                        &[K("mode")],
                        "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
                    );
                }
            }
        }
        if kind == NodeKind::File
            && is_true(n, "overwrite")
            && !n.get("contents").is_some_and(|c| present(c, "source"))
        {
            self.error(
                n,
                p,
                &[K("overwrite")],
                "overwrite must be false if source is unspecified",
            );
        }
        for who in ["group", "user"] {
            if let Some(o) = n.get(who) {
                if present(o, "id") && not_empty(o, "name").is_some() {
                    self.error(n, p, &[K(who)], "cannot set both id and name");
                }
            }
        }
        if kind == NodeKind::File {
            for (i, a) in n.items("append").iter().enumerate() {
                self.resource(a, &p.key("append").index(i), Res::Contents);
            }
            if let Some(c) = n.get("contents") {
                self.resource(c, &p.key("contents"), Res::Contents);
            }
        }
    }
}

/// A node's `path`, empty when it has none.
fn path_of(o: &Out) -> String {
    o.get_str("path").unwrap_or_default().to_string()
}

/// Which Ignition node type a `storage` entry is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    File,
    Directory,
    Link,
}
