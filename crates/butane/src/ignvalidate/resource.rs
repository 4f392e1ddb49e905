//! Ignition's `Resource` (and its 3.0 predecessors): the source URL for
//! the target spec's schemes, compression, HTTP headers and the
//! verification hash.

use super::{data_url, key_name, not_empty, present, url, Rel, Validator};
use crate::out::Out;
use crate::report::KeyPath;

use Rel::K;

impl Validator<'_> {
    /// Ignition's `validateURL` for this spec.
    pub(super) fn url_error(&self, s: &str) -> Option<String> {
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
            "data" => data_url::decode_error(s),
            _ => Some("invalid url scheme".into()),
        }
    }

    /// Ignition's `validateURLNilOK`: an absent or empty URL is fine.
    pub(super) fn url_error_nil_ok(&self, s: Option<&str>) -> Option<String> {
        s.filter(|s| !s.is_empty()).and_then(|s| self.url_error(s))
    }

    /// A `Resource` (3.1+) or its 3.0 predecessors.
    pub(super) fn resource(&mut self, n: &Out, p: &KeyPath, kind: Res) {
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

    /// The compression, empty or `gzip`.
    fn compression(&mut self, n: &Out, p: &KeyPath) {
        if let Some(c) = n.get_str("compression") {
            if !c.is_empty() && c != "gzip" {
                self.error(n, p, &[K("compression")], "invalid compression method");
            }
        }
    }

    /// A verification hash needs a source to verify.
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

    /// The verification hash: `function-sum` of a known function and
    /// the right length.
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
}

/// Which resource type a source node is in the target spec.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Res {
    /// `ignition.config.merge/replace` (3.0 `ConfigReference`).
    ConfigRef,
    /// `security.tls.certificateAuthorities` (3.0 `CaReference`).
    Ca,
    /// File contents and others (3.0 `FileContents`).
    Contents,
}
