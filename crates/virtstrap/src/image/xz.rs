//! xz: how long a file is once decompressed (read from its index, no
//! decompression), and a streaming decoder on liblzma, multi-threaded
//! over the file's blocks (`xz -T` and image build pipelines write
//! several), so an upload can be given its exact length before it starts
//! and decompression keeps up with the network and the pool.
//!
//! The index layout follows the .xz file format specification
//! (tukaani.org/xz/xz-file-format.txt): each stream ends with a 12-byte
//! footer (CRC32, Backward Size, Stream Flags, `YZ`), preceded by the
//! index (indicator 0, record count, then per block its unpadded and
//! uncompressed sizes as variable-length integers); streams may be
//! concatenated, with zero padding in multiples of four bytes.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const HEADER_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];
const FOOTER_MAGIC: &[u8] = b"YZ";

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a valid .xz file: {what}"),
    )
}

/// The decompressed length of the .xz file at `path`, summed over every
/// stream's index.
pub fn uncompressed_size(path: &Path) -> io::Result<u64> {
    let mut f = File::open(path)?;
    let mut end = f.metadata()?.len();
    let mut total = 0u64;
    while end > 0 {
        end = skip_padding(&mut f, end)?;
        if end == 0 {
            break;
        }
        let (size, start) = stream_before(&mut f, end)?;
        total = total
            .checked_add(size)
            .ok_or_else(|| bad("sizes overflow"))?;
        end = start;
    }
    Ok(total)
}

fn read_at(f: &mut File, at: u64, len: u64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| bad("index too large"))?;
    let mut buf = vec![0; len];
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(&mut buf)?;
    Ok(buf)
}

/// Where the data ends before the zero padding that ends at `end`.
fn skip_padding(f: &mut File, mut end: u64) -> io::Result<u64> {
    while end >= 4 && read_at(f, end - 4, 4)? == [0; 4] {
        end -= 4;
    }
    Ok(end)
}

/// The uncompressed size of the stream that ends at `end`, and where it
/// starts.
fn stream_before(f: &mut File, end: u64) -> io::Result<(u64, u64)> {
    let footer_at = end.checked_sub(12).ok_or_else(|| bad("too short"))?;
    let footer = read_at(f, footer_at, 12)?;
    if footer.get(10..12) != Some(FOOTER_MAGIC) {
        return Err(bad("no stream footer"));
    }
    let backward = footer
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| bad("short footer"))?;
    let index_len = (u64::from(backward) + 1) * 4;
    let index_at = footer_at
        .checked_sub(index_len)
        .ok_or_else(|| bad("index before the file's start"))?;
    let index = read_at(f, index_at, index_len)?;
    let (uncompressed, blocks) = parse_index(&index)?;
    let start = index_at
        .checked_sub(blocks + 12)
        .ok_or_else(|| bad("blocks before the file's start"))?;
    if read_at(f, start, 6)? != HEADER_MAGIC {
        return Err(bad("no stream header where the index says"));
    }
    Ok((uncompressed, start))
}

/// The index's total uncompressed size and the blocks' total (padded)
/// compressed size.
fn parse_index(index: &[u8]) -> io::Result<(u64, u64)> {
    let mut pos = 0usize;
    if index.first() != Some(&0) {
        return Err(bad("no index indicator"));
    }
    pos += 1;
    let records = varint(index, &mut pos)?;
    let (mut uncompressed, mut blocks) = (0u64, 0u64);
    for _ in 0..records {
        let unpadded = varint(index, &mut pos)?;
        let size = varint(index, &mut pos)?;
        blocks = blocks
            .checked_add(unpadded.div_ceil(4) * 4)
            .ok_or_else(|| bad("sizes overflow"))?;
        uncompressed = uncompressed
            .checked_add(size)
            .ok_or_else(|| bad("sizes overflow"))?;
    }
    Ok((uncompressed, blocks))
}

fn varint(buf: &[u8], pos: &mut usize) -> io::Result<u64> {
    let mut value = 0u64;
    for i in 0..9 {
        let byte = *buf.get(*pos).ok_or_else(|| bad("index cut short"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(bad("integer too long in the index"))
}

/// A streaming decoder of the .xz file at `path`, on `threads` threads
/// (liblzma decodes a file of several blocks in parallel).
pub fn decoder(path: &Path, threads: u32) -> io::Result<impl Read + Send> {
    let file = BufReader::with_capacity(1 << 20, File::open(path)?);
    let stream = liblzma::stream::MtStreamBuilder::new()
        .threads(threads.max(1))
        .memlimit_stop(u64::MAX)
        .decoder()
        .map_err(io::Error::other)?;
    Ok(liblzma::bufread::XzDecoder::new_stream(file, stream))
}

/// The first `n` bytes of what `path` holds, decompressed when `xz`.
pub fn head(path: &Path, xz: bool, n: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    if xz {
        let plain = liblzma::read::XzDecoder::new(File::open(path)?);
        plain.take(n as u64).read_to_end(&mut out)?;
    } else {
        File::open(path)?.take(n as u64).read_to_end(&mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn compress(data: &[u8], block: u64) -> Vec<u8> {
        let stream = liblzma::stream::MtStreamBuilder::new()
            .threads(2)
            .block_size(block)
            .preset(1)
            .encoder()
            .expect("encoder");
        let mut out = Vec::new();
        let mut e = liblzma::write::XzEncoder::new_stream(&mut out, stream);
        e.write_all(data).expect("compress");
        e.finish().expect("finish");
        out
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i * 7 % 251) as u8 ^ (i >> 12) as u8)
            .collect()
    }

    #[test]
    fn size_from_the_index_of_one_or_many_blocks_and_streams() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = sample(3 << 20);
        let one = compress(&data, 0);
        let many = compress(&data, 1 << 20);
        let mut two_streams = many.clone();
        two_streams.extend([0u8; 8]);
        two_streams.extend(compress(&data[..1000], 0));
        two_streams.extend([0u8; 4]);
        let cases = [
            (one, 3 << 20),
            (many.clone(), 3 << 20),
            (two_streams, 1000 + (3 << 20)),
        ];
        for (bytes, want) in cases {
            let p = dir.path().join("x.xz");
            std::fs::write(&p, &bytes).expect("write");
            assert_eq!(uncompressed_size(&p).expect("size"), want);
        }
        // and the decoder gives the bytes back, on two threads
        let p = dir.path().join("m.xz");
        std::fs::write(&p, &many).expect("write");
        let mut back = Vec::new();
        decoder(&p, 2)
            .expect("decoder")
            .read_to_end(&mut back)
            .expect("decode");
        assert!(back == data, "round trip");
        assert_eq!(head(&p, true, 4).expect("head"), data[..4]);
    }

    #[test]
    fn not_xz_is_invalid_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.xz");
        std::fs::write(&p, b"QFI\xfb plus some bytes that are not xz").expect("write");
        let e = uncompressed_size(&p).expect_err("not xz");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
