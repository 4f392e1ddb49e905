//! Fedora CoreOS sugar: `boot_device` (LUKS root, mirrored boot disk),
//! `grub.users`, and the fcos checks of partitions and mount points.
//!
//! Follows the real Butane's `config/fcos/v1_x/translate.go` and
//! `validate.go`: the rendered storage is merged *under* the user's config,
//! and the partition layout constants must never change (they replicate
//! the OS image's own layout).

use crate::dataurl;
use crate::decode::Obj;
use crate::out::{Out, Src, Val};
use crate::sugar::canonical;
use crate::translate::{merge_generated, Ctx};

const RESERVED_GUID: &str = "8DA63339-0007-60C0-C436-083AC8230908";
const BIOS_GUID: &str = "21686148-6449-6E6F-744E-656564454649";
const PREP_GUID: &str = "9E1A2D38-C612-4316-AA26-8B49521E5A8B";
const ESP_GUID: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

/// Builds small output objects in Ignition's field order.
struct Obj2(Out);

impl Obj2 {
    fn new(src: &Src) -> Self {
        Obj2(Out::obj(src.clone()))
    }
    fn s(mut self, k: &str, v: &str) -> Self {
        let src = self.0.src.clone();
        self.0.set(k, Out::str(v, src));
        self
    }
    fn i(mut self, k: &str, v: i64) -> Self {
        let src = self.0.src.clone();
        self.0.set(k, Out::new(Val::Int(v), src));
        self
    }
    fn b(mut self, k: &str, v: bool) -> Self {
        let src = self.0.src.clone();
        self.0.set(k, Out::new(Val::Bool(v), src));
        self
    }
    fn o(mut self, k: &str, v: Out) -> Self {
        self.0.set(k, v);
        self
    }
}

fn list(items: Vec<Out>, src: &Src) -> Out {
    Out::new(Val::List(items), src.clone())
}

