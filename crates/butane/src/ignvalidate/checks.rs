//! The per-type walk: for every Ignition type, its duplicate lists (in the
//! duplicate pass) or its `Validate` method (in the validation pass), then
//! its members in Go declaration order, as vcontext's walker visits them.

use std::collections::{HashMap, HashSet};

use super::{
    get_bool, get_int, is_true, key_device, key_name, key_partition, key_path, key_source, key_str,
    key_url, not_empty, present, unit, url, Rel, Validator,
};
use crate::out::{Out, Val};
use crate::report::KeyPath;
use crate::translate::slash_clean;

use Rel::{I, K};

const SYSTEMD_DIR: &str = "/etc/systemd/system/";

/// Ignition's `validatePath`.
fn path_error(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        Some("path not specified")
    } else if !p.starts_with('/') {
        Some("path not absolute")
    } else if slash_clean(p) != p {
        Some("path is not fully simplified")
    } else {
        None
    }
}

/// Go's `path.Ext`.
fn ext(name: &str) -> &str {
    for (i, c) in name.char_indices().rev() {
        match c {
            '/' => return "",
            '.' => return &name[i..],
            _ => {}
        }
    }
    ""
}

/// Go's `%q` of a string.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl Validator<'_> {
    /// Ignition's `validateURL` for this spec.
    fn url_error(&self, s: &str) -> Option<String> {
        let Some(u) = url::parse(s) else {
            return Some("unable to parse url".into());
        };
        let version_id = || match u.query_values("versionId") {
            Some(v) if v.first().is_none_or(String::is_empty) => {
                Some("invalid S3 object VersionId".to_string())
            }
            _ => None,
        };
        match u.scheme.as_str() {
            "http" | "https" | "tftp" => None,
            "gs" if self.minor >= 2 => None,
            "s3" => version_id(),
            "arn" if self.minor >= 4 => {
                let full = format!("arn:{}", u.opaque);
                let bad = Some("invalid S3 ARN format".to_string());
                let sections: Vec<&str> = full.splitn(6, ':').collect();
                if sections.len() < 6 {
                    return bad;
                }
                if sections[2] != "s3" {
                    return bad;
                }
                let slashes = full.split('/').count();
                if (sections[5].starts_with("accesspoint/") && slashes < 3) || slashes < 2 {
                    return bad;
                }
                version_id()
            }
            "data" => url::data_url_error(s),
            _ => Some("invalid url scheme".into()),
        }
    }

    fn url_error_nil_ok(&self, s: Option<&str>) -> Option<String> {
        s.filter(|s| !s.is_empty()).and_then(|s| self.url_error(s))
    }

    fn check_path(&mut self, n: &Out, p: &KeyPath, rel: &[Rel], value: &str) {
        if let Some(e) = path_error(value) {
            self.error(n, p, rel, e);
        }
    }

    /// The root `Config`.
    pub(crate) fn config(&mut self, n: &Out, p: &KeyPath) {
        if !self.dups {
            self.config_validate(n, p);
        }
        if let Some(ign) = n.get("ignition") {
            self.ignition(ign, &p.key("ignition"));
        }
        if let Some(ka) = n.get("kernelArguments") {
            self.dup_lists(
                ka,
                &p.key("kernelArguments"),
                &[
                    ("shouldExist", "ka", key_str),
                    ("shouldNotExist", "ka", key_str),
                ],
            );
        }
        if let Some(pw) = n.get("passwd") {
            self.passwd(pw, &p.key("passwd"));
        }
        if let Some(st) = n.get("storage") {
            self.storage(st, &p.key("storage"));
        }
        if let Some(sd) = n.get("systemd") {
            self.systemd(sd, &p.key("systemd"));
        }
    }

    fn config_validate(&mut self, n: &Out, p: &KeyPath) {
        let mut unit_paths = HashSet::new();
        if let Some(sd) = n.get("systemd") {
            for u in sd.items("units") {
                let name = u.get_str("name").unwrap_or_default();
                if not_empty(u, "contents").is_some() {
                    unit_paths.insert(format!("{SYSTEMD_DIR}{name}"));
                }
                for d in u.items("dropins") {
                    if not_empty(d, "contents").is_some() {
                        let dn = d.get_str("name").unwrap_or_default();
                        unit_paths.insert(format!("{SYSTEMD_DIR}{name}.d/{dn}"));
                    }
                }
            }
        }
        let Some(st) = n.get("storage") else {
            return;
        };
        for kind in ["files", "directories", "links"] {
            for (i, f) in st.items(kind).iter().enumerate() {
                if unit_paths.contains(f.get_str("path").unwrap_or_default()) {
                    self.error(
                        n,
                        p,
                        &[K("storage"), K(kind), I(i), K("path")],
                        "path conflicts with systemd unit or dropin",
                    );
                }
            }
        }
    }

    fn ignition(&mut self, n: &Out, p: &KeyPath) {
        if let Some(c) = n.get("config") {
            let cp = p.key("config");
            self.dup_lists(c, &cp, &[("merge", "merge", key_source)]);
            if !self.dups && self.minor >= 1 {
                for (i, res) in c.items("merge").iter().enumerate() {
                    if let Some(e) = self.required_source_error(res) {
                        self.error(c, &cp, &[K("merge"), I(i)], &e);
                    }
                }
            }
            for (i, res) in c.items("merge").iter().enumerate() {
                self.resource(res, &cp.key("merge").index(i), Res::ConfigRef);
            }
            if let Some(r) = c.get("replace") {
                self.resource(r, &cp.key("replace"), Res::ConfigRef);
            }
        }
        if let Some(px) = n.get("proxy") {
            let pp = p.key("proxy");
            if !self.dups {
                self.proxy_url(px, &pp, "httpProxy", true);
                self.proxy_url(px, &pp, "httpsProxy", false);
            }
            self.dup_lists(px, &pp, &[("noProxy", "noProxy", key_str)]);
        }
        if let Some(tls) = n.get("security").and_then(|s| s.get("tls")) {
            let tp = p.key("security").key("tls");
            if !self.dups && self.minor >= 1 {
                for (i, ca) in tls.items("certificateAuthorities").iter().enumerate() {
                    if let Some(e) = self.required_source_error(ca) {
                        self.error(tls, &tp, &[K("certificateAuthorities"), I(i)], &e);
                    }
                }
            }
            self.dup_lists(tls, &tp, &[("certificateAuthorities", "ca", key_source)]);
            for (i, ca) in tls.items("certificateAuthorities").iter().enumerate() {
                self.resource(ca, &tp.key("certificateAuthorities").index(i), Res::Ca);
            }
        }
    }

    fn required_source_error(&self, res: &Out) -> Option<String> {
        match not_empty(res, "source") {
            None => Some("source is required".into()),
            Some(s) => self.url_error(s),
        }
    }

    fn proxy_url(&mut self, n: &Out, p: &KeyPath, key: &str, http_ok: bool) {
        let Some(s) = n.get_str(key) else {
            return;
        };
        match url::parse(s) {
            None => self.error(n, p, &[K(key)], "unable to parse url"),
            Some(u) if u.scheme != "http" && u.scheme != "https" => {
                self.error(n, p, &[K(key)], "proxies must be http(s)");
            }
            Some(u) if u.scheme == "http" && !http_ok => {
                self.warn(
                    n,
                    p,
                    &[K(key)],
                    "insecure plaintext HTTP proxy specified for HTTPS resources",
                );
            }
            Some(_) => {}
        }
    }

    /// A `Resource` (3.1+) or its 3.0 predecessors.
    fn resource(&mut self, n: &Out, p: &KeyPath, kind: Res) {
        if !self.dups {
            if self.minor == 0 {
                match kind {
                    Res::Ca => {
                        let s = n.get_str("source").unwrap_or_default();
                        if let Some(e) = self.url_error(s) {
                            self.error(n, p, &[K("source")], &e);
                        }
                    }
                    Res::ConfigRef => {
                        if let Some(e) = self.url_error_nil_ok(n.get_str("source")) {
                            self.error(n, p, &[K("source")], &e);
                        }
                    }
                    Res::Contents => {
                        self.compression(n, p);
                        self.verification_source(n, p);
                        if let Some(e) = self.url_error_nil_ok(n.get_str("source")) {
                            self.error(n, p, &[K("source")], &e);
                        }
                    }
                }
            } else {
                self.compression(n, p);
                self.verification_source(n, p);
                if let Some(e) = self.url_error_nil_ok(n.get_str("source")) {
                    self.error(n, p, &[K("source")], &e);
                }
                if !n.items("httpHeaders").is_empty() {
                    let e = match not_empty(n, "source").map(url::parse) {
                        None | Some(None) => Some("unable to parse url"),
                        Some(Some(u)) if u.scheme == "http" || u.scheme == "https" => None,
                        Some(Some(_)) => Some("cannot use HTTP headers with this source scheme"),
                    };
                    if let Some(e) = e {
                        self.error(n, p, &[K("httpHeaders")], e);
                    }
                }
            }
        }
        self.dup_lists(n, p, &[("httpHeaders", "h", key_name)]);
        if !self.dups {
            for (i, h) in n.items("httpHeaders").iter().enumerate() {
                let hp = p.key("httpHeaders").index(i);
                if h.get_str("name").unwrap_or_default().is_empty() {
                    self.error(h, &hp, &[K("name")], "HTTP header name can't be empty");
                }
                if h.get_str("value") == Some("") {
                    self.error(h, &hp, &[K("value")], "unable to parse HTTP header");
                }
            }
            if let Some(v) = n.get("verification") {
                self.verification(v, &p.key("verification"));
            }
        }
    }

    fn compression(&mut self, n: &Out, p: &KeyPath) {
        if let Some(c) = n.get_str("compression") {
            if !c.is_empty() && c != "gzip" {
                self.error(n, p, &[K("compression")], "invalid compression method");
            }
        }
    }

    fn verification_source(&mut self, n: &Out, p: &KeyPath) {
        let hash = n.get("verification").is_some_and(|v| present(v, "hash"));
        if hash && !present(n, "source") {
            self.error(
                n,
                p,
                &[K("verification"), K("hash")],
                "source must be specified if verification is specified",
            );
        }
    }

    fn verification(&mut self, n: &Out, p: &KeyPath) {
        let Some(hash) = n.get_str("hash") else {
            return;
        };
        let Some((func, sum)) = hash.split_once('-') else {
            self.error(n, p, &[K("hash")], "malformed hash specifier");
            return;
        };
        let len = match func {
            "sha512" => 128,
            "sha256" if self.minor >= 1 => 64,
            _ => {
                self.error(n, p, &[K("hash")], "unrecognized hash function");
                return;
            }
        };
        if sum.len() != len {
            self.error(n, p, &[K("hash")], "incorrect size for hash sum");
        }
    }

    fn passwd(&mut self, n: &Out, p: &KeyPath) {
        self.dup_lists(
            n,
            p,
            &[("groups", "groups", key_name), ("users", "users", key_name)],
        );
        for (i, u) in n.items("users").iter().enumerate() {
            self.dup_lists(
                u,
                &p.key("users").index(i),
                &[
                    ("groups", "groups", key_str),
                    ("sshAuthorizedKeys", "keys", key_str),
                ],
            );
        }
    }

    fn storage(&mut self, n: &Out, p: &KeyPath) {
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

    fn storage_validate(&mut self, n: &Out, p: &KeyPath) {
        let path_of = |o: &Out| o.get_str("path").unwrap_or_default().to_string();
        let links: Vec<String> = n.items("links").iter().map(path_of).collect();
        for (kind, msg) in [
            ("directories", "directory path includes link in config"),
            ("files", "file path includes link in config"),
        ] {
            for (i, d) in n.items(kind).iter().enumerate() {
                let dp = path_of(d);
                for l in &links {
                    if dp.starts_with(&format!("{l}/")) {
                        self.error(n, p, &[K(kind), I(i)], msg);
                    }
                }
            }
        }
        let dirs: Vec<String> = n.items("directories").iter().map(path_of).collect();
        for (i, l1) in n.items("links").iter().enumerate() {
            let lp = path_of(l1);
            for l2 in &links {
                if lp.starts_with(&format!("{l2}/")) {
                    self.error(
                        n,
                        p,
                        &[K("links"), I(i)],
                        "link path includes link in config",
                    );
                }
            }
            let Some(target) = not_empty(l1, "target") else {
                if self.minor >= 3 {
                    self.error(
                        n,
                        p,
                        &[K("links"), I(i), K("target")],
                        "link target is required",
                    );
                    continue;
                }
                if !is_true(l1, "hard") {
                    continue;
                }
                self.hard_link(n, p, i, l1, &lp, "", &dirs);
                continue;
            };
            if !is_true(l1, "hard") {
                continue;
            }
            self.hard_link(n, p, i, l1, &lp, target, &dirs);
        }
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

    fn disk(&mut self, n: &Out, p: &KeyPath) {
        if self.dups {
            self.dup_lists(n, p, &[("partitions", "partitions", key_partition)]);
            return;
        }
        let device = n.get_str("device").unwrap_or_default();
        let parts = n.items("partitions");
        if device.is_empty() {
            self.error(n, p, &[K("device")], "disk device is required");
        } else {
            self.check_path(n, p, &[K("device")], device);
            // partition numbers
            let mut by_num: Vec<(i64, Vec<usize>)> = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let num = get_int(part, "number").unwrap_or(0);
                if num != 0 {
                    match by_num.iter_mut().find(|(k, _)| *k == num) {
                        Some((_, v)) => v.push(i),
                        None => by_num.push((num, vec![i])),
                    }
                }
            }
            if let Some((_, v)) = by_num.iter().find(|(_, v)| v.len() > 1) {
                self.error(
                    n,
                    p,
                    &[K("partitions"), I(v[1])],
                    "partition numbers collide",
                );
            }
            if let Some(i) = overlap(parts) {
                self.error(n, p, &[K("partitions"), I(i)], "partitions overlap");
            }
            let not_exist = parts
                .iter()
                .any(|q| get_bool(q, "shouldExist") == Some(false));
            let zero = parts.iter().any(|q| get_int(q, "number").unwrap_or(0) == 0);
            if zero && not_exist {
                self.error(
                    n,
                    p,
                    &[K("partitions")],
                    "shouldExist is false for a partition and other partition(s) has start or size 0",
                );
            }
            let mut labels = HashSet::new();
            for (i, q) in parts.iter().enumerate() {
                if let Some(l) = q.get_str("label") {
                    if !labels.insert(l) {
                        self.error(
                            n,
                            p,
                            &[K("partitions"), I(i)],
                            "cannot use the same partition label twice",
                        );
                        break;
                    }
                }
            }
        }
        for (i, q) in parts.iter().enumerate() {
            self.partition(q, &p.key("partitions").index(i));
        }
    }

    fn partition(&mut self, n: &Out, p: &KeyPath) {
        if get_bool(n, "shouldExist") == Some(false)
            && (present(n, "label")
                || not_empty(n, "typeGuid").is_some()
                || not_empty(n, "guid").is_some()
                || present(n, "startMiB")
                || present(n, "sizeMiB"))
        {
            self.error(
                n,
                p,
                &[],
                "shouldExist specified false with other options also specified",
            );
        }
        if get_int(n, "number").unwrap_or(0) == 0 && !present(n, "label") {
            self.error(
                n,
                p,
                &[],
                "a partition number >= 1 or a label must be specified",
            );
        }
        if let Some(l) = n.get_str("label") {
            if l.len() > 36 {
                self.error(
                    n,
                    p,
                    &[K("label")],
                    "partition labels may not exceed 36 characters",
                );
            } else if l.contains(':') {
                self.error(
                    n,
                    p,
                    &[K("label")],
                    "partition label will be truncated to text before the colon",
                );
            }
        }
        for key in ["guid", "typeGuid"] {
            if let Some(g) = n.get_str(key) {
                if !guid_ok(g) {
                    self.error(
                        n,
                        p,
                        &[K(key)],
                        "doesn't match the form \"01234567-89AB-CDEF-EDCB-A98765432101\"",
                    );
                }
            }
        }
    }

    fn filesystem(&mut self, n: &Out, p: &KeyPath) {
        if let Some(path) = not_empty(n, "path") {
            self.check_path(n, p, &[K("path")], path);
        }
        self.check_path(
            n,
            p,
            &[K("device")],
            n.get_str("device").unwrap_or_default(),
        );
        let format = not_empty(n, "format");
        match format {
            None => {
                if not_empty(n, "path").is_some()
                    || not_empty(n, "label").is_some()
                    || not_empty(n, "uuid").is_some()
                    || is_true(n, "wipeFilesystem")
                    || !n.items("mountOptions").is_empty()
                    || !n.items("options").is_empty()
                {
                    self.error(
                        n,
                        p,
                        &[K("format")],
                        "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified",
                    );
                }
            }
            Some(f) => {
                let ok = matches!(f, "ext4" | "btrfs" | "xfs" | "swap" | "vfat")
                    || (f == "none" && self.minor >= 3);
                if !ok {
                    self.error(n, p, &[K("format")], "invalid filesystem format");
                }
            }
        }
        if let Some(label) = not_empty(n, "label") {
            let e = match format {
                None => Some("filesystem must specify format if label is specified"),
                Some("ext4") if label.len() > 16 => {
                    Some("filesystem labels cannot be longer than 16 characters when using ext4")
                }
                Some("btrfs") if label.len() > 256 => {
                    Some("filesystem labels cannot be longer than 256 characters when using btrfs")
                }
                Some("xfs") if label.len() > 12 => {
                    Some("filesystem labels cannot be longer than 12 characters when using xfs")
                }
                Some("swap") if label.len() > 15 => {
                    Some("filesystem labels cannot be longer than 15 characters when using swap")
                }
                Some("vfat") if label.len() > 11 => {
                    Some("filesystem labels cannot be longer than 11 characters when using vfat")
                }
                _ => None,
            };
            if let Some(e) = e {
                self.error(n, p, &[K("label")], e);
            }
        }
    }

    fn luks(&mut self, n: &Out, p: &KeyPath) {
        if !self.dups {
            self.luks_validate(n, p);
        }
        self.dup_lists(n, p, &[("openOptions", "open", key_str)]);
        if let Some(cl) = n.get("clevis") {
            let cp = p.key("clevis");
            self.dup_lists(cl, &cp, &[("tang", "tang", key_url)]);
            if !self.dups {
                if let Some(cu) = cl.get("custom") {
                    self.clevis_custom(cu, &cp.key("custom"));
                }
                for (i, t) in cl.items("tang").iter().enumerate() {
                    self.tang(t, &cp.key("tang").index(i));
                }
            }
        }
        if let Some(kf) = n.get("keyFile") {
            self.resource(kf, &p.key("keyFile"), Res::Contents);
        }
    }

    fn luks_validate(&mut self, n: &Out, p: &KeyPath) {
        if n.get_str("name").unwrap_or_default().contains('/') {
            self.error(n, p, &[K("name")], "device names cannot contain slashes");
        }
        if not_empty(n, "label").is_some_and(|l| l.len() > 47) {
            self.error(
                n,
                p,
                &[K("label")],
                "luks device labels cannot be longer than 47 characters",
            );
        }
        match not_empty(n, "device") {
            None => self.error(n, p, &[K("device")], "disk device is required"),
            Some(d) => self.check_path(n, p, &[K("device")], d),
        }
        let cl = n.get("clevis");
        let others = cl.is_some_and(|c| {
            !c.items("tang").is_empty()
                || is_true(c, "tpm2")
                || get_int(c, "threshold").is_some_and(|t| t != 0)
        });
        let custom = cl.and_then(|c| c.get("custom"));
        let has_custom = if self.minor >= 3 {
            custom.is_some_and(|c| not_empty(c, "pin").is_some())
        } else {
            custom.is_some()
        };
        if has_custom && others {
            self.error(
                n,
                p,
                &[K("clevis")],
                "cannot use custom clevis config with tpm2, tang, or threshold",
            );
        }
        let key_source = n.get("keyFile").and_then(|k| not_empty(k, "source"));
        if self.url_error_nil_ok(key_source).is_some() {
            self.error(n, p, &[K("keys")], "invalid key-file source");
        }
        if self.minor >= 5 {
            let clevis_present =
                has_custom || others || custom.is_some_and(|c| not_empty(c, "pin").is_some());
            let cex = n.get("cex").is_some_and(|c| is_true(c, "enabled"));
            if clevis_present && cex {
                self.error(n, p, &[K("cex")], "cannot use cex with clevis");
            }
            if cex && key_source.is_some() {
                self.error(n, p, &[K("cex")], "cannot use key file with cex");
            }
        }
    }

    fn clevis_custom(&mut self, n: &Out, p: &KeyPath) {
        if self.minor < 2 {
            return;
        }
        if self.minor == 2 {
            // 3.2's `Custom`: pin and config are plain strings.
            let pin = n.get_str("pin").unwrap_or_default();
            let config = n.get_str("config").unwrap_or_default();
            if pin.is_empty() && config.is_empty() {
                return;
            }
            if !matches!(pin, "tpm2" | "tang" | "sss") {
                self.error(n, p, &[K("pin")], "unsupported clevis pin");
            }
            if config.is_empty() {
                self.error(
                    n,
                    p,
                    &[K("config")],
                    "missing required custom clevis config",
                );
            }
            return;
        }
        let pin = not_empty(n, "pin");
        if pin.is_none() && not_empty(n, "config").is_none() && !is_true(n, "needsNetwork") {
            return;
        }
        match pin {
            None => self.error(n, p, &[K("pin")], "missing required custom clevis pin"),
            Some(pin) if self.minor < 6 && !matches!(pin, "tpm2" | "tang" | "sss") => {
                self.error(n, p, &[K("pin")], "unsupported clevis pin");
            }
            Some(_) => {}
        }
        if not_empty(n, "config").is_none() {
            self.error(
                n,
                p,
                &[K("config")],
                "missing required custom clevis config",
            );
        }
    }

    fn tang(&mut self, n: &Out, p: &KeyPath) {
        match url::parse(n.get_str("url").unwrap_or_default()) {
            None => self.error(n, p, &[K("url")], "unable to parse url"),
            Some(u) if u.scheme != "http" && u.scheme != "https" => {
                self.error(n, p, &[K("url")], "invalid url scheme");
            }
            Some(_) => {}
        }
        if not_empty(n, "thumbprint").is_none() {
            self.error(n, p, &[K("thumbprint")], "thumbprint is required");
        }
        if self.minor >= 4 {
            if let Some(adv) = not_empty(n, "advertisement") {
                if serde_json::from_str::<serde_json::Value>(adv).is_err() {
                    self.error(
                        n,
                        p,
                        &[K("advertisement")],
                        "advertisement is not valid JSON",
                    );
                }
            }
        }
    }

    fn raid(&mut self, n: &Out, p: &KeyPath) {
        if self.dups {
            self.dup_lists(n, p, &[("devices", "devices", key_str)]);
            return;
        }
        let level = n.get_str("level").unwrap_or_default();
        let e = if level.is_empty() && self.minor >= 3 {
            Some("raid level is required")
        } else {
            match level {
                "linear" | "raid0" | "0" | "stripe" => get_int(n, "spares")
                    .is_some_and(|s| s != 0)
                    .then_some("spares unsupported for linear and raid0 arrays"),
                "raid1" | "1" | "mirror" | "raid4" | "4" | "raid5" | "5" | "raid6" | "6"
                | "raid10" | "10" => None,
                _ => Some("unrecognized raid level"),
            }
        };
        if let Some(e) = e {
            self.error(n, p, &[K("level")], e);
        }
        if n.items("devices").is_empty() {
            self.error(n, p, &[K("devices")], "raid devices required");
        }
        for (i, d) in n.items("devices").iter().enumerate() {
            if let Val::Str(s) = &d.val {
                self.check_path(n, p, &[K("devices"), I(i)], s);
            }
        }
    }

    fn systemd(&mut self, n: &Out, p: &KeyPath) {
        if !self.dups {
            self.systemd_validate(n, p);
        }
        self.dup_lists(n, p, &[("units", "units", key_name)]);
        for (i, u) in n.items("units").iter().enumerate() {
            let up = p.key("units").index(i);
            if !self.dups {
                self.unit(u, &up);
            }
            self.dup_lists(u, &up, &[("dropins", "dropins", key_name)]);
            if !self.dups {
                for (j, d) in u.items("dropins").iter().enumerate() {
                    let dp = up.key("dropins").index(j);
                    if let Some(Err(e)) = d.get_str("contents").map(unit::parse) {
                        self.error(d, &dp, &[K("contents")], &e);
                    }
                    if ext(d.get_str("name").unwrap_or_default()) != ".conf" {
                        self.error(d, &dp, &[K("name")], "invalid systemd drop-in extension");
                    }
                }
            }
        }
    }

    fn unit(&mut self, n: &Out, p: &KeyPath) {
        let name = n.get_str("name").unwrap_or_default();
        if !matches!(
            ext(name),
            ".service"
                | ".socket"
                | ".device"
                | ".mount"
                | ".automount"
                | ".swap"
                | ".target"
                | ".path"
                | ".timer"
                | ".snapshot"
                | ".slice"
                | ".scope"
        ) {
            self.error(n, p, &[K("name")], "invalid systemd unit extension");
        }
        let contents = n.get_str("contents");
        match contents.map(unit::parse) {
            Some(Err(e)) => self.error(n, p, &[K("contents")], &e),
            Some(Ok(sections))
                if is_true(n, "enabled")
                    && contents.is_some_and(|c| !c.is_empty())
                    && !sections.iter().any(|s| s == "Install") =>
            {
                let msg = format!(
                    "unit {} is enabled, but has no install section so enable does nothing",
                    quote(name)
                );
                self.warn(n, p, &[K("contents")], &msg);
            }
            _ => {}
        }
    }

    fn systemd_validate(&mut self, n: &Out, p: &KeyPath) {
        let units = n.items("units");
        let mut by_name: HashMap<&str, &Out> = HashMap::new();
        for u in units {
            by_name.insert(u.get_str("name").unwrap_or_default(), u);
        }
        for (i, u) in units.iter().enumerate() {
            let name = u.get_str("name").unwrap_or_default();
            let Some(prefix) = instance_prefix(name) else {
                continue;
            };
            if !is_true(u, "enabled") {
                continue;
            }
            let template = format!("{prefix}@.service");
            let Some(t) = by_name.get(template.as_str()) else {
                continue;
            };
            let Some(contents) = not_empty(t, "contents") else {
                continue;
            };
            let Ok(sections) = unit::parse(contents) else {
                continue;
            };
            if !sections.iter().any(|s| s == "Install") {
                let msg = format!(
                    "template unit {} for {} doesn't have Install section",
                    quote(&template),
                    quote(name)
                );
                self.warn(n, p, &[K("units"), I(i), K("contents")], &msg);
            }
        }
    }
}

