//! The root `Config` and its small sections: the unit/dropin paths that
//! storage nodes may not reuse, `ignition` (config merge/replace, proxy,
//! TLS certificate authorities), `kernelArguments` and `passwd`.

use std::collections::HashSet;

use super::{key_name, key_source, key_str, not_empty, url, Rel, Validator};
use crate::out::Out;
use crate::report::KeyPath;

use super::resource::Res;
use Rel::{I, K};

const SYSTEMD_DIR: &str = "/etc/systemd/system/";

impl Validator<'_> {
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

    /// `Config.Validate`: no file, directory or link may take the path of
    /// a unit or dropin that has contents.
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

    /// The `ignition` section: config merge/replace, proxy and TLS CAs.
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

    /// The error of a resource whose source is required (3.1+ merge and
    /// CA entries): missing, or not a valid URL.
    fn required_source_error(&self, res: &Out) -> Option<String> {
        match not_empty(res, "source") {
            None => Some("source is required".into()),
            Some(s) => self.url_error(s),
        }
    }

    /// A proxy URL: http(s), and a warning for plain HTTP where only
    /// HTTPS is fine (`http_ok` false).
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

    /// The `passwd` section: its duplicate users, groups and keys.
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
}
