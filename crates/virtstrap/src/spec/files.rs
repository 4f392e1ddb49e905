//! The files a spec names, checked before anything reads them.
//!
//! Part of the spec step's cross-checks (spec -> render -> plan -> apply):
//! every Butane file the spec names, kernel and initrd must
//! be a regular file, and a Butane file no larger than
//! [`MAX_BUTANE_BYTES`], so that rendering can neither block on a FIFO
//! nor read a device until memory runs out. Each problem says what the
//! path is: missing, a directory, a FIFO, a device, a symlink loop.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::fsutil::{check_regular, MAX_BUTANE_BYTES};

use super::reader::Reader;
use super::Cluster;

impl Reader {
    /// Every file the spec names (Butane, kernel, initrd) is a regular
    /// file; Butane files within the limit. (`--butane` files are the
    /// command line's, checked where it is read.)
    pub(super) fn check_files(&mut self, c: &Cluster) {
        let butane: HashSet<&PathBuf> = c
            .butane
            .iter()
            .chain(c.nodes.iter().flat_map(|n| &n.butane))
            .collect();
        let files = std::mem::take(&mut self.srcs.files);
        for (file, path, mark) in &files {
            let limit = if butane.contains(file) {
                MAX_BUTANE_BYTES
            } else {
                u64::MAX
            };
            if let Err(e) = check_regular(file, limit) {
                let msg = format!("file {} {e}", file.display());
                self.err(path, Some(*mark), msg);
            }
        }
    }
}
