//! `virtstrap image pull`: flags to a [`Request`], the pull, then what to
//! put in the spec.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use serde_json::json;

use crate::image::fetch::Fetcher;
use crate::image::pull::{pull, Pulled, Request};
use crate::image::source::{self, Algo, Artifact, Digest};
use crate::image::{cache_dir, ImageError};
use crate::libvirt::real::LibvirtBackend;
use crate::session::resolve_uri;

use super::host::Format;
use super::BadInput;

/// Base images: get them into a pool, verified.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Debug, Subcommand)]
enum ImageCommand {
    Pull(PullArgs),
}

/// The OS whose published image to pull.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Os {
    /// Fedora CoreOS (stream metadata)
    Fcos,
    /// Flatcar Container Linux (channel's qemu image and DIGESTS)
    Flatcar,
}

const PULL_LONG: &str = "\
Put a base image into a storage pool as a qcow2 volume, verified, ready for a
spec's `image: { pool, volume }`.

The image comes from one of:
  --os fcos (the default)  the Fedora CoreOS stream's metadata (--stream,
                           --arch; --stream-url for a mirror): its qemu
                           qcow2.xz, checked by sha256 and, decompressed,
                           by its uncompressed-sha256
  --os flatcar             the Flatcar channel's qemu image (--stream is
                           the channel: stable, beta, alpha; --stream-url
                           a mirror of .../<arch>-usr/current/), checked
                           by its DIGESTS file
  --url URL --sha256 HEX   any qcow2 image (xz-compressed if the URL ends
                           in .xz)
  FILE                     a local qcow2 (or .qcow2.xz) file

Downloads go to $XDG_CACHE_HOME/virtstrap (else ~/.cache/virtstrap) and are
checked before anything reaches a pool; a cut download resumes (Range) in
the same run and the next. The upload streams through libvirt (remote hosts
work), decompressing on the way. A failure leaves no volume; a volume of the
same name is never overwritten: the same bytes are \"already there\", other
bytes are refused with a free name to use.

Examples:
  virtstrap image pull
  virtstrap image pull --stream testing --pool bulk
  virtstrap image pull --os flatcar --stream beta
  virtstrap image pull --url https://example.org/os.qcow2.xz --sha256 3f1e...
  virtstrap image pull ./my-image.qcow2 --name my-base.qcow2
  virtstrap image pull --connect qemu+ssh://root@host/system --output json
  virtstrap image pull -f cluster.yaml            (every host of its hosts:)
  virtstrap image pull -f cluster.yaml --host box2";

/// Pull a base image into a pool (Fedora CoreOS, Flatcar, a URL or a file)
#[derive(Debug, ClapArgs)]
#[command(long_about = PULL_LONG)]
pub struct PullArgs {
    /// Local image file (qcow2, or qcow2.xz)
    #[arg(value_name = "FILE", conflicts_with_all = ["url", "os", "stream", "stream_url"])]
    file: Option<std::path::PathBuf>,
    /// The OS to pull [default: fcos]
    #[arg(long, value_enum)]
    os: Option<Os>,
    /// Fedora CoreOS stream (stable, testing, next) or Flatcar channel
    /// (stable, beta, alpha) [default: stable]
    #[arg(long, value_name = "STREAM")]
    stream: Option<String>,
    /// Architecture [default: this machine's]
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// Stream metadata URL (fcos), or the base URL of the current
    /// release (flatcar): a mirror
    #[arg(long, value_name = "URL", conflicts_with = "url")]
    stream_url: Option<String>,
    /// Image URL (needs --sha256)
    #[arg(long, value_name = "URL", requires = "sha256", conflicts_with = "os")]
    url: Option<String>,
    /// sha256 of the file at --url (or of FILE), 64 hex digits
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,
    /// Storage pool
    #[arg(long, value_name = "POOL", default_value = "default")]
    pool: String,
    /// Volume name [default: from the image]
    #[arg(long, value_name = "VOLUME")]
    name: Option<String>,
    /// libvirt URI (default: LIBVIRT_DEFAULT_URI, then the spec's
    /// connect:, then qemu:///system)
    #[arg(short, long, value_name = "URI", conflicts_with = "host")]
    connect: Option<String>,
    /// Cluster spec whose host(s) to pull to: its connect:, or with
    /// hosts: every host it names (or those --host names)
    #[arg(short = 'f', long = "file", value_name = "SPEC")]
    spec: Option<std::path::PathBuf>,
    /// With a spec over several hosts (hosts:), pull to this one only;
    /// repeatable
    #[arg(long, value_name = "NAME", requires = "spec")]
    host: Vec<String>,
    /// text, or json for programs
    #[arg(short, long, value_enum, default_value = "text")]
    output: Format,
}

