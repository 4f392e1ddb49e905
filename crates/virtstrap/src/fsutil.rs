//! The helpers that read and write files for virtstrap's commands (beside
//! spec -> plan -> apply, which write nothing locally): reads that refuse
//! what is not a regular file and stop at a size limit, so that a FIFO,
//! a device or a huge file can neither block nor exhaust memory; writes
//! that are whole or not at all, with the mode the caller gives.

use std::fs::{File, FileType, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The most a spec file (cluster.yaml or a vars file) may hold.
pub const MAX_SPEC_BYTES: u64 = 16 << 20;
/// The most a Butane file may hold.
pub const MAX_BUTANE_BYTES: u64 = 32 << 20;
/// The most an SSH public key file may hold.
pub const MAX_KEY_FILE_BYTES: u64 = 1 << 20;

/// Why a file could not be read, in words that say what the path is.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing is at the path.
    #[error("does not exist")]
    Missing,
    /// The path resolves through too many symlinks (a loop).
    #[error("is a symlink loop")]
    Loop,
    /// Something that is not a regular file: a directory, FIFO, device
    /// or socket (its kind named).
    #[error("is a {0}, not a regular file")]
    NotRegular(&'static str),
    /// Larger than the caller's limit.
    #[error("is larger than the {} limit", human_bytes(*.0))]
    TooLarge(u64),
    /// Any other failure (permissions, I/O).
    #[error("{0}")]
    Io(std::io::Error),
}

/// The kind of a file that is not a regular one, as a message names it.
pub fn kind_name(t: FileType) -> &'static str {
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO (named pipe)"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else if t.is_symlink() {
        "symlink"
    } else {
        "special file"
    }
}

/// Whether `path` can be read as a regular file of at most `limit`
/// bytes, without reading it: the check the spec's cross-checks run.
pub fn check_regular(path: &Path, limit: u64) -> Result<(), ReadError> {
    let meta = std::fs::metadata(path).map_err(io_error)?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(kind_name(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(())
}

/// The bytes of the regular file at `path`, refused when it is anything
/// else or holds more than `limit` bytes. It is opened non-blocking, so a
/// FIFO put in its place is refused, not waited on; its type is checked
/// on the open file, so nothing can be swapped in between.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io_error)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(kind_name(meta.file_type())));
    }
    read_capped(file, limit)
}

/// At most `limit` bytes of `r` (standard input, say): more is refused.
pub fn read_capped(r: impl std::io::Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    r.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(buf)
}

fn io_error(e: std::io::Error) -> ReadError {
    match e.raw_os_error() {
        Some(libc::ENOENT) => ReadError::Missing,
        Some(libc::ELOOP) => ReadError::Loop,
        _ => ReadError::Io(e),
    }
}

/// `bytes` as a limit is named: `16 MiB`.
fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Write `data` to `path` as `butane -o` does: through whatever is
/// there. A regular file, or nothing, is replaced atomically
/// ([`write_atomic`]); a symlink is followed and what it points at is
/// written the same way (the link stays); a device node, FIFO or socket
/// is opened and written in place, never replaced by a regular file.
pub fn write_through(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let target = resolve_links(path)?;
    match std::fs::metadata(&target) {
        Ok(m) if !m.file_type().is_file() && !m.is_dir() => {
            let mut f = OpenOptions::new().write(true).open(&target)?;
            f.write_all(data).and_then(|()| f.flush())
        }
        _ => write_atomic(&target, data, mode),
    }
}

/// `path` with every symlink in its last component followed (a dangling
/// link resolves to where it points); other paths unchanged.
fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
                p = base.join(to);
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::from_raw_os_error(libc::ELOOP))
}

/// Write `data` to `path` atomically: a temporary file beside it, made
/// with `mode` (0600 for Ignition configs, which hold password hashes),
/// synced, then renamed over `path`. On failure nothing is left behind.
/// A symlink at `path` is replaced, not followed.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let tmp = write_temp(path, data, mode)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Write `data` to a new temporary file beside `path` (made with `mode`,
/// synced) and return its path, for the caller to rename over `path`;
/// on failure nothing is left behind.
pub fn write_temp(path: &Path, data: &[u8], mode: u32) -> std::io::Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut f: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    if let Err(e) = f.write_all(data).and_then(|()| f.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_refuse_what_is_not_a_small_regular_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "12345").expect("write");
        let lp = dir.path().join("loop");
        std::os::unix::fs::symlink(&lp, &lp).expect("symlink");
        let cases: &[(&Path, u64, &str)] = &[
            (&file, 5, "ok"),
            (&file, 4, "is larger than the 4 bytes limit"),
            (dir.path(), 9, "is a directory, not a regular file"),
            (Path::new("/dev/zero"), 9, "is a character device"),
            (&lp, 9, "is a symlink loop"),
            (&dir.path().join("none"), 9, "does not exist"),
        ];
        for (path, limit, want) in cases {
            let got = read_regular(path, *limit).map_or_else(|e| e.to_string(), |_| "ok".into());
            let checked =
                check_regular(path, *limit).map_or_else(|e| e.to_string(), |()| "ok".into());
            assert!(got.starts_with(want), "{}: {got}", path.display());
            assert!(checked.starts_with(want), "{}: {checked}", path.display());
        }
    }

    #[test]
    fn limits_are_named_in_binary_units() {
        assert_eq!(
            ReadError::TooLarge(MAX_SPEC_BYTES).to_string(),
            "is larger than the 16 MiB limit"
        );
        assert_eq!(human_bytes(1536), "1536 bytes");
    }
}
