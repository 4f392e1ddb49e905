//! Where an image comes from, as data: a Fedora CoreOS stream's metadata,
//! a Flatcar channel's published qemu image and its digests, any URL with
//! a sha256, or a local file. Pure parsing; the fetching is in
//! [`super::fetch`].
//!
//! Fedora CoreOS stream metadata (the `streams/<stream>.json` files that
//! coreos-installer and the docs use): `architectures.<arch>.artifacts.qemu`
//! holds `release` and `formats["qcow2.xz"].disk` with `location`,
//! `sha256` (of the compressed file) and `uncompressed-sha256`.
//! Flatcar publishes, per channel and arch, `current/version.txt`
//! (`FLATCAR_VERSION=...`), the qcow2 `flatcar_production_qemu_image.img`
//! and `<image>.DIGESTS`, blocks of `# <ALGO> HASH` then `<hex>  <file>`
//! lines.

use serde_json::Value;

/// A hash algorithm a published digest uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    /// SHA-256 (64 hex digits).
    Sha256,
    /// SHA-512 (128 hex digits; Flatcar's DIGESTS).
    Sha512,
}

impl Algo {
    /// `sha256`, `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Sha256 => "sha256",
            Algo::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algo::Sha256 => 64,
            Algo::Sha512 => 128,
        }
    }
}

/// The digest a file must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    /// Its algorithm.
    pub algo: Algo,
    /// Lowercase hex.
    pub hex: String,
}

impl Digest {
    /// A digest from hex (any case); `None` unless it is `algo`'s length
    /// of hex digits.
    pub fn parse(algo: Algo, hex: &str) -> Option<Digest> {
        let ok = hex.len() == algo.hex_len() && hex.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Digest {
            algo,
            hex: hex.to_ascii_lowercase(),
        })
    }
}

/// One image to pull: where its bytes are and what they must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// Its URL (http, https) or local path.
    pub location: String,
    /// The digest of the file as fetched (compressed, if it is).
    pub digest: Option<Digest>,
    /// The sha256 of the image once decompressed, where published.
    pub uncompressed_sha256: Option<String>,
    /// The OS release, where known.
    pub release: Option<String>,
    /// The volume name it gets by default.
    pub volume: String,
    /// Whether the file is xz-compressed.
    pub xz: bool,
}

/// What is wrong with published metadata.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The stream JSON is not JSON.
    #[error("the stream metadata from {url} is not JSON: {why}")]
    NotJson {
        /// Where it came from.
        url: String,
        /// serde_json's words.
        why: String,
    },
    /// A key the image needs is missing (or not a string).
    #[error(
        "the stream metadata from {url} has no {path}: not a Fedora CoreOS stream file, or \
         no qemu image for this architecture (pick one with --arch)"
    )]
    Missing {
        /// Where it came from.
        url: String,
        /// The key path, dotted.
        path: String,
    },
    /// A digest is malformed.
    #[error("{url}: {what} is not a {algo} digest: {value:?}")]
    BadDigest {
        /// Where it came from.
        url: String,
        /// Which field.
        what: String,
        /// The expected algorithm.
        algo: &'static str,
        /// What it said.
        value: String,
    },
    /// Flatcar's DIGESTS file names no sha256 or sha512 of the image.
    #[error("{url} has no SHA256 or SHA512 digest of {file}")]
    NoDigest {
        /// The DIGESTS file.
        url: String,
        /// The image file.
        file: String,
    },
    /// Flatcar's version.txt has no FLATCAR_VERSION.
    #[error("{url} has no FLATCAR_VERSION= line")]
    NoVersion {
        /// The version.txt URL.
        url: String,
    },
}

/// The public Fedora CoreOS stream metadata URL of `stream`.
pub fn fcos_stream_url(stream: &str) -> String {
    format!("https://builds.coreos.fedoraproject.org/streams/{stream}.json")
}