impl Ctx<'_> {
    /// Apply fcos sugar and checks to the translated config.
    pub fn fcos(&mut self, doc: &Obj, out: &mut Out, minor: u8) {
        if minor >= 3 {
            if let Some(bd) = doc.obj("boot_device") {
                self.boot_device(bd, out);
            }
        }
        self.partition_checks(out, minor);
        if minor >= 5 {
            if let Some(grub) = doc.obj("grub") {
                self.grub(grub, out);
            }
        }
        canonical(out, "");
    }

    fn boot_device(&mut self, bd: &Obj, out: &mut Out) {
        let luks = bd.obj("luks");
        let tpm2 = luks.is_some_and(|l| l.is_true("tpm2"));
        let tang = luks.map_or(&[][..], |l| l.list("tang"));
        let cex = luks
            .and_then(|l| l.obj("cex"))
            .is_some_and(|c| c.is_true("enabled"));
        let want_luks = tpm2 || !tang.is_empty() || cex;
        let mirrored = bd
            .obj("mirror")
            .is_some_and(|m| !m.strs("devices").is_empty());
        if !want_luks && !mirrored {
            return;
        }
        let src = Src::new(bd.path.clone(), Some(bd.mark));
        let (disks, mut filesystems, raids) = if mirrored {
            mirror_storage(bd)
        } else {
            Default::default()
        };
        let mut luks_list = Vec::new();
        if let Some(l) = luks.filter(|_| want_luks) {
            luks_list.push(self.root_luks(l, bd.str("layout"), mirrored, cex));
        }
        let root_dev = if want_luks {
            "/dev/mapper/root"
        } else {
            "/dev/md/md-root"
        };
        filesystems.push(
            Obj2::new(&src)
                .s("device", root_dev)
                .s("format", "xfs")
                .s("label", "root")
                .b("wipeFilesystem", true)
                .0,
        );
        let mut storage = Obj2::new(&src);
        if !disks.is_empty() {
            storage = storage.o("disks", list(disks, &src));
        }
        storage = storage.o("filesystems", list(filesystems, &src));
        if !luks_list.is_empty() {
            storage = storage.o("luks", list(luks_list, &src));
        }
        if !raids.is_empty() {
            storage = storage.o("raid", list(raids, &src));
        }
        let generated = Obj2::new(&src).o("storage", storage.0).0;
        merge_generated(generated, out);
    }

    /// The encrypted root: cex, or clevis with tang/tpm2, on the device
    /// the layout puts root on.
    fn root_luks(&mut self, l: &Obj, layout: Option<&str>, mirrored: bool, cex: bool) -> Out {
        let lsrc = Src::new(l.path.clone(), Some(l.mark));
        let device = match layout {
            Some("s390x-eckd") => format!("{}2", l.str("device").unwrap_or_default()),
            Some("s390x-zfcp") => format!("{}4", l.str("device").unwrap_or_default()),
            _ if mirrored => "/dev/md/md-root".into(),
            _ => "/dev/disk/by-partlabel/root".into(),
        };
        let mut entry = Obj2::new(&lsrc);
        if cex {
            let c = Obj2::new(&lsrc).b("enabled", true).0;
            entry = entry.o("cex", c);
        } else {
            let mut clevis = Obj2::new(&lsrc);
            let tang = l.list("tang");
            if !tang.is_empty() {
                let items = tang.iter().map(|t| self.object(t)).collect();
                clevis = clevis.o("tang", list(items, &lsrc));
            }
            if let Some(t) = l.int("threshold") {
                clevis = clevis.i("threshold", t);
            }
            if let Some(t) = l.bool("tpm2") {
                clevis = clevis.b("tpm2", t);
            }
            entry = entry.o("clevis", clevis.0);
        }
        entry = entry.s("device", &device);
        if let Some(d) = l.bool("discard") {
            entry = entry.b("discard", d);
        }
        entry
            .s("label", "luks-root")
            .s("name", "root")
            .b("wipeVolume", true)
            .0
    }

    fn grub(&mut self, grub: &Obj, out: &mut Out) {
        let users = grub.list("users");
        if users.is_empty() {
            return;
        }
        let src = Src::new(grub.path.key("users"), Some(grub.mark_of("users")));
        let names: Vec<&str> = users
            .iter()
            .map(|u| u.str("name").unwrap_or_default())
            .collect();
        let cmds: Vec<String> = users
            .iter()
            .map(|u| {
                let name = u.str("name").unwrap_or_default();
                let hash = u.str("password_hash").unwrap_or_default();
                format!("password_pbkdf2 {name} {hash}")
            })
            .collect();
        let cfg = format!(
            "# Generated by Butane\n\nset superusers=\"{}\"\n{}\n",
            names.join(" "),
            cmds.join("\n")
        );
        let d = dataurl::make(cfg.as_bytes(), None, !self.opts.no_auto_compression);
        let mut res = Obj2::new(&src);
        if let Some(c) = d.compression {
            res = res.s("compression", c);
        }
        let res = res.s("source", &d.url).0;
        let file = Obj2::new(&src)
            .s("path", "/boot/grub2/user.cfg")
            .o("append", list(vec![res], &src))
            .0;
        let fs = Obj2::new(&src)
            .s("device", "/dev/disk/by-label/boot")
            .s("format", "ext4")
            .s("path", "/boot")
            .0;
        let storage = Obj2::new(&src)
            .o("files", list(vec![file], &src))
            .o("filesystems", list(vec![fs], &src))
            .0;
        let generated = Obj2::new(&src).o("storage", storage).0;
        merge_generated(generated, out);
    }

    /// Warnings about partitions FCOS reserves or needs large enough.
    fn partition_checks(&mut self, out: &Out, minor: u8) {
        let Some(storage) = out.get("storage") else {
            return;
        };
        for disk in storage.items("disks") {
            let wipe = matches!(disk.get("wipeTable").map(|w| &w.val), Some(Val::Bool(true)));
            let parts = disk.items("partitions");
            for (p, part) in parts.iter().enumerate() {
                let Some(label) = part.get_str("label") else {
                    continue;
                };
                let number = int_of(part, "number");
                if minor >= 3 && label == "root" {
                    let size = int_of(part, "sizeMiB");
                    if size == 0 {
                        let constrained = parts
                            .iter()
                            .enumerate()
                            .any(|(i, other)| i != p && int_of(other, "startMiB") == 0);
                        if constrained {
                            self.warn_at(part, "label", "root partition cannot expand; it is set to fill available space but is followed by an auto-positioned partition");
                        }
                    } else if size < 8192 {
                        self.warn_at(part, "sizeMiB", "root should have 8GiB of space assigned");
                    }
                }
                let wrong = matches!(
                    (label, number),
                    ("BIOS-BOOT", n) | ("PowerPC-PReP-boot", n) if n != 1
                ) || (label == "EFI-SYSTEM" && number != 2)
                    || (label == "boot" && number != 3)
                    || (label == "root" && number != 4);
                if !wipe && wrong {
                    self.warn_at(part, "label", "incorrect partition number; a new partition will be created using reserved label");
                }
            }
        }
    }

    fn warn_at(&mut self, node: &Out, key: &str, msg: &str) {
        let (path, mark) = match node.get(key) {
            Some(n) => (n.src.path.clone(), n.src.mark),
            None => (node.src.path.key(&snake(key)), node.src.mark),
        };
        self.report.warn(path, mark, msg);
    }

    /// fcos 1.6+: partitions reused by label, mount units outside /etc,/var.
    pub fn fcos_config_checks(&mut self, doc: &Obj) {
        let Some(storage) = doc.obj("storage") else {
            return;
        };
        let mirror: Vec<String> = doc
            .obj("boot_device")
            .and_then(|b| b.obj("mirror"))
            .map(|m| m.strs("devices").iter().map(|(s, _)| s.clone()).collect())
            .unwrap_or_default();
        for disk in storage.list("disks") {
            let device = disk.str("device").unwrap_or_default();
            if device == "/dev/disk/by-id/coreos-boot-disk"
                || disk.is_true("wipe_table")
                || mirror.iter().any(|m| m == device)
            {
                continue;
            }
            for part in disk.list("partitions") {
                if part.int("number").unwrap_or(0) == 0 && part.str("label").is_some() {
                    self.report.warn(
                        part.path.key("number"),
                        Some(part.mark_of("number")),
                        "partitions cannot be reused by label; number must be specified except on boot disk (/dev/disk/by-id/coreos-boot-disk) or when wipe_table is true",
                    );
                }
            }
        }
        for fs in storage.list("filesystems") {
            if let Some(path) = fs.str("path") {
                let allowed = ["/etc", "/var"]
                    .iter()
                    .any(|p| path == *p || path.starts_with(&format!("{p}/")));
                if !allowed && fs.is_true("with_mount_unit") {
                    self.report.error(
                        fs.path_of("path"),
                        Some(fs.mark_of("path")),
                        "path must be under /etc or /var if with_mount_unit is true",
                    );
                }
            }
        }
    }
}

