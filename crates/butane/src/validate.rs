//! Butane's own checks of the source document, before translation.
//!
//! These are the `Validate()` methods of the real Butane's schema types
//! (`base/v0_x/validate.go`, `config/fcos/v1_x/validate.go`): conflicting
//! content sources, mount units without a format or path, modes that look
//! decimal, boot-device layouts, GRUB users. Ignition's checks of the
//! *output* live in [`crate::ignvalidate`].

use crate::decode::{Obj, Value};
use crate::report::Report;
use crate::schema::Spec;

/// Run every source check on `doc`, appending to `report`.
pub fn check(doc: &Obj, spec: Spec, report: &mut Report) {
    let mut v = Checker { spec, report };
    v.walk(doc);
    if let (Some(minor), Some(bd)) = (spec.fcos, doc.obj("boot_device")) {
        if minor >= 3 {
            v.boot_device(bd, minor);
        }
    }
    if let (Some(minor), Some(grub)) = (spec.fcos, doc.obj("grub")) {
        if minor >= 5 {
            v.grub(grub);
        }
    }
}

struct Checker<'r> {
    spec: Spec,
    report: &'r mut Report,
}

impl Checker<'_> {
    fn walk(&mut self, obj: &Obj) {
        self.check_obj(obj);
        for slot in &obj.slots {
            match &slot.value {
                Value::Obj(o) => self.walk(o),
                Value::List(items) => items.iter().for_each(|o| self.walk(o)),
                _ => {}
            }
        }
    }

    fn check_obj(&mut self, o: &Obj) {
        match o.def.name {
            "Resource" => self.resource(o),
            "FileContents" if o.str("inline").is_some() && o.str("source").is_some() => {
                self.err(
                    o,
                    "inline",
                    "only one of the following can be set: inline, source",
                );
            }
            "Filesystem" => self.filesystem(o),
            "File" => self.mode(o, false),
            "Directory" => self.mode(o, true),
            "Tree" if o.str("local").unwrap_or_default().is_empty() => {
                self.report
                    .error(o.path.clone(), Some(o.mark), "local is required");
            }
            "Unit" | "Dropin" => self.two_sources(o),
            "Quadlet" => self.quadlet(o),
            _ => {}
        }
    }

    fn err(&mut self, o: &Obj, key: &str, msg: &str) {
        self.report.error(o.path_of(key), Some(o.mark_of(key)), msg);
    }

    fn resource(&mut self, o: &Obj) {
        let set: Vec<&str> = ["local", "inline", "source"]
            .into_iter()
            .filter(|k| o.str(k).is_some())
            .collect();
        if set.len() > 1 {
            let last = set[set.len() - 1];
            self.err(
                o,
                last,
                "only one of the following can be set: inline, local, source",
            );
        }
    }

    fn filesystem(&mut self, o: &Obj) {
        if !o.is_true("with_mount_unit") {
            return;
        }
        let format = o.str("format").unwrap_or_default();
        let path = o.str("path").unwrap_or_default();
        if self.spec.base < 4 {
            if path.is_empty() {
                self.err(o, "path", "path is required if with_mount_unit is true");
            }
            if format.is_empty() {
                self.err(o, "format", "format is required if with_mount_unit is true");
            }
        } else if format.is_empty() {
            self.err(o, "format", "format is required if with_mount_unit is true");
        } else if format != "swap" && path.is_empty() {
            self.err(
                o,
                "path",
                "path is required if with_mount_unit is true and format is not swap",
            );
        }
    }

    fn mode(&mut self, o: &Obj, directory: bool) {
        if let Some(mode) = o.int("mode") {
            if looks_decimal(mode, directory) {
                self.report.warn(
                    o.path_of("mode"),
                    Some(o.mark_of("mode")),
                    "unreasonable mode would be reasonable if specified in octal; remember to add a leading zero",
                );
            }
        }
    }

    fn two_sources(&mut self, o: &Obj) {
        if o.str("contents_local").is_some() && o.str("contents").is_some() {
            self.err(
                o,
                "contents_local",
                "only one of the following can be set: contents, contents_local",
            );
        }
    }

    fn quadlet(&mut self, o: &Obj) {
        let name = o.str("name").unwrap_or_default();
        const EXT: [&str; 8] = [
            ".container",
            ".volume",
            ".network",
            ".kube",
            ".image",
            ".build",
            ".pod",
            ".artifact",
        ];
        if !EXT.iter().any(|e| name.ends_with(e)) {
            return self.err(
                o,
                "name",
                "unsupported file extension for quadlet: must be one of .container, .volume, .network, .kube, .image, .build, .pod, or .artifact",
            );
        }
        let template = name
            .find('@')
            .zip(name.rfind('.'))
            .is_some_and(|(at, dot)| at + 1 != dot && at < dot);
        if template {
            for k in ["contents", "contents_local"] {
                if o.str(k).is_some() {
                    self.err(
                        o,
                        k,
                        "template instances cannot have contents or contents_local",
                    );
                }
            }
        } else {
            self.two_sources(o);
        }
    }

    fn boot_device(&mut self, bd: &Obj, minor: u8) {
        let luks = bd.obj("luks");
        let mirror = bd.obj("mirror");
        let mirror_devices = mirror.map_or(0, |m| m.strs("devices").len());
        let layout = bd.str("layout");
        if mirror_devices > 0 && layout.is_none() {
            let msg = "boot_device.layout should be specified when boot_device.mirror is specified";
            if minor >= 7 {
                self.err(bd, "mirror", msg);
            } else {
                self.report
                    .warn(bd.path_of("mirror"), Some(bd.mark_of("mirror")), msg);
            }
        }
        let device = luks.and_then(|l| l.str("device")).unwrap_or_default();
        if let Some(layout) = layout {
            match layout {
                "aarch64" | "ppc64le" | "x86_64" => {}
                "s390x-eckd" | "s390x-zfcp" if minor >= 6 => {
                    let (prefix, ok) = if layout == "s390x-eckd" {
                        ("/dev/dasd", is_dev(device, "/dev/dasd"))
                    } else {
                        ("/dev/sd", is_dev(device, "/dev/sd"))
                    };
                    let _ = prefix;
                    if device.is_empty() {
                        self.err(bd, "layout", "device is required for layouts: s390x-eckd, s390x-zfcp");
                    } else if !ok {
                        self.err(bd, "layout", "device name must start with /dev/dasd on s390x-eckd layout or /dev/sd on s390x-zfcp layout");
                    }
                }
                "s390x-virt" if minor >= 6 => {}
                _ if minor >= 6 => self.err(
                    bd,
                    "layout",
                    "layout must be one of: aarch64, ppc64le, s390x-eckd, s390x-virt, s390x-zfcp, x86_64",
                ),
                _ => self.err(bd, "layout", "layout must be one of: aarch64, ppc64le, x86_64"),
            }
            if minor >= 6 && layout.starts_with("s390x") && mirror_devices > 0 {
                self.err(
                    bd,
                    "layout",
                    "mirroring not supported on layouts: s390x-eckd, s390x-zfcp, s390x-virt",
                );
            }
        }
        if let Some(l) = luks {
            self.boot_luks(bd, l, layout, minor);
        }
        if mirror_devices == 1 {
            if let Some(m) = mirror {
                self.err(m, "devices", "mirroring requires at least two devices");
            }
        }
    }

    fn boot_luks(&mut self, bd: &Obj, l: &Obj, layout: Option<&str>, minor: u8) {
        let cex = l.obj("cex").is_some_and(|c| c.is_true("enabled"));
        let clevis = !l.list("tang").is_empty() || l.is_true("tpm2");
        if cex {
            match layout {
                None => {
                    let c = l.obj("cex").expect("cex is set");
                    self.report.error(
                        l.path_of("cex"),
                        Some(c.mark),
                        "when using cex the targeted architecture must match s390x",
                    );
                }
                Some(x) if !x.starts_with("s390x") => {
                    self.err(
                        bd,
                        "layout",
                        "when using cex the targeted architecture must match s390x",
                    );
                }
                _ => {}
            }
            if clevis {
                self.report.error(
                    bd.path_of("luks"),
                    Some(l.mark),
                    "cannot use cex with clevis",
                );
            }
        }
        if minor >= 7 && l.str("device").is_some_and(|d| !d.is_empty()) {
            let tang_ok = l.list("tang").iter().any(|t| !t.slots.is_empty());
            if !(tang_ok || l.is_true("tpm2") || cex) {
                self.report.error(
                    l.path_of("luks"),
                    Some(l.mark),
                    "no method specified for luks",
                );
            }
        }
    }

    fn grub(&mut self, grub: &Obj) {
        for u in grub.list("users") {
            if u.str("name").unwrap_or_default().is_empty() {
                self.report.error(
                    u.path_of("name"),
                    Some(u.mark),
                    "field \"name\" is required",
                );
            }
            if u.str("password_hash").unwrap_or_default().is_empty() {
                self.report.error(
                    u.path_of("password_hash"),
                    Some(u.mark),
                    "field \"password_hash\" is required",
                );
            }
        }
    }
}

