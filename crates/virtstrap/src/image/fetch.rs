//! Downloads into the cache, resumable and verified: a file is fetched
//! into `<name>.part`; a cut transfer goes on with an HTTP `Range`
//! request, in the same run (a few retries, short backoff) and in the
//! next one (the `.part` stays); a server that ignores the Range (200,
//! not 206) restarts it from zero. The digest is checked before the file
//! takes its final name, so a file under its final name is whole and
//! verified, and is reused without a download (its digest checked once
//! more, locally: a file damaged since is fetched again).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::progress::{human, Progress};
use super::source::Digest;
use super::{Hasher, ImageError};

/// The HTTP side of `image pull`.
pub struct Fetcher {
    agent: ureq::Agent,
    /// Retries of a cut download within one run.
    pub retries: u32,
    /// The first retry's wait (doubled each time).
    pub backoff: Duration,
    /// Print no progress.
    pub quiet: bool,
    /// Set to stop a download (Ctrl-C): its `.part` is kept for the next
    /// run.
    pub stop: Arc<AtomicBool>,
}

/// A file in the cache.
#[derive(Debug)]
pub struct Cached {
    /// Its path.
    pub path: PathBuf,
    /// Whether this run downloaded (some of) it.
    pub downloaded: bool,
}

/// How one request of a download ended.
enum Attempt {
    /// Every byte is in the `.part`.
    Done,
    /// Cut short: worth another request.
    Cut(String),
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Fetcher {
    /// A client with TLS (rustls, verified against the system's trust
    /// store, as curl does: a CA a site's admin added is trusted too),
    /// HTTP status codes handled here, and timeouts that end a stalled
    /// connection but not a slow, moving one.
    pub fn new() -> Self {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("virtstrap/", env!("CARGO_PKG_VERSION")))
            .build();
        Fetcher {
            agent: config.into(),
            retries: 5,
            backoff: Duration::from_millis(200),
            quiet: false,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A small text document (stream metadata, a DIGESTS file).
    pub fn text(&self, url: &str) -> Result<String> {
        let mut resp = self
            .agent
            .get(url)
            .call()
            .with_context(|| format!("fetching {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            bail!("fetching {url}: HTTP {status}");
        }
        resp.body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .with_context(|| format!("reading {url}"))
    }

    /// The file at `url`, in `cache` under a name made of its digest and
    /// `file_name` (so two images never share one), downloaded unless it
    /// is there already.
    pub fn to_cache(
        &self,
        url: &str,
        digest: &Digest,
        cache: &Path,
        file_name: &str,
    ) -> Result<Cached> {
        let path = cache.join(format!("{}-{}-{file_name}", digest.algo.name(), digest.hex));
        if path.is_file() {
            // checked again (one read, no network): a cached file damaged
            // since would otherwise fail every pull
            if digest_of(&path, digest.algo).ok().as_deref() == Some(digest.hex.as_str()) {
                return Ok(Cached {
                    path,
                    downloaded: false,
                });
            }
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the damaged {}", path.display()))?;
        }
        std::fs::create_dir_all(cache)
            .with_context(|| format!("creating the cache {}", cache.display()))?;
        let part = PathBuf::from(format!("{}.part", path.display()));
        self.download(url, &part, digest, file_name)?;
        std::fs::rename(&part, &path)
            .with_context(|| format!("renaming {} into place", part.display()))?;
        Ok(Cached {
            path,
            downloaded: true,
        })
    }

    fn download(&self, url: &str, part: &Path, digest: &Digest, name: &str) -> Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .mode(0o600)
            .open(part)
            .with_context(|| format!("opening {}", part.display()))?;
        let mut hasher = Hasher::new(digest.algo);
        let mut have = hash_file(&mut file, &mut hasher)
            .with_context(|| format!("reading {}", part.display()))?;
        let mut progress = Progress::new(&format!("downloading {name}"), None, have, self.quiet);
        if have > 0 {
            progress.note(&format!("resuming {name} at byte {have}"));
        }
        let mut tries = 0;
        loop {
            let state = Transfer {
                stop: &self.stop,
                file: &mut file,
                hasher: &mut hasher,
                have: &mut have,
                progress: &mut progress,
            };
            match self.request(url, state)? {
                Attempt::Done => break,
                Attempt::Cut(why) if tries < self.retries => {
                    tries += 1;
                    progress.note(&format!(
                        "download of {name} cut at {} ({why}); resuming, retry {tries} of {}",
                        human(have),
                        self.retries
                    ));
                    std::thread::sleep(self.backoff * 2u32.pow(tries - 1));
                }
                Attempt::Cut(why) => bail!(
                    "downloading {url}: cut at byte {have} ({why}), {} retries failed; \
                     run the same command again to resume from there",
                    self.retries
                ),
            }
        }
        progress.finish();
        let got = hasher.finish();
        if got != digest.hex {
            let _ = std::fs::remove_file(part);
            return Err(ImageError::Checksum {
                what: format!("{url} ({have} bytes)"),
                algo: digest.algo.name(),
                want: digest.hex.clone(),
                got,
            }
            .into());
        }
        Ok(())
    }

    /// One GET, from `have` on; appends what arrives.
    fn request(&self, url: &str, mut t: Transfer<'_>) -> Result<Attempt> {
        let mut req = self.agent.get(url);
        if *t.have > 0 {
            req = req.header("Range", format!("bytes={}-", *t.have));
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(e) if transient(&e) => return Ok(Attempt::Cut(e.to_string())),
            Err(e) => return Err(e).with_context(|| format!("downloading {url}")),
        };
        let status = resp.status().as_u16();
        let length = header_u64(&resp, "content-length");
        match status {
            206 if range_start(&resp) == Some(*t.have) => {}
            200 | 206 | 416 => {
                // a server that ignored the Range, answered another one, or
                // finds the .part longer than the file: from zero
                t.restart()?;
                if status != 200 {
                    return Ok(Attempt::Cut(format!("HTTP {status} to a Range request")));
                }
            }
            _ => bail!("downloading {url}: HTTP {}", resp.status()),
        }
        let total = length.map(|l| *t.have + l);
        t.progress.set_total(total);
        let body = resp.into_body().into_reader();
        t.copy(body, total)
    }
}

struct Transfer<'a> {
    stop: &'a AtomicBool,
    file: &'a mut File,
    hasher: &'a mut Hasher,
    have: &'a mut u64,
    progress: &'a mut Progress,
}

impl Transfer<'_> {
    fn restart(&mut self) -> Result<()> {
        self.file.set_len(0).context("emptying the .part file")?;
        *self.hasher = Hasher::new(self.hasher.algo());
        *self.have = 0;
        self.progress.reset(0);
        Ok(())
    }

