//! `image pull`: base images into a pool, before any spec uses them.
//! Where an image is ([`source`]: stream metadata, Flatcar digests, a
//! URL, a file) -> a verified file in the cache ([`fetch`]) -> streamed
//! into a pool volume through libvirt's storage upload, decompressed on
//! the way and checked again ([`upload`]), never leaving half an image
//! nor overwriting a volume ([`pull`]).

use std::path::PathBuf;

use sha2::Digest as _;

pub mod fetch;
pub mod progress;
pub mod pull;
pub mod source;
pub mod upload;
pub mod xz;

use source::Algo;

/// Failures of `image pull` that say what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Bytes are not what they must be.
    #[error(
        "{algo} mismatch for {what}: expected {want}, got {got}; nothing was put in a pool, \
         and a download that does not match is not kept (check the digest given, and that \
         the server or file is the right one)"
    )]
    Checksum {
        /// What was checked.
        what: String,
        /// The algorithm.
        algo: &'static str,
        /// The published digest.
        want: String,
        /// What the bytes hash to.
        got: String,
    },
    /// Bad input or a refusal before anything changed (exit 2).
    #[error("{0}")]
    Refused(String),
}

/// A running hash of one of the algorithms images are published with.
pub enum Hasher {
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hash.
    pub fn new(algo: Algo) -> Self {
        match algo {
            Algo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algo::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Its algorithm.
    pub fn algo(&self) -> Algo {
        match self {
            Hasher::Sha256(_) => Algo::Sha256,
            Hasher::Sha512(_) => Algo::Sha512,
        }
    }

    /// Feed it bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest, lowercase hex.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex(&h.finalize()),
            Hasher::Sha512(h) => hex(&h.finalize()),
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The download cache: `$XDG_CACHE_HOME/virtstrap`, else
/// `~/.cache/virtstrap`, from the two variables given.
pub fn cache_dir(xdg_cache_home: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    let xdg = xdg_cache_home.filter(|x| x.starts_with('/'));
    match (xdg, home.filter(|h| !h.is_empty())) {
        (Some(x), _) => Some(PathBuf::from(x).join("virtstrap")),
        (None, Some(h)) => Some(PathBuf::from(h).join(".cache").join("virtstrap")),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_follows_xdg_then_home() {
        let c = |x, h| cache_dir(x, h).map(|p| p.display().to_string());
        assert_eq!(c(Some("/x"), Some("/h")).as_deref(), Some("/x/virtstrap"));
        // the spec ignores a relative XDG_CACHE_HOME
        assert_eq!(
            c(Some("rel"), Some("/h")).as_deref(),
            Some("/h/.cache/virtstrap")
        );
        assert_eq!(c(None, None), None);
    }

    #[test]
    fn hashes_are_the_known_ones() {
        let mut h = Hasher::new(Algo::Sha256);
        h.update(b"abc");
        assert_eq!(
            h.finish(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut h = Hasher::new(Algo::Sha512);
        h.update(b"abc");
        assert!(h.finish().starts_with("ddaf35a193617aba"));
    }
}
