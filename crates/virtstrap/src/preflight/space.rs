//! Room in a pool for the disks a plan would create. Two numbers per
//! pool: what the new volumes take at once (a qcow2 file starts at a few
//! hundred KiB whatever its capacity; an Ignition file is its own length)
//! and what they may grow to (every qcow2 up to its full capacity as the
//! guests write). The first not fitting in the pool's `<available>` bytes
//! means apply would fail half-way: a failure. The second not fitting is
//! thin provisioning, which works until the guests fill their disks: a
//! warning. Pure.

use crate::xmltree::Element;

/// What a new qcow2 volume takes on disk when created (header, L1 and
/// refcount tables at the default 64 KiB clusters: ~200 KiB measured,
/// rounded up), whatever its capacity.
pub const QCOW2_INITIAL: u64 = 256 << 10;

/// A volume the plan would create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVolume {
    /// Its name.
    pub name: String,
    /// What it takes when created, in bytes.
    pub initial: u64,
    /// What it may grow to, in bytes.
    pub capacity: u64,
}

/// How the new volumes fit a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fit {
    /// Even full, they fit.
    Fits {
        /// Their capacities, summed.
        capacity: u64,
    },
    /// They fit as created, not full.
    Overcommitted {
        /// Their capacities, summed.
        capacity: u64,
        /// What they take as created.
        initial: u64,
    },
    /// They do not fit even as created.
    NoRoom {
        /// What they take as created.
        initial: u64,
    },
}

/// How `volumes` fit in `available` bytes.
pub fn fit(available: u64, volumes: &[NewVolume]) -> Fit {
    let initial: u64 = volumes.iter().map(|v| v.initial).sum();
    let capacity: u64 = volumes.iter().map(|v| v.capacity).sum();
    if initial > available {
        Fit::NoRoom { initial }
    } else if capacity > available {
        Fit::Overcommitted { capacity, initial }
    } else {
        Fit::Fits { capacity }
    }
}

/// The `<available>` bytes of a pool's XML (formatstorage: "bytes unless
/// `unit` says otherwise"; libvirt always writes bytes).
pub fn pool_available(xml: &str) -> Option<u64> {
    let root = Element::parse(xml).ok()?;
    let a = root.child("available")?;
    let n: u64 = a.text.trim().parse().ok()?;
    match a.attr("unit").unwrap_or("bytes") {
        "bytes" | "b" => Some(n),
        _ => None,
    }
}

/// A new volume from its XML: qcow2 volumes start at [`QCOW2_INITIAL`],
/// others (raw, the Ignition file) at `raw_len`, their capacity or more.
pub fn new_volume(xml: &str, raw_len: u64) -> NewVolume {
    let root = Element::parse(xml).ok();
    let text = |p: &[&str]| root.as_ref().and_then(|r| r.text_at(p)).map(str::to_string);
    let capacity = text(&["capacity"])
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let qcow2 = root
        .as_ref()
        .and_then(|r| {
            r.child("target")?
                .child("format")?
                .attr("type")
                .map(|t| t == "qcow2")
        })
        .unwrap_or(false);
    let initial = if qcow2 {
        QCOW2_INITIAL
    } else {
        raw_len.max(capacity)
    };
    NewVolume {
        name: text(&["name"]).unwrap_or_default(),
        initial,
        capacity: capacity.max(initial),
    }
}

/// Bytes to one decimal in the largest binary unit below them
/// (`232.9 GiB`), for sizes that are not whole units.
pub fn approx(bytes: u64) -> String {
    let units = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (unit, shift) in units {
        if bytes >= 1 << shift {
            // f64 holds every size a pool has to well under 0.1 of a unit
            #[allow(clippy::cast_precision_loss)]
            let v = bytes as f64 / (1u64 << shift) as f64;
            return format!("{v:.1} {unit}");
        }
    }
    format!("{bytes} B")
}

/// The free bytes of the filesystem holding `path`, for a pool apply has
/// yet to make: counted as libvirt counts a dir pool's `<available>`
/// (statvfs free blocks, the root-reserved ones included: the daemon
/// creates volumes as root), so the numbers of made and unmade pools
/// compare.
pub fn fs_available(path: &std::path::Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    s.f_bfree.checked_mul(s.f_frsize)
}

/// The words for a fit: what is needed against what is there.
pub fn describe(pool: &str, available: u64, count: usize, fit: &Fit) -> String {
    let avail = approx(available);
    match fit {
        Fit::Fits { capacity } => format!(
            "pool {pool}: {avail} free; {count} new volumes need {} even when full",
            approx(*capacity)
        ),
        Fit::Overcommitted { capacity, initial } => format!(
            "pool {pool}: {avail} free; {count} new volumes take {} when created but may grow \
             to {} (thin provisioning: guests that fill their disks will stop on I/O errors)",
            approx(*initial),
            approx(*capacity)
        ),
        Fit::NoRoom { initial } => format!(
            "pool {pool}: {avail} free, but its {count} new volumes take {} just to be created",
            approx(*initial)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(initial: u64, capacity: u64) -> NewVolume {
        NewVolume {
            name: "v".into(),
            initial,
            capacity,
        }
    }

    #[test]
    fn full_capacity_over_the_free_space_is_overcommitted_and_initial_over_it_no_room() {
        let g = 1u64 << 30;
        let vols = [
            vol(QCOW2_INITIAL, 20 * g),
            vol(QCOW2_INITIAL, 20 * g),
            vol(4096, 4096),
        ];
        assert_eq!(
            fit(100 * g, &vols),
            Fit::Fits {
                capacity: 40 * g + 4096
            }
        );
        assert_eq!(
            fit(10 * g, &vols),
            Fit::Overcommitted {
                capacity: 40 * g + 4096,
                initial: 2 * QCOW2_INITIAL + 4096
            }
        );
        assert_eq!(
            fit(QCOW2_INITIAL, &vols),
            Fit::NoRoom {
                initial: 2 * QCOW2_INITIAL + 4096
            }
        );
        // exactly enough is enough
        assert!(matches!(fit(40 * g + 4096, &vols), Fit::Fits { .. }));
        assert_eq!(fit(0, &[]), Fit::Fits { capacity: 0 });
    }

    #[test]
    fn volumes_and_pools_are_read_from_their_xml() {
        let q = new_volume(
            "<volume><name>r</name><capacity unit='bytes'>21474836480</capacity>\
             <target><format type='qcow2'/></target></volume>",
            0,
        );
        assert_eq!((q.initial, q.capacity), (QCOW2_INITIAL, 20 << 30));
        let ign = new_volume(
            "<volume><name>i</name><capacity unit='bytes'>0</capacity>\
             <target><format type='raw'/></target></volume>",
            5000,
        );
        assert_eq!((ign.initial, ign.capacity), (5000, 5000));
        let pool = "<pool><capacity unit='bytes'>9</capacity>\
                    <available unit='bytes'>250103435264</available></pool>";
        assert_eq!(pool_available(pool), Some(250_103_435_264));
        assert_eq!(pool_available("<pool/>"), None);
        assert_eq!(approx(250_103_435_264), "232.9 GiB");
        assert_eq!(approx(300), "300 B");
        assert_eq!(approx(QCOW2_INITIAL), "256.0 KiB");
    }
}
