//! Arguments every command that reads a cluster spec shares, and the one
//! place that turns spec and Butane problems into messages and exit 2.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::render::ignition::{ButaneSet, IgnitionError};
use crate::spec::{self, Cluster, LoadOptions};

use super::EXIT_BAD_INPUT;

/// Where the spec is.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Cluster spec: cluster.yaml, or the write-up's Ansible vars file
    #[arg(short, long, value_name = "FILE", default_value = "cluster.yaml")]
    pub file: PathBuf,
    /// Butane file merged into every node before the spec's own (for a
    /// vars file, which cannot name any); repeatable
    #[arg(long, value_name = "FILE")]
    pub butane: Vec<PathBuf>,
    /// Cluster name for a vars file (default: cluster)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// A loaded spec with every Butane file translated.
pub struct Loaded {
    /// The cluster.
    pub cluster: Cluster,
    /// Its Butane files, translated.
    pub butane: ButaneSet,
}

impl SpecArgs {
    /// Load and check the spec and its Butane files; on any problem,
    /// print them all and return the exit code (2: nothing was touched).
    pub fn load(&self) -> Result<Loaded, ExitCode> {
        let opts = LoadOptions {
            extra_butane: self.butane.clone(),
            name: self.name.clone(),
        };
        let cluster = spec::load(&self.file, &opts).map_err(|e| {
            eprint!("{e}");
            ExitCode::from(EXIT_BAD_INPUT)
        })?;
        let butane = ButaneSet::load(&cluster).map_err(|errors| {
            for e in &errors {
                print_ignition_error(e);
            }
            ExitCode::from(EXIT_BAD_INPUT)
        })?;
        Ok(Loaded { cluster, butane })
    }
}

/// Print a Butane or merge failure with its findings (raw one-liners,
/// each naming key path, line and column).
pub fn print_ignition_error(e: &IgnitionError) {
    eprintln!("error: {e}");
    let report = match e {
        IgnitionError::Butane { report, .. } | IgnitionError::Merged { report, .. } => Some(report),
        _ => None,
    };
    if let Some(r) = report {
        for line in r.raw().lines() {
            eprintln!("  {line}");
        }
    }
}
