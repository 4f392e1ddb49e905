//! The one helper that writes files for virtstrap's commands (beside
//! spec -> plan -> apply, which write nothing locally): whole or not at
//! all, with the mode the caller gives.

use std::io::Write as _;
use std::path::Path;

/// Write `data` to `path` atomically: a temporary file beside it, made
/// with `mode` (0600 for Ignition configs, which hold password hashes),
/// synced, then renamed over `path`. On failure nothing is left behind.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    let written = f.write_all(data).and_then(|()| f.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}
