//! The pool side of `image pull`: a verified file streamed into a new
//! volume through the [`Backend`]'s storage upload, decompressed in one
//! thread (liblzma's own workers under it) while another hashes and
//! sends, so the cores work side by side; and a volume's bytes hashed
//! back (storage download) to tell "already there" from a clash.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::{Context, Result};

use crate::libvirt::Backend;

use super::progress::Progress;
use super::source::Algo;
use super::{xz, Hasher};

/// How much the decompressing thread hands over at a time.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the two threads.
const IN_FLIGHT: usize = 8;

/// What goes into a pool: a file, xz-compressed or not, and its length
/// once decompressed.
#[derive(Clone, Debug)]
pub struct Payload {
    /// The file.
    pub path: PathBuf,
    /// Whether it is xz.
    pub xz: bool,
    /// The image's length in bytes (decompressed).
    pub len: u64,
}

impl Payload {
    /// The file at `path`; its image length read from the xz index, or
    /// its size.
    pub fn open(path: &Path, xz: bool) -> Result<Payload> {
        let len = if xz {
            xz::uncompressed_size(path)
        } else {
            std::fs::metadata(path).map(|m| m.len())
        }
        .with_context(|| format!("reading {}", path.display()))?;
        Ok(Payload {
            path: path.to_path_buf(),
            xz,
            len,
        })
    }

    /// Whether the image is a qcow2 (its magic, `QFI\xfb`).
    pub fn is_qcow2(&self) -> Result<bool> {
        let head = xz::head(&self.path, self.xz, 4)
            .with_context(|| format!("reading {}", self.path.display()))?;
        Ok(head == b"QFI\xfb")
    }

    /// The image's bytes, in chunks, from a thread of their own.
    fn chunks<'s>(&self, scope: &'s std::thread::Scope<'s, '_>) -> Receiver<io::Result<Vec<u8>>> {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (path, is_xz) = (self.path.clone(), self.xz);
        scope.spawn(move || {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let source: io::Result<Box<dyn Read>> = if is_xz {
                let threads = u32::try_from(threads).unwrap_or(1);
                xz::decoder(&path, threads).map(|d| Box::new(d) as Box<dyn Read>)
            } else {
                std::fs::File::open(&path).map(|f| Box::new(f) as Box<dyn Read>)
            };
            match source {
                Ok(r) => produce(r, &tx),
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        rx
    }

    /// The sha256 of the image's bytes (decompressing, uploading nothing).
    pub fn sha256(&self) -> Result<String> {
        std::thread::scope(|s| {
            let mut r = Chunks::new(self.chunks(s), None);
            io::copy(&mut r, &mut io::sink())
                .with_context(|| format!("reading {}", self.path.display()))?;
            Ok(r.hasher.finish())
        })
    }

    /// Stream the image into the existing volume `pool/name`; the sha256
    /// of the bytes sent.
    /// Stops with an error, the upload cut, once `stop` is set.
    pub fn upload(
        &self,
        backend: &dyn Backend,
        pool: &str,
        name: &str,
        progress: &mut Progress,
        stop: &AtomicBool,
    ) -> Result<String> {
        std::thread::scope(|s| {
            let mut r = Chunks::new(self.chunks(s), Some(progress));
            r.stop = Some(stop);
            let sent = backend.upload_volume_from(pool, name, self.len, &mut r);
            // dropped before the scope joins: a producer blocked on a
            // full channel sees it gone and stops
            let hasher = r.finish();
            sent.with_context(|| format!("uploading {} into {pool}/{name}", self.path.display()))?;
            Ok(hasher.finish())
        })
    }
}

/// Read `r` to its end in chunks into `tx` (stopping when no one listens).
fn produce(mut r: Box<dyn Read>, tx: &SyncSender<io::Result<Vec<u8>>>) {
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match r.read(chunk.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            return;
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            return;
        }
    }
}

/// The chunks as one `Read`, hashed (and counted) as they pass.
struct Chunks<'p> {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
    hasher: Hasher,
    progress: Option<&'p mut Progress>,
    stop: Option<&'p AtomicBool>,
}

impl<'p> Chunks<'p> {
    fn new(rx: Receiver<io::Result<Vec<u8>>>, progress: Option<&'p mut Progress>) -> Self {
        Chunks {
            rx,
            chunk: Vec::new(),
            pos: 0,
            hasher: Hasher::new(Algo::Sha256),
            progress,
            stop: None,
        }
    }

    fn finish(self) -> Hasher {
        if let Some(p) = self.progress {
            p.finish();
        }
        self.hasher
    }
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Err(io::Error::other("interrupted"));
        }
        if self.pos >= self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk?;
                    self.pos = 0;
                    self.hasher.update(&self.chunk);
                    if let Some(p) = self.progress.as_deref_mut() {
                        p.inc(self.chunk.len() as u64);
                    }
                }
                Err(_) => return Ok(0),
            }
        }
        let rest = self.chunk.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.pos += n;
        Ok(n)
    }
}

/// A writer that only hashes and counts.
struct HashSink(Hasher);

impl io::Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The sha256 and length of the volume `pool/name`'s bytes (storage
/// download, so it works on remote hosts too).
pub fn volume_sha256(backend: &dyn Backend, pool: &str, name: &str) -> Result<(String, u64)> {
    let mut sink = HashSink(Hasher::new(Algo::Sha256));
    let n = backend
        .download_volume(pool, name, &mut sink)
        .with_context(|| format!("reading volume {pool}/{name} to compare it"))?;
    Ok((sink.0.finish(), n))
}
