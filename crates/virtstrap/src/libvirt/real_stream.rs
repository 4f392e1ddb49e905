//! Streamed volume transfers on a real libvirt host: an upload fed from
//! any reader (a decompressor, `image pull`), and a download into any
//! writer (to compare a volume's bytes with an image). libvirt's storage
//! streams work over every URI, remote ones included.

use std::io::{ErrorKind, Read, Write};

use virt::error::Error as VirtError;
use virt::stream::Stream;

use super::real::LibvirtBackend;
use super::{BackendError, BackendResult};

/// How much one `virStreamSend` carries: libvirt's remote protocol
/// splits a stream into packets of at most 256 KiB.
const PACKET: usize = 256 << 10;

fn fail(op: &str, object: &str, message: String) -> BackendError {
    BackendError::Libvirt {
        op: op.into(),
        object: object.into(),
        message,
    }
}

fn virt_fail(op: &str, object: &str, e: &VirtError) -> BackendError {
    fail(op, object, e.message().to_string())
}

impl LibvirtBackend {
    /// See [`super::Backend::upload_volume_from`].
    pub(super) fn upload_from_impl(
        &self,
        pool: &str,
        name: &str,
        len: u64,
        data: &mut dyn Read,
    ) -> BackendResult<()> {
        let (op, object) = ("upload volume", format!("{pool}/{name}"));
        let vol = self.lookup_volume(op, pool, name)?;
        let stream = Stream::new(self.conn(), 0).map_err(|e| virt_fail(op, &object, &e))?;
        vol.upload(&stream, 0, len, 0)
            .map_err(|e| virt_fail(op, &object, &e))?;
        match send_from(&stream, len, data) {
            Ok(()) => stream.finish().map_err(|e| virt_fail(op, &object, &e)),
            Err(message) => {
                // the reader's or the send's error is the cause; abort's
                // own is noise
                let _ = stream.abort();
                Err(fail(op, &object, message))
            }
        }
    }

    /// See [`super::Backend::download_volume`].
    pub(super) fn download_impl(
        &self,
        pool: &str,
        name: &str,
        out: &mut dyn Write,
    ) -> BackendResult<u64> {
        let (op, object) = ("download volume", format!("{pool}/{name}"));
        let vol = self.lookup_volume(op, pool, name)?;
        let stream = Stream::new(self.conn(), 0).map_err(|e| virt_fail(op, &object, &e))?;
        vol.download(&stream, 0, 0, 0)
            .map_err(|e| virt_fail(op, &object, &e))?;
        match receive_into(&stream, out) {
            Ok(n) => stream
                .finish()
                .map(|()| n)
                .map_err(|e| virt_fail(op, &object, &e)),
            Err(message) => {
                let _ = stream.abort();
                Err(fail(op, &object, message))
            }
        }
    }
}

/// Send exactly `len` bytes of `data` down the stream.
fn send_from(stream: &Stream, len: u64, data: &mut dyn Read) -> Result<(), String> {
    let mut buf = vec![0u8; PACKET];
    let mut sent = 0u64;
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        sent += n as u64;
        if sent > len {
            return Err(format!("more than the {len} bytes announced"));
        }
        send_all(stream, buf.get(..n).unwrap_or_default())?;
    }
    if sent < len {
        return Err(format!("the data ended at byte {sent} of {len}"));
    }
    Ok(())
}

fn send_all(stream: &Stream, mut rest: &[u8]) -> Result<(), String> {
    while !rest.is_empty() {
        let sent = stream.send(rest).map_err(|e| e.message().to_string())?;
        // a blocking stream sends at least one byte or fails
        let Some(n) = usize::try_from(sent).ok().filter(|n| *n > 0) else {
            return Err(VirtError::last_error().message().to_string());
        };
        rest = rest.get(n..).unwrap_or_default();
    }
    Ok(())
}

fn receive_into(stream: &Stream, out: &mut dyn Write) -> Result<u64, String> {
    let mut buf = vec![0u8; PACKET];
    let mut total = 0u64;
    loop {
        let got = stream.recv(&mut buf).map_err(|e| e.message().to_string())?;
        let n = usize::try_from(got).map_err(|_| VirtError::last_error().message().to_string())?;
        if n == 0 {
            return Ok(total);
        }
        out.write_all(buf.get(..n).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        total += n as u64;
    }
}