/// A mirrored boot disk: each device partitioned as the OS image is
/// (the layout decides BIOS/PReP/ESP), RAID1 for boot and root, the ESPs
/// and the boot filesystem. Returns (disks, filesystems, raids).
fn mirror_storage(bd: &Obj) -> (Vec<Out>, Vec<Out>, Vec<Out>) {
    let fw = Firmware::of(bd.str("layout"));
    let msrc = Src::new(bd.path.key("mirror"), Some(bd.mark_of("mirror")));
    let devices = bd.obj("mirror").map_or(&[][..], |m| m.strs("devices"));
    let (mut disks, mut filesystems) = (Vec::new(), Vec::new());
    for (i, (device, mark)) in devices.iter().enumerate() {
        let n = i + 1;
        let dsrc = Src::new(bd.path.key("mirror").key("devices").index(i), Some(*mark));
        disks.push(mirror_disk(fw, n, Out::str(device.as_str(), dsrc), &msrc));
        if fw.efi {
            filesystems.push(esp_filesystem(n, &msrc));
        }
    }
    let raids = mirror_raids(devices.len(), &msrc);
    filesystems.push(
        Obj2::new(&msrc)
            .s("device", "/dev/md/md-boot")
            .s("format", "ext4")
            .s("label", "boot")
            .b("wipeFilesystem", true)
            .0,
    );
    (disks, filesystems, raids)
}

