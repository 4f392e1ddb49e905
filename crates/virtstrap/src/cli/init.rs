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

/// Run the command.
pub fn run(args: &Args) -> anyhow::Result<()> {
    if !args.force {
        let existing: Vec<String> = FILES
            .iter()
            .map(|(name, _)| args.dir.join(name))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(BadInput(format!(
                "{} already exist{}; nothing was written (--force overwrites)",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            ))
            .into());
        }
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    for (name, text) in FILES {
        let path = args.dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!(
        "next: edit the SSH key and image, then `virtstrap validate -f {}`",
        args.dir.join("cluster.yaml").display()
    );
    Ok(())
}
