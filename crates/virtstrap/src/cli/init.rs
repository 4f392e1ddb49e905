//! `virtstrap init`: write a commented starter spec and Butane files.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use super::BadInput;

const FILES: &[(&str, &str)] = &[
    ("cluster.yaml", include_str!("init/cluster.yaml")),
    ("common.bu", include_str!("init/common.bu")),
    ("control-plane.bu", include_str!("init/control-plane.bu")),
];

/// Write a starter cluster.yaml and Butane files into DIR.
///
/// The files validate as written: a three-node cluster (one control
/// plane, two workers) on a NAT network, with the write-up's Kubernetes
/// prerequisites in common.bu. Edit the SSH key, image and sizes, then
/// run `virtstrap validate`. Existing files are never overwritten unless
/// --force is given.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Directory to write into (created if missing)
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Overwrite files that already exist
    #[arg(long)]
    force: bool,
}

/// Run the command. Every file is written to a temporary file first and
/// renamed into place only once all are written, and nothing is printed
/// before: a failure, or a closed stdout, leaves no file half-written.
pub fn run(args: &Args) -> anyhow::Result<()> {
    if !args.force {
        refuse_existing(args)?;
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let key = user_key();
    let texts: Vec<(PathBuf, String)> = FILES
        .iter()
        .map(|(name, text)| {
            let text = match (&key, *name) {
                (Some((_, k)), "cluster.yaml") => text.replace(PLACEHOLDER_KEY, k),
                _ => text.to_string(),
            };
            (args.dir.join(name), text)
        })
        .collect();
    write_all(&texts)?;
    for (path, _) in &texts {
        println!("wrote {}", path.display());
    }
    match &key {
        Some((file, _)) => println!("SSH key: yours, from {}", file.display()),
        None => eprintln!(
            "warning: no SSH public key in ~/.ssh (id_ed25519.pub, id_rsa.pub): the spec holds a \
             placeholder, and nodes built from it cannot be logged in to\n  make one with \
             `ssh-keygen -t ed25519`, then put its line under ssh_authorized_keys (or \
             `- {{ file: ~/.ssh/id_ed25519.pub }}`)"
        ),
    }
    println!(
        "next: check the image and sizes, then `virtstrap validate -f {}`",
        args.dir.join("cluster.yaml").display()
    );
    Ok(())
}

/// Without --force, any of the files already there is refused; a symlink
/// counts as there even when it dangles (writing through it would create
/// its target, maybe outside DIR).
fn refuse_existing(args: &Args) -> Result<(), BadInput> {
    let existing: Vec<String> = FILES
        .iter()
        .map(|(name, _)| args.dir.join(name))
        .filter_map(|p| {
            let meta = std::fs::symlink_metadata(&p).ok()?;
            let shown = p.display().to_string();
            Some(match std::fs::read_link(&p) {
                Ok(to) if meta.file_type().is_symlink() => {
                    let dangling = if p.exists() { "" } else { ", dangling" };
                    format!("{shown} (a symlink to {}{dangling})", to.display())
                }
                _ => shown,
            })
        })
        .collect();
    if existing.is_empty() {
        return Ok(());
    }
    Err(BadInput(format!(
        "{} already exist{}; nothing was written (--force overwrites{})",
        existing.join(", "),
        if existing.len() == 1 { "s" } else { "" },
        if existing.iter().any(|e| e.contains("(a symlink")) {
            ", replacing a symlink itself, never what it points at"
        } else {
            ""
        }
    )))
}

/// Write every file, or none: each to a temporary file beside it, then
/// all renamed into place (a symlink there is replaced, not followed).
fn write_all(texts: &[(PathBuf, String)]) -> anyhow::Result<()> {
    let mut temps: Vec<PathBuf> = Vec::new();
    let written = texts.iter().try_for_each(|(path, text)| {
        let tmp = crate::fsutil::write_temp(path, text.as_bytes(), 0o644)
            .with_context(|| format!("cannot write {}", path.display()))?;
        temps.push(tmp);
        anyhow::Ok(())
    });
    let renamed = written.and_then(|()| {
        temps.iter().zip(texts).try_for_each(|(tmp, (path, _))| {
            std::fs::rename(tmp, path).with_context(|| format!("cannot write {}", path.display()))
        })
    });
    if renamed.is_err() {
        for tmp in &temps {
            let _ = std::fs::remove_file(tmp);
        }
    }
    renamed
}

/// The key line in the starter spec that the user's own key replaces.
const PLACEHOLDER_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithYourOwnKey you@example.com";

/// The user's public key: `~/.ssh/id_ed25519.pub`, else `id_rsa.pub`.
fn user_key() -> Option<(PathBuf, String)> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    ["id_ed25519.pub", "id_rsa.pub"].iter().find_map(|name| {
        let path = home.join(".ssh").join(name);
        let text = std::fs::read_to_string(&path).ok()?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("ssh-"))?;
        Some((path, line.to_string()))
    })
}
