//! `image pull` as one flow over a [`Backend`]: a stale half image left
//! by a killed pull is cleared; a volume already under the name is
//! compared, never overwritten; otherwise the verified file is streamed
//! into a new volume between a marker's creation and its removal, and
//! anything that fails on the way takes the new volume with it.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::apply::lock::{describe, with_lock, LockError, LockOptions};
use crate::libvirt::Backend;

use super::fetch::{digest_of, Fetcher};
use super::progress::Progress;
use super::source::{Artifact, Digest};
use super::upload::{volume_sha256, Payload};
use super::ImageError;

/// What a volume under construction is flagged with: it exists from
/// before the image's volume is made until its upload is whole and
/// checked, so a pull killed in between (kill -9, a lost host) leaves a
/// sign, and the next pull deletes the half image and does it again.
pub const MARKER_SUFFIX: &str = ".virtstrap-partial";

/// One pull.
#[derive(Clone, Debug)]
pub struct Request {
    /// The image.
    pub artifact: Artifact,
    /// Whether `artifact.location` is a local file.
    pub local: bool,
    /// The pool.
    pub pool: String,
    /// The volume name (`None`: the image's default).
    pub name: Option<String>,
    /// The download cache.
    pub cache: PathBuf,
    /// Print no progress.
    pub quiet: bool,
    /// How long to wait for another pull of the same volume to end.
    pub lock_wait: Duration,
    /// Set to stop (Ctrl-C, or the lock lost): a download keeps its
    /// `.part`, an upload deletes what it made.
    pub stop: Arc<AtomicBool>,
}

/// What a pull did.
#[derive(Clone, Debug)]
pub struct Pulled {
    /// The pool.
    pub pool: String,
    /// The volume.
    pub volume: String,
    /// The OS release, where known.
    pub release: Option<String>,
    /// The digest of the file fetched (or given).
    pub digest: Option<Digest>,
    /// The sha256 of the image's bytes (the volume's).
    pub uncompressed_sha256: String,
    /// The volume's length in bytes, where known.
    pub bytes: Option<u64>,
    /// The volume was there already, with these bytes.
    pub already_there: bool,
    /// Something was downloaded.
    pub downloaded: bool,
    /// A half image a killed pull left was deleted first.
    pub cleared_stale: bool,
}

/// Pull `req` into its pool through `backend`, holding a lock on the
/// host for that volume (the cluster lock's kind, [`with_lock`]): two
/// pulls of one volume never interleave, so a marker is always a dead
/// pull's, and the second pull finds the first's image already there.
pub fn pull(backend: &dyn Backend, fetcher: &Fetcher, req: &Request) -> Result<Pulled> {
    let volume = req
        .name
        .clone()
        .unwrap_or_else(|| req.artifact.volume.clone());
    check_volume_name(&volume)?;
    check_pool(backend, &req.pool)?;
    let quiet = req.quiet;
    let notify = move |m: &str| {
        if !quiet {
            eprintln!("{}", m.replace("cluster lock", "image pull lock"));
        }
    };
    let opts = LockOptions {
        timeout: Some(req.lock_wait),
        force: false,
    };
    let key = format!("image-{}-{volume}", req.pool);
    let locked = with_lock(
        backend,
        &key,
        "image pull",
        opts,
        &req.stop,
        &notify,
        || pull_locked(backend, fetcher, req, volume.clone()),
    );
    match locked {
        Ok(pulled) => pulled,
        Err(LockError::Held { holder, .. }) => Err(anyhow::anyhow!(
            "another image pull of {}/{volume} is still running after {} s: {}; wait \
             for it to end, then run this again",
            req.pool,
            req.lock_wait.as_secs(),
            describe(&holder)
        )),
        Err(e) => Err(e.into()),
    }
}

