//! Arguments every command that reads a cluster spec shares, and the
//! error that carries Butane problems to the door (exit 2).

use std::path::PathBuf;

use clap::Args;

use super::BadInput;
use crate::fsutil::{check_regular, MAX_BUTANE_BYTES};
use crate::render::ignition::{ButaneSet, IgnitionError};
use crate::spec::{self, Cluster, LoadOptions};

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
    /// Load and check the spec and its Butane files: every problem at
    /// once (exit 2: nothing was touched).
    pub fn load(&self) -> anyhow::Result<Loaded> {
        self.check_butane_flags()?;
        let opts = LoadOptions {
            extra_butane: self.butane.clone(),
            name: self.name.clone(),
        };
        let cluster = spec::load(&self.file, &opts)?;
        let butane = ButaneSet::load(&cluster).map_err(IgnitionErrors)?;
        Ok(Loaded { cluster, butane })
    }
}

impl SpecArgs {
    /// Every `--butane` file is a regular file within the limit: checked
    /// before anything reads one, so a FIFO cannot block the command and
    /// a device cannot be read until memory runs out.
    fn check_butane_flags(&self) -> Result<(), BadInput> {
        let bad: Vec<String> = self
            .butane
            .iter()
            .filter_map(|f| {
                let e = check_regular(f, MAX_BUTANE_BYTES).err()?;
                Some(format!("--butane {}: {e}", f.display()))
            })
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(BadInput(bad.join("\nerror: ")))
        }
    }
}

/// Butane or merge failures, each with its findings (raw one-liners,
/// each naming key path, line and column).
#[derive(Debug)]
pub struct IgnitionErrors(pub Vec<IgnitionError>);

impl std::fmt::Display for IgnitionErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                // the door prints "error: " before the first
                write!(f, "\nerror: ")?;
            }
            write!(f, "{e}")?;
            let report = match e {
                IgnitionError::Butane { report, .. } | IgnitionError::Merged { report, .. } => {
                    Some(report)
                }
                _ => None,
            };
            if let Some(r) = report {
                for line in r.raw().lines() {
                    write!(f, "\n  {line}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for IgnitionErrors {}

impl From<IgnitionError> for IgnitionErrors {
    fn from(e: IgnitionError) -> Self {
        IgnitionErrors(vec![e])
    }
}
