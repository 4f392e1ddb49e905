//! Encrypted volumes: `Luks` (name, label, device, clevis against cex and
//! key files), its custom clevis pin and its tang servers.

use super::{get_int, is_true, key_str, key_url, not_empty, url, Rel, Validator};
use crate::out::Out;
use crate::report::KeyPath;

use super::resource::Res;
use Rel::K;

impl Validator<'_> {
    /// A `Luks` volume: its own checks, open options, clevis and key file.
    pub(super) fn luks(&mut self, n: &Out, p: &KeyPath) {
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

    /// `Luks.Validate`: name, label, device, clevis against custom, key
    /// file and cex.
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

    /// A custom clevis pin and its config, as each spec checks them.
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

    /// A tang server: URL, thumbprint and (3.4+) advertisement.
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
}