fn pull_locked(
    backend: &dyn Backend,
    fetcher: &Fetcher,
    req: &Request,
    volume: String,
) -> Result<Pulled> {
    let cleared_stale = clear_stale(backend, &req.pool, &volume)?;
    let mut out = Pulled {
        pool: req.pool.clone(),
        volume,
        release: req.artifact.release.clone(),
        digest: req.artifact.digest.clone(),
        uncompressed_sha256: String::new(),
        bytes: None,
        already_there: false,
        downloaded: false,
        cleared_stale,
    };
    let exists = backend.volume(&req.pool, &out.volume)?.is_some();
    if let (true, Some(want)) = (exists, &req.artifact.uncompressed_sha256) {
        // decided before any download
        out.uncompressed_sha256 = want.clone();
        return compare_existing(backend, out, None);
    }
    let (path, downloaded) = obtain(fetcher, req)?;
    out.downloaded = downloaded;
    let payload = Payload::open(&path, req.artifact.xz)?;
    out.bytes = Some(payload.len);
    if exists {
        out.uncompressed_sha256 = payload.sha256()?;
        return compare_existing(backend, out, Some(payload.len));
    }
    if !payload.is_qcow2()? {
        return Err(ImageError::Refused(format!(
            "{} is not a qcow2 image: virtstrap's root disks are qcow2 overlays on a qcow2 \
             base (convert it first: qemu-img convert -O qcow2 IN OUT.qcow2); nothing was \
             put in a pool",
            req.artifact.location
        ))
        .into());
    }
    out.uncompressed_sha256 = upload_new(backend, req, &out.volume, &payload)?;
    Ok(out)
}

/// The verified file: the local one, or the cache's copy of the URL.
fn obtain(fetcher: &Fetcher, req: &Request) -> Result<(PathBuf, bool)> {
    let a = &req.artifact;
    if req.local {
        let path = PathBuf::from(&a.location);
        if let Some(d) = &a.digest {
            let got =
                digest_of(&path, d.algo).with_context(|| format!("reading {}", a.location))?;
            if got != d.hex {
                return Err(ImageError::Checksum {
                    what: a.location.clone(),
                    algo: d.algo.name(),
                    want: d.hex.clone(),
                    got,
                }
                .into());
            }
        }
        return Ok((path, false));
    }
    let digest = a
        .digest
        .as_ref()
        .context("a URL needs a digest to check it by")?;
    let name = super::source::default_volume(&a.location);
    let name = if a.xz { format!("{name}.xz") } else { name };
    let cached = fetcher.to_cache(&a.location, digest, &req.cache, &name)?;
    Ok((cached.path, cached.downloaded))
}

fn check_volume_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        && !name.ends_with(MARKER_SUFFIX);
    if ok {
        return Ok(());
    }
    Err(ImageError::Refused(format!(
        "volume name {name:?}: use letters, digits and . _ - + only (and not a leading dot); \
         pick one with --name"
    ))
    .into())
}

fn check_pool(backend: &dyn Backend, pool: &str) -> Result<()> {
    match backend.pool(pool)? {
        Some(p) if p.active => Ok(()),
        Some(_) => Err(ImageError::Refused(format!(
            "pool {pool} is not running: start it (virsh pool-start {pool}) or pick another \
             with --pool"
        ))
        .into()),
        None => Err(ImageError::Refused(format!(
            "no pool {pool} on this host: pick one with --pool (virsh pool-list --all), or \
             make it (a spec's pools: list does)"
        ))
        .into()),
    }
}

/// Delete the half image a killed pull left (its marker tells); whether
/// there was one.
fn clear_stale(backend: &dyn Backend, pool: &str, volume: &str) -> Result<bool> {
    let marker = format!("{volume}{MARKER_SUFFIX}");
    if backend.volume(pool, &marker)?.is_none() {
        return Ok(false);
    }
    if backend.volume(pool, volume)?.is_some() {
        backend.delete_volume(pool, volume).with_context(|| {
            format!("deleting the half image {pool}/{volume} a killed pull left")
        })?;
    }
    backend.delete_volume(pool, &marker)?;
    Ok(true)
}

/// The volume under the name already: the same bytes are "already
/// there"; others are a clash, left untouched.
fn compare_existing(backend: &dyn Backend, mut out: Pulled, len: Option<u64>) -> Result<Pulled> {
    let (pool, name) = (&out.pool, &out.volume);
    let state = backend.volume(pool, name)?;
    let physical = state.as_ref().and_then(|s| xml_number(&s.xml, "physical"));
    let sized_apart = matches!((len, physical), (Some(l), Some(p)) if l != p);
    let same = !sized_apart && {
        let (sha, n) = volume_sha256(backend, pool, name)?;
        out.bytes = Some(n);
        sha == out.uncompressed_sha256
    };
    if same {
        out.already_there = true;
        return Ok(out);
    }
    let free = free_name(backend, pool, name)?;
    Err(ImageError::Refused(format!(
        "volume {pool}/{name} already exists with other content, and virtstrap never \
         overwrites a volume: it was left as it is. Pull under another name (--name {free}), \
         or delete it first (virsh vol-delete --pool {pool} {name}) if nothing uses it"
    ))
    .into())
}

