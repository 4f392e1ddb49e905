//! The checks of what a spec's objects meet on the host: whether QEMU
//! may read the Ignition files (SELinux, AppArmor, DAC), whether the
//! pools have room for the new disks, whether the declared networks'
//! ranges clash with the host's routes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plan::{Actual, Desired};

use super::caps::Caps;
use super::local::Selinux;
use super::routes::overlaps;
use super::space::{self, Fit, NewVolume};
use super::{Check, View};

/// Whether QEMU can read the Ignition files. With `<sysinfo
/// type='fwcfg'>` libvirt's security drivers hand the file to QEMU while
/// the domain runs (measured here for DAC: the root-owned 0600 file is
/// chowned to the qemu user, and back after). A file named in
/// `<qemu:commandline>` is handed to nobody: unlabeled under SELinux it
/// is "can't load" (terraform-provider-libvirt #142), outside the
/// domain's AppArmor profile it is denied (#546, coreos/bugs#2083).
pub(super) fn ignition(caps: &Caps, view: &View, commandline: bool, dirs: &[PathBuf]) -> Check {
    let name = "ignition access";
    let Some(dir) = dirs.first() else {
        return Check::pass(name, "no node's Ignition goes to a known pool directory");
    };
    let local = match view {
        View::Local(l) => Some(l),
        View::Remote(_) => None,
    };
    let selinux = caps.mac_model() == Some("selinux")
        || local.is_some_and(|l| l.selinux == Selinux::Enforcing);
    let apparmor = caps.mac_model() == Some("apparmor") || local.is_some_and(|l| l.apparmor);
    let ign = format!("{}/*.ign", dir.display());
    if commandline {
        return commandline_ignition(selinux, apparmor, &ign);
    }
    if local.is_some_and(|l| l.qemu_conf.dynamic_ownership == Some(false)) {
        return Check::warn(
            name,
            "dynamic_ownership = 0: libvirt leaves the Ignition files (mode 0600, owned by \
             the daemon's user) as they are, and QEMU cannot read them",
            "set dynamic_ownership = 1 in qemu.conf (libvirt's default), then restart the daemon",
        );
    }
    if apparmor {
        return Check::warn(
            name,
            format!(
                "AppArmor confines QEMU: libvirt's virt-aa-helper must add {ign} to each \
                 domain's profile"
            ),
            format!(
                "if a domain fails to start with Permission denied on its .ign file, add \
                 `{ign} rk,` to /etc/apparmor.d/libvirt/TEMPLATE.qemu"
            ),
        );
    }
    let how = if selinux {
        "SELinux relabels it for the domain"
    } else {
        "no SELinux or AppArmor confinement"
    };
    Check::pass(
        name,
        format!(
            "<sysinfo type='fwcfg'>: libvirt hands {ign} to QEMU while the domain runs ({how})"
        ),
    )
}

fn commandline_ignition(selinux: bool, apparmor: bool, ign: &str) -> Check {
    let name = "ignition access";
    let detail = "Ignition goes in <qemu:commandline> -fw_cfg, which libvirt neither labels \
                  nor chowns: QEMU must be able to read the file as it is";
    let fix = if selinux {
        format!("label the files for QEMU: chcon -t virt_content_t {ign} (after apply)")
    } else if apparmor {
        format!("add `{ign} rk,` to /etc/apparmor.d/libvirt/TEMPLATE.qemu")
    } else {
        "run QEMU as root (user = \"root\" in qemu.conf), or use libvirt >= 6.5 without \
         --qemu-commandline-fw-cfg (the files are 0600, owned by the daemon's user)"
            .to_string()
    };
    Check::warn(name, detail, fix)
}

/// Room in each pool for the volumes the plan would create.
pub(super) fn space_checks(
    want: &Desired,
    actual: &Actual,
    view: &View,
    paths: &BTreeMap<String, (PathBuf, bool)>,
) -> Vec<Check> {
    let mut new: BTreeMap<&str, Vec<NewVolume>> = BTreeMap::new();
    for node in &want.nodes {
        for v in &node.volumes {
            // Some(None): looked up, not there (a stopped pool is not
            // looked in: the pools check reports it)
            if actual.volume(&v.pool, &v.name) == Some(None) {
                let len = u64::try_from(node.ignition.len()).unwrap_or(u64::MAX);
                new.entry(&v.pool)
                    .or_default()
                    .push(space::new_volume(&v.xml, len));
            }
        }
    }
    new.iter()
        .map(|(pool, vols)| {
            let available = available(pool, actual, view, paths);
            pool_space(pool, vols, available)
        })
        .collect()
}

/// A pool's free bytes: its `<available>`, or for one apply would make
/// on a local host, its filesystem's; `Err` says why not known.
fn available(
    pool: &str,
    actual: &Actual,
    view: &View,
    paths: &BTreeMap<String, (PathBuf, bool)>,
) -> Result<u64, String> {
    if let Some(p) = actual.pool(pool) {
        return space::pool_available(&p.xml)
            .ok_or_else(|| "its XML gives no <available> bytes".to_string());
    }
    if let View::Remote(why) = view {
        return Err(format!("apply makes it; {why}"));
    }
    let Some((path, _)) = paths.get(pool) else {
        return Err("not on the host (see the pools check)".into());
    };
    let existing = path
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    space::fs_available(existing).ok_or_else(|| format!("cannot statvfs {}", existing.display()))
}

pub(super) fn pool_space(pool: &str, vols: &[NewVolume], available: Result<u64, String>) -> Check {
    let name = format!("space {pool}");
    let available = match available {
        Ok(a) => a,
        Err(why) => return Check::skip(name, why),
    };
    let fit = space::fit(available, vols);
    let detail = space::describe(pool, available, vols.len(), &fit);
    match fit {
        Fit::Fits { .. } => Check::pass(name, detail),
        Fit::Overcommitted { .. } => Check::warn(
            name,
            detail,
            "free space in the pool's filesystem, or give the nodes smaller disks",
        ),
        Fit::NoRoom { .. } => Check::fail(
            name,
            detail,
            "free space in the pool's filesystem, or put the disks in another pool",
        )
        .guarding(),
    }
}

/// Each declared network's range against the daemon's routes.
pub(super) fn route_checks(want: &Desired, actual: &Actual, view: &View) -> Vec<Check> {
    let nets = want
        .networks
        .iter()
        .filter_map(|n| Some((n, n.declared.cidr?)));
    nets.map(|(net, cidr)| {
        let name = format!("routes {}", net.name);
        let local = match view {
            View::Remote(why) => return Check::skip(name, why.clone()),
            View::Local(l) => l,
        };
        // an existing network's own bridge carries its own route
        let bridge = actual
            .network(&net.name)
            .and_then(|n| n.shape.as_ref())
            .and_then(|s| s.bridge.as_deref());
        let hits = overlaps(cidr, &local.routes, bridge);
        if hits.is_empty() {
            return Check::pass(
                name,
                format!("{cidr} overlaps no route in {}", local.routes_path),
            );
        }
        let routes: Vec<String> = hits
            .iter()
            .map(|r| format!("{} on {}", r.net, r.iface))
            .collect();
        Check::fail(
            name,
            format!(
                "{cidr} overlaps the host's route {} ({})",
                routes.join(", "),
                local.routes_path
            ),
            format!("give network {} a cidr no route uses", net.name),
        )
    })
    .collect()
}