/// The firmware partitions a layout's disks start with.
#[derive(Clone, Copy)]
struct Firmware {
    bios: bool,
    efi: bool,
    prep: bool,
}

impl Firmware {
    fn of(layout: Option<&str>) -> Self {
        let (bios, efi, prep) = match layout {
            None | Some("x86_64") => (true, true, false),
            Some("aarch64") => (false, true, false),
            Some("ppc64le") => (false, false, true),
            _ => (false, false, false),
        };
        Firmware { bios, efi, prep }
    }
}

/// Mirror device number `n` (from 1): the OS image's four partitions,
/// each labelled with `n`, on a wiped table.
fn mirror_disk(fw: Firmware, n: usize, device: Out, msrc: &Src) -> Out {
    let first = if fw.bios {
        partition(&format!("bios-{n}"), 1, BIOS_GUID, msrc)
    } else if fw.prep {
        partition(&format!("prep-{n}"), 4, PREP_GUID, msrc)
    } else {
        partition(&format!("reserved-{n}"), 1, RESERVED_GUID, msrc)
    };
    let second = if fw.efi {
        partition(&format!("esp-{n}"), 127, ESP_GUID, msrc)
    } else {
        partition(&format!("reserved-{n}"), 1, RESERVED_GUID, msrc)
    };
    let boot = Obj2::new(msrc)
        .s("label", &format!("boot-{n}"))
        .i("sizeMiB", 384)
        .0;
    let root = Obj2::new(msrc).s("label", &format!("root-{n}")).0;
    Obj2::new(msrc)
        .o("device", device)
        .o("partitions", list(vec![first, second, boot, root], msrc))
        .b("wipeTable", true)
        .0
}

/// A firmware partition of a mirror device.
fn partition(label: &str, size: i64, guid: &str, msrc: &Src) -> Out {
    Obj2::new(msrc)
        .s("label", label)
        .i("sizeMiB", size)
        .s("typeGuid", guid)
        .0
}

/// The ESP filesystem of mirror device number `n`.
fn esp_filesystem(n: usize, msrc: &Src) -> Out {
    Obj2::new(msrc)
        .s("device", &format!("/dev/disk/by-partlabel/esp-{n}"))
        .s("format", "vfat")
        .s("label", &format!("esp-{n}"))
        .b("wipeFilesystem", true)
        .0
}

/// RAID1 `md-boot` and `md-root` over the `count` mirror devices' boot
/// and root partitions.
fn mirror_raids(count: usize, msrc: &Src) -> Vec<Out> {
    let devs = |prefix: &str| {
        let items = (1..=count)
            .map(|n| Out::str(format!("/dev/disk/by-partlabel/{prefix}-{n}"), msrc.clone()))
            .collect();
        list(items, msrc)
    };
    let options = list(vec![Out::str("--metadata=1.0", msrc.clone())], msrc);
    vec![
        Obj2::new(msrc)
            .o("devices", devs("boot"))
            .s("level", "raid1")
            .s("name", "md-boot")
            .o("options", options)
            .0,
        Obj2::new(msrc)
            .o("devices", devs("root"))
            .s("level", "raid1")
            .s("name", "md-root")
            .0,
    ]
}

fn int_of(o: &Out, k: &str) -> i64 {
    match o.get(k).map(|v| &v.val) {
        Some(Val::Int(i)) => *i,
        _ => 0,
    }
}

fn snake(k: &str) -> String {
    let mut s = String::new();
    let k = k.replace("MiB", "_mib");
    for c in k.chars() {
        if c.is_ascii_uppercase() {
            s.push('_');
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}
