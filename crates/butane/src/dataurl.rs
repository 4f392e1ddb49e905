//! Embedding file contents in `data:` URLs, as Butane's `MakeDataURL` does.
//!
//! Three encodings are tried and the shortest wins: URL-escaped (good for
//! text), base64 (small or binary data), and gzip+base64 (compressible
//! data; only when the user did not set `compression` already). Ties keep
//! the earlier encoding. See Butane's `base/util/url.go`.

use std::cell::RefCell;

use base64::Engine;
use flate2::{Compress, Compression, FlushCompress, Status};

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
    // 18 bytes of gzip framing plus at least 2 of deflate: below this
    // length gzip cannot win, so do not try.
    const MIN_GZIP_URL: usize = 8 + 28 + 4;
    if !user_compressed && allow_gzip && opaque.len() > MIN_GZIP_URL {
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

thread_local! {
    // Building a best-compression deflater zeroes large tables; most of a
    // translation's time went there. One per thread, reset before each use
    // but the first (a new one is clean).
    static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
}

/// Gzip `contents` as Go's `gzip.NewWriterLevel(BestCompression)` frames
/// it: a 10-byte header (no name, mtime 0, XFL 2, OS 255), raw deflate,
/// then CRC-32 and length.
fn gzip(contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() / 2 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
    DEFLATE.with(|d| {
        let mut d = d.borrow_mut();
        let d = match d.as_mut() {
            Some(d) => {
                d.reset();
                d
            }
            None => d.insert(Compress::new(Compression::best(), false)),
        };
        loop {
            let consumed = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
            out.reserve(256.max(contents.len() / 4));
            let input = contents.get(consumed..).unwrap_or_default();
            match d.compress_vec(input, &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break,
                Ok(_) => {}
                // compressing into a Vec has no failure mode; stop anyway
                Err(_) => break,
            }
        }
    });
    // A table CRC: crc32fast (flate2's) probes the CPU with cpuid on its
    // first use, which in a VM costs more than this whole checksum.
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    out.extend_from_slice(&CRC32.checksum(contents).to_le_bytes());
    out.extend_from_slice(&(contents.len() as u32).to_le_bytes());
    out
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
    fn gzip_frames_decode() {
        use std::io::Read;
        let data = "some text to compress, some text to compress\n".repeat(50);
        let gz = gzip(data.as_bytes());
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .expect("valid gzip");
        assert_eq!(back, data);
        assert_eq!(gzip(data.as_bytes()), gz, "reset between uses");
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