/// The qemu qcow2.xz artifact of `arch` in a Fedora CoreOS stream file.
pub fn parse_fcos_stream(url: &str, json: &str, arch: &str) -> Result<Artifact, SourceError> {
    let v: Value = serde_json::from_str(json).map_err(|e| SourceError::NotJson {
        url: url.into(),
        why: e.to_string(),
    })?;
    let qemu_path = ["architectures", arch, "artifacts", "qemu"];
    let disk_path = [&qemu_path[..], &["formats", "qcow2.xz", "disk"]].concat();
    let string = |path: &[&str]| -> Result<String, SourceError> {
        path.iter()
            .try_fold(&v, |node, key| node.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| SourceError::Missing {
                url: url.into(),
                path: dotted(path),
            })
    };
    let release = string(&[&qemu_path[..], &["release"]].concat())?;
    let location = string(&[&disk_path[..], &["location"]].concat())?;
    let sha = string(&[&disk_path[..], &["sha256"]].concat())?;
    let unsha = string(&[&disk_path[..], &["uncompressed-sha256"]].concat())?;
    let digest = |what: &str, hex: &str| {
        Digest::parse(Algo::Sha256, hex).ok_or_else(|| SourceError::BadDigest {
            url: url.into(),
            what: what.into(),
            algo: "sha256",
            value: hex.into(),
        })
    };
    let digest_of_file = digest("sha256", &sha)?;
    let uncompressed = digest("uncompressed-sha256", &unsha)?;
    Ok(Artifact {
        volume: default_volume(&location),
        xz: location.ends_with(".xz"),
        location,
        digest: Some(digest_of_file),
        uncompressed_sha256: Some(uncompressed.hex),
        release: Some(release),
    })
}

fn dotted(path: &[&str]) -> String {
    path.iter()
        .map(|k| {
            if k.contains('.') {
                format!("[\"{k}\"]")
            } else {
                format!(".{k}")
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .replace(".[", "[")
}

/// The file name of Flatcar's qemu image.
pub const FLATCAR_IMAGE: &str = "flatcar_production_qemu_image.img";

/// The public base URL of a Flatcar channel's current release for `arch`
/// (`amd64`, `arm64`), ending in `/`.
pub fn flatcar_base_url(channel: &str, arch: &str) -> String {
    format!("https://{channel}.release.flatcar-linux.net/{arch}-usr/current/")
}

/// Flatcar's name for a machine architecture (`x86_64` -> `amd64`).
pub fn flatcar_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The release in a Flatcar `version.txt`.
pub fn parse_flatcar_version(url: &str, text: &str) -> Result<String, SourceError> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("FLATCAR_VERSION="))
        .map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| SourceError::NoVersion { url: url.into() })
}

/// The strongest digest of `file` in a `DIGESTS` file: SHA256 if it has
/// one, else SHA512 (what Flatcar's have).
pub fn parse_digests(url: &str, text: &str, file: &str) -> Result<Digest, SourceError> {
    let mut algo = None;
    let mut found = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(head) = line.strip_prefix('#') {
            algo = match head.trim().to_ascii_uppercase().as_str() {
                "SHA256 HASH" => Some(Algo::Sha256),
                "SHA512 HASH" => Some(Algo::Sha512),
                _ => None,
            };
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(hex), Some(name), Some(a)) = (words.next(), words.next(), algo) else {
            continue;
        };
        if name.trim_start_matches('*') == file {
            found.extend(Digest::parse(a, hex));
        }
    }
    let pick = |a| found.iter().find(|d| d.algo == a).cloned();
    pick(Algo::Sha256)
        .or_else(|| pick(Algo::Sha512))
        .ok_or_else(|| SourceError::NoDigest {
            url: url.into(),
            file: file.into(),
        })
}

/// A Flatcar qemu image of `release` at `base` (ending in `/`).
pub fn flatcar_artifact(base: &str, release: &str, arch: &str, digest: Digest) -> Artifact {
    Artifact {
        location: format!("{base}{FLATCAR_IMAGE}"),
        digest: Some(digest),
        uncompressed_sha256: None,
        release: Some(release.into()),
        volume: format!("flatcar-{release}-qemu.{arch}.qcow2"),
        xz: false,
    }
}

/// The volume an image file gets by default: its file name, without
/// `.xz` (`fedora-coreos-41.20240916.1.0-qemu.x86_64.qcow2`).
pub fn default_volume(location: &str) -> String {
    let base = location
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    base.strip_suffix(".xz").unwrap_or(base).to_string()
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