/// Run the command.
pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        ImageCommand::Pull(p) => run_pull(p).map_err(refusal_is_bad_input),
    }
}

fn refusal_is_bad_input(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<ImageError>() {
        Some(ImageError::Refused(text)) => BadInput(text.clone()).into(),
        _ => e,
    }
}

fn bad(text: String) -> anyhow::Error {
    BadInput(text).into()
}

fn run_pull(a: &PullArgs) -> anyhow::Result<()> {
    let sha = match &a.sha256 {
        Some(hex) => Some(Digest::parse(Algo::Sha256, hex).ok_or_else(|| {
            bad(format!(
                "--sha256 {hex:?} is not a sha256: give the 64 hex digits (sha256sum FILE)"
            ))
        })?),
        None => None,
    };
    if sha.is_some() && a.url.is_none() && a.file.is_none() {
        return Err(bad("--sha256 checks --url or FILE: give one of them".into()));
    }
    let cache = cache_dir(
        std::env::var("XDG_CACHE_HOME").ok().as_deref(),
        std::env::var("HOME").ok().as_deref(),
    )
    .ok_or_else(|| bad("no cache directory: set XDG_CACHE_HOME or HOME".into()))?;
    let mut fetcher = Fetcher::new();
    fetcher.quiet = a.output == Format::Json;
    let (artifact, local) = resolve(a, sha, &fetcher)?;
    let targets = targets(a)?;
    let req = Request {
        artifact,
        local,
        pool: a.pool.clone(),
        name: a.name.clone(),
        cache,
        quiet: a.output == Format::Json,
        lock_wait: std::time::Duration::from_secs(30 * 60),
        stop: Arc::clone(&fetcher.stop),
    };
    stop_on_ctrl_c(&req.stop, req.quiet);
    // one host after another: the first downloads, the others find the
    // file in the cache
    for (host, uri) in &targets {
        let backend = LibvirtBackend::connect(Some(uri)).map_err(|e| match host {
            Some(h) => anyhow::anyhow!(e).context(format!("host {h}")),
            None => e.into(),
        })?;
        let pulled = pull(&backend, &fetcher, &req).map_err(|e| match host {
            Some(h) => e.context(format!("host {h}")),
            None => e,
        })?;
        if let (Some(h), Format::Text) = (host, a.output) {
            println!("host {h} ({uri}):");
        }
        print_pulled(&pulled, host.as_deref(), a.output);
    }
    Ok(())
}

/// Where to pull to: (host name, URI) each. `--connect`, else the spec's
/// hosts (all, or those `--host` names) or its `connect:`, else
/// `LIBVIRT_DEFAULT_URI`, else qemu:///system.
fn targets(a: &PullArgs) -> anyhow::Result<Vec<(Option<String>, String)>> {
    let env = std::env::var("LIBVIRT_DEFAULT_URI").ok();
    let Some(file) = &a.spec else {
        return Ok(vec![(
            None,
            resolve_uri(a.connect.as_deref(), env.as_deref(), None),
        )]);
    };
    let cluster = crate::spec::load(file, &crate::spec::LoadOptions::default())?;
    if cluster.hosts.is_empty() {
        if let Some(h) = a.host.first() {
            return Err(bad(format!(
                "--host {h}: {} names no hosts: (a cluster of one host)",
                file.display()
            )));
        }
        let uri = resolve_uri(
            a.connect.as_deref(),
            env.as_deref(),
            cluster.connect.as_deref(),
        );
        return Ok(vec![(None, uri)]);
    }
    if let Some(uri) = &a.connect {
        return Err(bad(format!(
            "--connect {uri}: {} names its hosts (hosts:); use --host NAME",
            file.display()
        )));
    }
    let names: Vec<&str> = cluster.hosts.iter().map(|h| h.name.as_str()).collect();
    if let Some(unknown) = a.host.iter().find(|h| !names.contains(&h.as_str())) {
        return Err(bad(format!(
            "--host {unknown}: no such host in {} (hosts: {})",
            file.display(),
            names.join(", ")
        )));
    }
    Ok(cluster
        .hosts
        .into_iter()
        .filter(|h| a.host.is_empty() || a.host.contains(&h.name))
        .map(|h| (Some(h.name), h.uri))
        .collect())
}

/// The first Ctrl-C sets `stop`: a download stops, keeping its `.part`;
/// an upload stops and deletes the half volume and its marker. A second
/// one quits at once (a half image then stays, marked, for the next pull
/// to delete).
fn stop_on_ctrl_c(stop: &Arc<AtomicBool>, quiet: bool) {
    let stop = Arc::clone(stop);
    let _ = ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        if !quiet {
            eprintln!("stopping (the pool is left as it was): Ctrl-C again to quit at once");
        }
    });
}