/// `^(.+?)@(.+?)\.service$`: the template prefix of an instance name.
fn instance_prefix(name: &str) -> Option<&str> {
    if name.contains('\n') {
        return None;
    }
    let stem = name.strip_suffix(".service")?;
    stem.char_indices()
        .find(|&(i, c)| c == '@' && i >= 1 && i + 1 < stem.len())
        .map(|(i, _)| &stem[..i])
}

fn guid_ok(g: &str) -> bool {
    if g.is_empty() {
        return true;
    }
    let parts: Vec<&str> = g.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(s, n)| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn overlap(parts: &[Out]) -> Option<usize> {
    let span = |q: &Out| -> Option<(i64, i64)> {
        let start = get_int(q, "startMiB")?;
        let size = get_int(q, "sizeMiB")?;
        if start == 0 {
            return None;
        }
        Some((start, if size == 0 { start } else { start + size - 1 }))
    };
    for (pi, pp) in parts.iter().enumerate() {
        let Some((ps, pe)) = span(pp) else {
            continue;
        };
        for (oi, o) in parts.iter().enumerate() {
            if oi == pi {
                continue;
            }
            let Some((os, oe)) = span(o) else {
                continue;
            };
            if (ps >= os && ps <= oe) || (pe >= os && pe <= oe) || (ps < os && pe > oe) {
                return Some(oi);
            }
        }
    }
    None
}

/// Which resource type a source node is in the target spec.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Res {
    /// `ignition.config.merge/replace` (3.0 `ConfigReference`).
    ConfigRef,
    /// `security.tls.certificateAuthorities` (3.0 `CaReference`).
    Ca,
    /// File contents and others (3.0 `FileContents`).
    Contents,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    File,
    Directory,
    Link,
}