    /// Append the body; `Cut` when it ends before `total`.
    fn copy(self, mut body: impl Read, total: Option<u64>) -> Result<Attempt> {
        let mut buf = vec![0u8; 256 << 10];
        loop {
            if self.stop.load(Ordering::SeqCst) {
                bail!(
                    "interrupted at byte {} (kept: run the same command again to resume)",
                    *self.have
                );
            }
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if lasting(&e) => return Err(e).context("reading the download"),
                Err(e) => return Ok(Attempt::Cut(e.to_string())),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            self.file
                .write_all(chunk)
                .context("writing the .part file")?;
            self.hasher.update(chunk);
            *self.have += n as u64;
            self.progress.inc(n as u64);
        }
        match total {
            Some(t) if *self.have < t => Ok(Attempt::Cut(format!(
                "the connection closed at byte {} of {t}",
                *self.have
            ))),
            _ => Ok(Attempt::Done),
        }
    }
}

/// An error another request may not meet (a cut connection, a timeout),
/// unlike a refused certificate or a malformed answer.
fn transient(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Io(io) => !lasting(io),
        ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed => true,
        _ => false,
    }
}

/// An I/O error that retrying will not cure: TLS (rustls reports a bad
/// certificate as invalid data), permissions, bad input.
fn lasting(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput
    )
}

fn header_u64(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The first byte of a 206's `Content-Range: bytes START-END/TOTAL`.
fn range_start(resp: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    let v = resp.headers().get("content-range")?.to_str().ok()?;
    parse_range_start(v)
}

fn parse_range_start(v: &str) -> Option<u64> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

/// Feed the whole file to `hasher`; its length.
fn hash_file(file: &mut File, hasher: &mut Hasher) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let got = file.read(&mut buf)?;
        if got == 0 {
            return Ok(n);
        }
        hasher.update(buf.get(..got).unwrap_or_default());
        n += got as u64;
    }
}

/// The digest of a local file, hex.
pub fn digest_of(path: &Path, algo: super::source::Algo) -> io::Result<String> {
    let mut h = Hasher::new(algo);
    hash_file(&mut File::open(path)?, &mut h)?;
    Ok(h.finish())
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