/// `/dev/dasda`-style names: the prefix, then one lowercase letter, at the
/// end (the Go regexps `(/dev/dasd[a-z]$)` and `(/dev/sd[a-z]$)`).
fn is_dev(device: &str, prefix: &str) -> bool {
    device.len() > prefix.len()
        && device.ends_with(|c: char| c.is_ascii_lowercase())
        && device[..device.len() - 1].ends_with(prefix)
}

/// Butane's `CheckForDecimalMode`: the mode is unusual as written but
/// usual if its decimal digits were meant as octal (644 for 0644).
pub fn looks_decimal(mode: i64, directory: bool) -> bool {
    if !(0..=7777).contains(&mode) {
        return false;
    }
    let mut octal = 0;
    for divisor in [1000, 100, 10, 1] {
        let digit = (mode / divisor) % 10;
        if digit > 7 {
            return false;
        }
        octal = (octal << 3) | digit;
    }
    !typical(mode, directory) && typical(octal, directory)
}

fn typical(mode: i64, directory: bool) -> bool {
    if mode == 0 {
        return true;
    }
    let (mut had_r, mut had_w, mut had_x) = (false, false, false);
    for perm in [mode & 0o7, (mode >> 3) & 0o7, (mode >> 6) & 0o7] {
        let (r, w, x) = (perm & 4 != 0, perm & 2 != 0, perm & 1 != 0);
        if (!r && had_r) || (!w && had_w) || (!x && had_x) {
            return false;
        }
        if x && had_r && !had_x {
            return false;
        }
        if (w || x) && !r {
            return false;
        }
        had_r |= r;
        had_w |= w;
        had_x |= x;
    }
    if !had_r {
        return false;
    }
    if directory {
        had_x && mode & 0o4000 == 0 && (mode & 0o3000 == 0 || had_w)
    } else {
        let special_ok = mode & 0o6000 == 0 || (had_x && mode & 2 == 0);
        special_ok && mode & 0o1000 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_modes_are_spotted() {
        assert!(looks_decimal(644, false));
        assert!(looks_decimal(755, true));
        assert!(!looks_decimal(0o644, false));
        assert!(!looks_decimal(420, false));
        assert!(!looks_decimal(0, false));
    }

    #[test]
    fn dasd_names() {
        assert!(is_dev("/dev/dasda", "/dev/dasd"));
        assert!(!is_dev("/dev/dasd1", "/dev/dasd"));
        assert!(is_dev("/dev/sdb", "/dev/sd"));
    }
}
