//! At most a few calls in flight on one libvirt connection.
//!
//! A libvirt daemon serves at most `max_client_requests` calls of one
//! client connection at a time (5 by default) and stops reading that
//! connection while it is at the limit. Measured here: apply's four node
//! workers and the lock's heartbeat, over one `qemu+tcp` connection, hit
//! it ("Client hit max requests limit 5" in the daemon's log) and, with an
//! upload stream open, the connection wedged for good: the daemon idle,
//! every client call waiting for a reply. So every call through
//! [`super::real::LibvirtBackend`] first takes a place here; with
//! [`MAX_IN_FLIGHT`] places the daemon's limit is never reached, whatever
//! `--parallel` says, and an open stream's data always gets read.

use std::sync::{Condvar, Mutex};

/// Calls in flight on one connection: below libvirt's default limit of 5,
/// with room for an upload stream's data.
pub const MAX_IN_FLIGHT: usize = 3;

/// Places for calls on one connection.
#[derive(Debug, Default)]
pub struct Gate {
    busy: Mutex<usize>,
    freed: Condvar,
}

/// A place held; given back when dropped.
pub struct Place<'g>(&'g Gate);

impl Gate {
    /// Wait for a place.
    pub fn enter(&self) -> Place<'_> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while *busy >= MAX_IN_FLIGHT {
            busy = self.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy += 1;
        Place(self)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|e| e.into_inner());
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_than_the_limit_at_once() {
        let gate = Gate::default();
        let now = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..12 {
                s.spawn(|| {
                    for _ in 0..20 {
                        let _p = gate.enter();
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        now.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), MAX_IN_FLIGHT);
        assert_eq!(*gate.busy.lock().expect("no poison"), 0);
    }
}
