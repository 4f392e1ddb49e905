//! Block devices: `Disk` and its partitions (numbers, labels, overlaps,
//! GUIDs), `Filesystem` (format and label limits) and `Raid`.

use std::collections::HashSet;

use super::{
    get_bool, get_int, is_true, key_partition, key_str, not_empty, present, Rel, Validator,
};
use crate::out::{Out, Val};
use crate::report::KeyPath;

use Rel::{I, K};

impl Validator<'_> {
    /// A `Disk`: its device and partition table, then each partition.
    pub(super) fn disk(&mut self, n: &Out, p: &KeyPath) {
        if self.dups {
            self.dup_lists(n, p, &[("partitions", "partitions", key_partition)]);
            return;
        }
        let device = n.get_str("device").unwrap_or_default();
        let parts = n.items("partitions");
        if device.is_empty() {
            self.error(n, p, &[K("device")], "disk device is required");
        } else {
            self.check_path(n, p, &[K("device")], device);
            self.partition_table(n, p, parts);
        }
        for (i, q) in parts.iter().enumerate() {
            self.partition(q, &p.key("partitions").index(i));
        }
    }

    /// The checks across a disk's partitions: numbers, overlaps,
    /// `shouldExist` and labels.
    fn partition_table(&mut self, n: &Out, p: &KeyPath, parts: &[Out]) {
        if let Some(i) = colliding_number(parts) {
            self.error(n, p, &[K("partitions"), I(i)], "partition numbers collide");
        }
        if let Some(i) = overlap(parts) {
            self.error(n, p, &[K("partitions"), I(i)], "partitions overlap");
        }
        let not_exist = parts
            .iter()
            .any(|q| get_bool(q, "shouldExist") == Some(false));
        let zero = parts.iter().any(|q| get_int(q, "number").unwrap_or(0) == 0);
        if zero && not_exist {
            self.error(
                n,
                p,
                &[K("partitions")],
                "shouldExist is false for a partition and other partition(s) has start or size 0",
            );
        }
        if let Some(i) = repeated_label(parts) {
            self.error(
                n,
                p,
                &[K("partitions"), I(i)],
                "cannot use the same partition label twice",
            );
        }
    }

    /// One `Partition`: `shouldExist` against other fields, number or
    /// label, label length, GUIDs.
    fn partition(&mut self, n: &Out, p: &KeyPath) {
        if get_bool(n, "shouldExist") == Some(false)
            && (present(n, "label")
                || not_empty(n, "typeGuid").is_some()
                || not_empty(n, "guid").is_some()
                || present(n, "startMiB")
                || present(n, "sizeMiB"))
        {
            self.error(
                n,
                p,
                &[],
                "shouldExist specified false with other options also specified",
            );
        }
        if get_int(n, "number").unwrap_or(0) == 0 && !present(n, "label") {
            self.error(
                n,
                p,
                &[],
                "a partition number >= 1 or a label must be specified",
            );
        }
        if let Some(l) = n.get_str("label") {
            if l.len() > 36 {
                self.error(
                    n,
                    p,
                    &[K("label")],
                    "partition labels may not exceed 36 characters",
                );
            } else if l.contains(':') {
                self.error(
                    n,
                    p,
                    &[K("label")],
                    "partition label will be truncated to text before the colon",
                );
            }
        }
        for key in ["guid", "typeGuid"] {
            if let Some(g) = n.get_str(key) {
                if !guid_ok(g) {
                    self.error(
                        n,
                        p,
                        &[K(key)],
                        "doesn't match the form \"01234567-89AB-CDEF-EDCB-A98765432101\"",
                    );
                }
            }
        }
    }

    /// A `Filesystem`: device, path, format and label limits.
    pub(super) fn filesystem(&mut self, n: &Out, p: &KeyPath) {
        if let Some(path) = not_empty(n, "path") {
            self.check_path(n, p, &[K("path")], path);
        }
        self.check_path(
            n,
            p,
            &[K("device")],
            n.get_str("device").unwrap_or_default(),
        );
        let format = not_empty(n, "format");
        self.filesystem_format(n, p, format);
        if let Some(label) = not_empty(n, "label") {
            if let Some(e) = label_error(format, label) {
                self.error(n, p, &[K("label")], e);
            }
        }
    }

    /// A filesystem's format: known for this spec, and present when other
    /// fields need one.
    fn filesystem_format(&mut self, n: &Out, p: &KeyPath, format: Option<&str>) {
        match format {
            None => {
                if not_empty(n, "path").is_some()
                    || not_empty(n, "label").is_some()
                    || not_empty(n, "uuid").is_some()
                    || is_true(n, "wipeFilesystem")
                    || !n.items("mountOptions").is_empty()
                    || !n.items("options").is_empty()
                {
                    self.error(
                        n,
                        p,
                        &[K("format")],
                        "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified",
                    );
                }
            }
            Some(f) => {
                let ok = matches!(f, "ext4" | "btrfs" | "xfs" | "swap" | "vfat")
                    || (f == "none" && self.minor >= 3);
                if !ok {
                    self.error(n, p, &[K("format")], "invalid filesystem format");
                }
            }
        }
    }

    /// A `Raid` array: level, spares and member devices.
    pub(super) fn raid(&mut self, n: &Out, p: &KeyPath) {
        if self.dups {
            self.dup_lists(n, p, &[("devices", "devices", key_str)]);
            return;
        }
        let level = n.get_str("level").unwrap_or_default();
        let e = if level.is_empty() && self.minor >= 3 {
            Some("raid level is required")
        } else {
            match level {
                "linear" | "raid0" | "0" | "stripe" => get_int(n, "spares")
                    .is_some_and(|s| s != 0)
                    .then_some("spares unsupported for linear and raid0 arrays"),
                "raid1" | "1" | "mirror" | "raid4" | "4" | "raid5" | "5" | "raid6" | "6"
                | "raid10" | "10" => None,
                _ => Some("unrecognized raid level"),
            }
        };
        if let Some(e) = e {
            self.error(n, p, &[K("level")], e);
        }
        if n.items("devices").is_empty() {
            self.error(n, p, &[K("devices")], "raid devices required");
        }
        for (i, d) in n.items("devices").iter().enumerate() {
            if let Val::Str(s) = &d.val {
                self.check_path(n, p, &[K("devices"), I(i)], s);
            }
        }
    }
}