/// `name` with the first free `-N` before its extension.
fn free_name(backend: &dyn Backend, pool: &str, name: &str) -> Result<String> {
    let taken = backend.volumes(pool)?;
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    let free = (2..)
        .map(|n| format!("{stem}-{n}{ext}"))
        .find(|c| !taken.contains(c) && !taken.contains(&format!("{c}{MARKER_SUFFIX}")))
        .unwrap_or_default();
    Ok(free)
}

/// `<tag unit='bytes'>N</tag>` in a volume's XML.
fn xml_number(xml: &str, tag: &str) -> Option<u64> {
    let start = xml.find(&format!("<{tag}"))?;
    let rest = xml.get(start..)?;
    let open_end = rest.find('>')?;
    let close = rest.find(&format!("</{tag}>"))?;
    rest.get(open_end + 1..close)?.trim().parse().ok()
}

/// The `<format type='...'/>` of a volume's XML.
fn xml_format(xml: &str) -> Option<String> {
    let at = xml.find("<format type=")? + "<format type=".len();
    let rest = xml.get(at..)?;
    let quote = rest.chars().next()?;
    let inner = rest.get(1..)?;
    Some(inner.get(..inner.find(quote)?)?.to_string())
}

fn raw_volume_xml(name: &str, capacity: u64) -> String {
    format!(
        "<volume><name>{name}</name><capacity unit='bytes'>{capacity}</capacity>\
         <allocation unit='bytes'>0</allocation><target><format type='raw'/></target></volume>"
    )
}

/// Marker, volume, upload, checks, marker gone; on any failure the new
/// volume and the marker are deleted. The sha256 of the bytes uploaded.
fn upload_new(backend: &dyn Backend, req: &Request, name: &str, p: &Payload) -> Result<String> {
    let pool = &req.pool;
    let marker = format!("{name}{MARKER_SUFFIX}");
    backend
        .create_volume(pool, &raw_volume_xml(&marker, 0))
        .with_context(|| format!("creating the marker volume {pool}/{marker}"))?;
    let mut created = false;
    let result = (|| {
        backend
            .create_volume(pool, &raw_volume_xml(name, p.len))
            .with_context(|| format!("creating volume {pool}/{name}"))?;
        created = true;
        let label = format!("uploading into {pool}/{name}");
        let mut progress = Progress::new(&label, Some(p.len), 0, req.quiet);
        let got = p.upload(backend, pool, name, &mut progress, &req.stop)?;
        if let Some(want) = &req.artifact.uncompressed_sha256 {
            if &got != want {
                return Err(ImageError::Checksum {
                    what: format!("the decompressed image of {}", req.artifact.location),
                    algo: "sha256",
                    want: want.clone(),
                    got,
                }
                .into());
            }
        }
        wait_for_qcow2(backend, pool, name)?;
        Ok(got)
    })();
    match result {
        Ok(got) => {
            backend
                .delete_volume(pool, &marker)
                .with_context(|| format!("deleting the marker volume {pool}/{marker}"))?;
            Ok(got)
        }
        Err(e) => {
            if created {
                let _ = backend.delete_volume(pool, name);
            }
            let _ = backend.delete_volume(pool, &marker);
            Err(e)
        }
    }
}

/// libvirt re-reads a volume after an upload; wait for it to show the
/// qcow2 format, refreshing the pool if it does not, or fail. A pool with
/// other uploads or builds running refuses a refresh (and skips its own),
/// so a refused refresh is retried for a while; a refresh that went
/// through and still shows another format is a failure at once.
fn wait_for_qcow2(backend: &dyn Backend, pool: &str, name: &str) -> Result<()> {
    let mut seen = None;
    let mut refused = None;
    for attempt in 0..300 {
        let state = backend.volume(pool, name)?;
        seen = state.and_then(|s| xml_format(&s.xml));
        if seen.as_deref() == Some("qcow2") {
            return Ok(());
        }
        if attempt % 10 == 5 {
            match backend.refresh_pool(pool) {
                Ok(()) => {
                    let state = backend.volume(pool, name)?;
                    seen = state.and_then(|s| xml_format(&s.xml));
                    if seen.as_deref() == Some("qcow2") {
                        return Ok(());
                    }
                    refused = None;
                    break;
                }
                Err(e) => refused = Some(e.to_string()),
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let why = match refused {
        Some(e) => format!("the pool could not be refreshed for 30 s: {e}"),
        None => format!("libvirt sees {}", seen.as_deref().unwrap_or("no format")),
    };
    anyhow::bail!(
        "volume {pool}/{name} does not read as qcow2 after its upload ({why}); it was deleted"
    )
}

#[cfg(test)]
#[path = "pull_tests.rs"]
mod tests;