/// The image the flags name, and whether it is a local file.
fn resolve(a: &PullArgs, sha: Option<Digest>, f: &Fetcher) -> anyhow::Result<(Artifact, bool)> {
    if let Some(file) = &a.file {
        let location = file.display().to_string();
        if !file.is_file() {
            return Err(bad(format!("{location}: no such file")));
        }
        let xz = location.ends_with(".xz");
        let artifact = plain(location, sha, xz);
        return Ok((artifact, true));
    }
    if let Some(url) = &a.url {
        check_url(url)?;
        return Ok((plain(url.clone(), sha, url.ends_with(".xz")), false));
    }
    let arch = a
        .arch
        .clone()
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let stream = a.stream.as_deref().unwrap_or("stable");
    match a.os.unwrap_or(Os::Fcos) {
        Os::Fcos => {
            if !["stable", "testing", "next"].contains(&stream) {
                return Err(bad(format!(
                    "--stream {stream}: Fedora CoreOS streams are stable, testing and next"
                )));
            }
            let url = a
                .stream_url
                .clone()
                .unwrap_or_else(|| source::fcos_stream_url(stream));
            check_url(&url)?;
            let json = metadata(f, &url)?;
            Ok((source::parse_fcos_stream(&url, &json, &arch)?, false))
        }
        Os::Flatcar => flatcar(a, stream, &arch, f).map(|art| (art, false)),
    }
}

fn flatcar(a: &PullArgs, channel: &str, arch: &str, f: &Fetcher) -> anyhow::Result<Artifact> {
    if !["stable", "beta", "alpha", "lts"].contains(&channel) {
        return Err(bad(format!(
            "--stream {channel}: Flatcar channels are stable, beta, alpha and lts"
        )));
    }
    let arch = source::flatcar_arch(arch);
    let mut base = a
        .stream_url
        .clone()
        .unwrap_or_else(|| source::flatcar_base_url(channel, arch));
    check_url(&base)?;
    if !base.ends_with('/') {
        base.push('/');
    }
    let version_url = format!("{base}version.txt");
    let version = metadata(f, &version_url)?;
    let release = source::parse_flatcar_version(&version_url, &version)?;
    let digests_url = format!("{base}{}.DIGESTS", source::FLATCAR_IMAGE);
    let digests = metadata(f, &digests_url)?;
    let digest = source::parse_digests(&digests_url, &digests, source::FLATCAR_IMAGE)?;
    Ok(source::flatcar_artifact(&base, &release, arch, digest))
}

/// Published metadata; when it cannot be had, what to try instead.
fn metadata(f: &Fetcher, url: &str) -> anyhow::Result<String> {
    f.text(url).map_err(|e| {
        anyhow::anyhow!(
            "{e:#}\n  a mirror: --stream-url URL; an image at hand: FILE, or --url URL \
             --sha256 HEX"
        )
    })
}

fn plain(location: String, digest: Option<Digest>, xz: bool) -> Artifact {
    Artifact {
        volume: source::default_volume(&location),
        location,
        digest,
        uncompressed_sha256: None,
        release: None,
        xz,
    }
}

fn check_url(url: &str) -> anyhow::Result<()> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(());
    }
    Err(bad(format!("{url:?} is not an http:// or https:// URL")))
}

/// What was pulled, and the `image:` line for the spec; JSON (one line
/// per host) names the host of a spec over several.
fn print_pulled(p: &Pulled, host: Option<&str>, format: Format) {
    let line = format!("image: {{ pool: {}, volume: {} }}", p.pool, p.volume);
    if format == Format::Json {
        let sha256 = p.digest.as_ref().filter(|d| d.algo == Algo::Sha256);
        let mut out = json!({
            "pool": p.pool,
            "volume": p.volume,
            "release": p.release,
            "sha256": sha256.map(|d| &d.hex),
            "digest": p.digest.as_ref().map(|d| format!("{}:{}", d.algo.name(), d.hex)),
            "uncompressed_sha256": p.uncompressed_sha256,
            "bytes": p.bytes,
            "already_there": p.already_there,
            "downloaded": p.downloaded,
            "cleared_stale": p.cleared_stale,
            "image": line,
        });
        if let Some(h) = host {
            out["host"] = json!(h);
        }
        println!("{out}");
        return;
    }
    if p.cleared_stale {
        println!(
            "deleted the half image a killed pull left in {}/{}",
            p.pool, p.volume
        );
    }
    if p.already_there {
        println!(
            "volume {}/{} is already there, with these bytes",
            p.pool, p.volume
        );
    } else {
        let size = p.bytes.map(|b| format!(" ({b} bytes)")).unwrap_or_default();
        println!("made volume {}/{}{size}", p.pool, p.volume);
    }
    println!("in the spec:\n  {line}");
}