/// Ignition's label length limit of each filesystem format.
fn label_error(format: Option<&str>, label: &str) -> Option<&'static str> {
    match format {
        None => Some("filesystem must specify format if label is specified"),
        Some("ext4") if label.len() > 16 => {
            Some("filesystem labels cannot be longer than 16 characters when using ext4")
        }
        Some("btrfs") if label.len() > 256 => {
            Some("filesystem labels cannot be longer than 256 characters when using btrfs")
        }
        Some("xfs") if label.len() > 12 => {
            Some("filesystem labels cannot be longer than 12 characters when using xfs")
        }
        Some("swap") if label.len() > 15 => {
            Some("filesystem labels cannot be longer than 15 characters when using swap")
        }
        Some("vfat") if label.len() > 11 => {
            Some("filesystem labels cannot be longer than 11 characters when using vfat")
        }
        _ => None,
    }
}

/// The second partition with the first number (in order of first use)
/// that more than one partition has.
fn colliding_number(parts: &[Out]) -> Option<usize> {
    let mut by_num: Vec<(i64, Vec<usize>)> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let num = get_int(part, "number").unwrap_or(0);
        if num != 0 {
            match by_num.iter_mut().find(|(k, _)| *k == num) {
                Some((_, v)) => v.push(i),
                None => by_num.push((num, vec![i])),
            }
        }
    }
    by_num.iter().find(|(_, v)| v.len() > 1).map(|(_, v)| v[1])
}

/// The first partition whose label an earlier partition already has.
fn repeated_label(parts: &[Out]) -> Option<usize> {
    let mut labels = HashSet::new();
    parts
        .iter()
        .position(|q| q.get_str("label").is_some_and(|l| !labels.insert(l)))
}

/// Whether `g` is empty or a GUID (`8-4-4-4-12` hex digits).
fn guid_ok(g: &str) -> bool {
    if g.is_empty() {
        return true;
    }
    let parts: Vec<&str> = g.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(s, n)| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Ignition's partition overlap check: the first partition another
/// placed partition's span touches.
fn overlap(parts: &[Out]) -> Option<usize> {
    let span = |q: &Out| -> Option<(i64, i64)> {
        let start = get_int(q, "startMiB")?;
        let size = get_int(q, "sizeMiB")?;
        if start == 0 {
            return None;
        }
        Some((start, if size == 0 { start } else { start + size - 1 }))
    };
    for (pi, pp) in parts.iter().enumerate() {
        let Some((ps, pe)) = span(pp) else {
            continue;
        };
        for (oi, o) in parts.iter().enumerate() {
            if oi == pi {
                continue;
            }
            let Some((os, oe)) = span(o) else {
                continue;
            };
            if (ps >= os && ps <= oe) || (pe >= os && pe <= oe) || (ps < os && pe > oe) {
                return Some(oi);
            }
        }
    }
    None
}
