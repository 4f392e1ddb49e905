//! Embedding file contents in `data:` URLs, as Butane's `MakeDataURL` does.
//!
//! Three encodings are tried and the shortest wins: URL-escaped (good for
//! text), base64 (small or binary data), and gzip+base64 (compressible
//! data; only when the user did not set `compression` already). Ties keep
//! the earlier encoding. See Butane's `base/util/url.go`.

use std::io::Write;

use base64::Engine;
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

/// The URL and the `compression` value the resource must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataUrl {
    /// The `data:` URL.
    pub url: String,
    /// `Some("")` or `Some("gzip")` to set the resource's compression;
    /// `None` when the user set compression and it must stay as it is.
    pub compression: Option<&'static str>,
}

/// Build the shortest data URL for `contents`. `current` is the
/// resource's `compression` as the user wrote it; `allow_gzip` is false
/// only when automatic compression is turned off.
pub fn make(contents: &[u8], current: Option<&str>, allow_gzip: bool) -> DataUrl {
    let user_compressed = current.is_some_and(|c| !c.is_empty());
    let mut compression = if user_compressed { None } else { Some("") };
    let escaped = escape(contents);
    let b64 = base64::engine::general_purpose::STANDARD.encode(contents);
    let mut opaque = if b64.len() + 8 < escaped.len() + 1 {
        format!(";base64,{b64}")
    } else {
        format!(",{escaped}")
    };
    if !user_compressed && allow_gzip {
        let gz = gzip(contents);
        let gz64 = base64::engine::general_purpose::STANDARD.encode(gz);
        // ";base64," + data, plus the length of the "gzip" value it costs
        if 8 + gz64.len() + 4 < opaque.len() {
            opaque = format!(";base64,{gz64}");
            compression = Some("gzip");
        }
    }
    DataUrl {
        url: format!("data:{opaque}"),
        compression,
    }
}

/// The URL-escaped form alone (`data:,` + escape), as Butane's oldest
/// spec (fcos 1.0.0) writes inline contents.
pub fn escaped_url(contents: &[u8]) -> String {
    format!("data:,{}", escape(contents))
}

fn gzip(contents: &[u8]) -> Vec<u8> {
    let mut enc: GzEncoder<Vec<u8>> = GzBuilder::new()
        .operating_system(255)
        .write(Vec::with_capacity(contents.len() / 2 + 32), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(contents);
    enc.finish().unwrap_or_default()
}

/// RFC 2396 escaping as the Go `dataurl` package does it: unreserved
/// characters stay, every other byte becomes `%XX`.
pub fn escape(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(data.len() + data.len() / 4);
    for &b in data {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_url_escaped() {
        let d = make(b"br_netfilter", None, true);
        assert_eq!(d.url, "data:,br_netfilter");
        assert_eq!(d.compression, Some(""));
    }

    #[test]
    fn escapes_like_go_dataurl() {
        assert_eq!(escape(b"a b\n/~*'()!"), "a%20b%0A%2F~*'()!");
    }

    #[test]
    fn binary_prefers_base64() {
        let data: Vec<u8> = (0u8..=255).collect();
        let d = make(&data, None, false);
        assert!(d.url.starts_with("data:;base64,"), "{}", d.url);
    }

    #[test]
    fn compressible_data_is_gzipped() {
        let data = "repeat me\n".repeat(200);
        let d = make(data.as_bytes(), None, true);
        assert_eq!(d.compression, Some("gzip"));
        let d = make(data.as_bytes(), Some("gzip"), true);
        assert_eq!(d.compression, None, "user compression is kept");
        assert!(!d.url.contains("H4sI"), "not compressed again: {}", d.url);
    }
}
