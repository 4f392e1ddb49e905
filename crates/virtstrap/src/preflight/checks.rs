//! The checks themselves: each a small function of the gathered facts,
//! returning a [`Check`]. Those of the host alone ([`host_checks`]) run
//! with or without a spec; those of a spec ([`spec_checks`]) need what
//! the plan read of the host.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::libvirt::HostInfo;
use crate::plan::refusals;
use crate::plan::{Actual, Desired};

use super::access::{dirs_above, first_blocked, Identity};
use super::caps::{version_text, Caps, FWCFG_SYSINFO};
use super::local::Selinux;
use super::room::{ignition, route_checks, space_checks};
use super::{Check, SpecFacts, View};

/// The checks of the host alone: versions, fw_cfg, KVM, the qemu user,
/// SELinux and AppArmor. With a spec, the KVM check knows which nodes
/// ask for KVM.
pub fn host_checks(info: &HostInfo, view: &View, spec: Option<&SpecFacts<'_>>) -> Vec<Check> {
    let caps = Caps::parse(&info.capabilities);
    let commandline = spec.is_some_and(|s| s.commandline_fw_cfg);
    vec![
        versions(info),
        fw_cfg(info, commandline),
        kvm(&caps, spec.map(|s| s.kvm_nodes)),
        qemu_user(&caps, view),
        security(&caps, view),
    ]
}

/// The checks of a spec on the host: its pools, networks and base image
/// (the planner's refusals), the pool paths, Ignition's readability,
/// free space, network ranges.
pub fn spec_checks(info: &HostInfo, view: &View, spec: &SpecFacts<'_>) -> Vec<Check> {
    let caps = Caps::parse(&info.capabilities);
    let (want, actual) = (spec.want, spec.actual);
    let mut out = pools(want, actual);
    out.extend(networks(want, actual));
    out.extend(base_image(want, actual));
    let paths = pool_paths(want, actual);
    let who = identity(&caps, view);
    for (pool, path) in &paths {
        out.push(traverse(pool, path, view, who.as_ref()));
    }
    let commandline = spec.commandline_fw_cfg || info.libvirt_version < FWCFG_SYSINFO;
    out.push(ignition(
        &caps,
        view,
        commandline,
        &ignition_dirs(want, &paths),
    ));
    out.extend(space_checks(want, actual, view, &paths));
    out.extend(route_checks(want, actual, view));
    out
}

fn versions(info: &HostInfo) -> Check {
    Check::pass(
        "versions",
        format!(
            "libvirt {}, {} {}",
            version_text(info.libvirt_version),
            info.hypervisor,
            version_text(info.hypervisor_version)
        ),
    )
}

fn fw_cfg(info: &HostInfo, commandline: bool) -> Check {
    let name = "fw_cfg";
    if info.hypervisor != "QEMU" {
        return Check::skip(
            name,
            format!("{} driver: no QEMU to pass Ignition to", info.hypervisor),
        );
    }
    let v = version_text(info.libvirt_version);
    if info.libvirt_version >= FWCFG_SYSINFO {
        let how = if commandline {
            " (--qemu-commandline-fw-cfg asks for <qemu:commandline> instead)"
        } else {
            ""
        };
        return Check::pass(
            name,
            format!("libvirt {v} passes Ignition as <sysinfo type='fwcfg'>{how}"),
        );
    }
    if commandline {
        return Check::pass(
            name,
            format!("libvirt {v} is older than 6.5: Ignition goes in <qemu:commandline> -fw_cfg"),
        );
    }
    Check::fail(
        name,
        format!("libvirt {v} is older than 6.5 and has no <sysinfo type='fwcfg'>: domains would not define"),
        "pass --qemu-commandline-fw-cfg to plan and apply (Ignition then goes in \
         <qemu:commandline> -fw_cfg), or upgrade libvirt",
    )
}

/// KVM: usable when the host runs `kvm` domains for its architecture. A
/// failure (refusing the plan) only when the spec's nodes ask for it.
fn kvm(caps: &Caps, kvm_nodes: Option<&[String]>) -> Check {
    let name = "kvm";
    let arch = caps.host_arch.as_deref().unwrap_or("this architecture");
    if caps.kvm_usable() {
        return Check::pass(
            name,
            format!("KVM is usable: the host runs kvm domains for {arch}"),
        );
    }
    let not = format!("KVM is not usable: the host's capabilities list no kvm domain for {arch}");
    match kvm_nodes {
        None => Check::warn(
            name,
            not,
            "use `domain_type: qemu` (software emulation, slower) in specs for this host",
        ),
        Some([]) => Check::pass(name, format!("{not}; no node asks for it")),
        Some(nodes) => Check::fail(
            name,
            format!(
                "{not}, and {} {} for domain_type kvm (the default when a spec sets none)",
                list(nodes),
                if nodes.len() == 1 { "asks" } else { "ask" }
            ),
            "set `domain_type: qemu` under `defaults:` (software emulation, slower), \
             or make KVM usable to the daemon (the kvm_intel or kvm_amd module, /dev/kvm \
             open to the qemu user)",
        )
        .guarding(),
    }
}

fn list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    format!("node{} {s}", if items.len() == 1 { "" } else { "s" })
}

/// Who QEMU runs as, for a local daemon: its DAC label, else a running
/// QEMU, else qemu.conf, else the distribution's default.
fn identity(caps: &Caps, view: &View) -> Option<Identity> {
    let View::Local(local) = view else {
        return None;
    };
    let ids = caps.dac_ids().or(local.running_qemu);
    let mut who = local.accounts.qemu_identity(ids, &local.qemu_conf)?;
    if caps.dac_ids().is_none() && local.running_qemu.is_some() {
        who.source = "a running QEMU process".into();
    }
    Some(who)
}

fn qemu_user(caps: &Caps, view: &View) -> Check {
    let name = "qemu user";
    let local = match view {
        View::Remote(why) => return Check::skip(name, why.clone()),
        View::Local(l) => l,
    };
    let Some(who) = identity(caps, view) else {
        return Check::warn(
            name,
            "cannot tell which user QEMU runs as (no DAC label, no running QEMU, no such user)",
            "set user and group in /etc/libvirt/qemu.conf",
        );
    };
    let dynamic = match local.qemu_conf.dynamic_ownership {
        Some(false) => "dynamic_ownership = 0",
        _ => "dynamic_ownership = 1",
    };
    let conf = if local.qemu_conf_path.is_empty() {
        "no qemu.conf found"
    } else {
        &local.qemu_conf_path
    };
    Check::pass(
        name,
        format!(
            "QEMU runs as {} (from {}); {dynamic} ({conf})",
            who.describe(),
            who.source
        ),
    )
}

fn security(caps: &Caps, view: &View) -> Check {
    let name = "security";
    let models = caps.secmodels.join(", ");
    let View::Local(local) = view else {
        return Check::pass(name, format!("the daemon confines QEMU with: {models} (its host's kernel state not seen from here)"));
    };
    let selinux = match local.selinux {
        Selinux::Off => "off",
        Selinux::Permissive => "permissive",
        Selinux::Enforcing => "enforcing",
    };
    let apparmor = if local.apparmor { "enabled" } else { "off" };
    Check::pass(
        name,
        format!("SELinux {selinux}, AppArmor {apparmor}; the daemon confines QEMU with: {models}"),
    )
}

/// The checks that are the planner's own refusals: one failing check
/// per refusal in `found` (each names its fix after its first colon),
/// else one passing check with `pass`.
fn planner(name: &str, found: &[String], pass: impl FnOnce() -> String) -> Vec<Check> {
    if found.is_empty() {
        return vec![Check::pass(name, pass())];
    }
    found
        .iter()
        .map(|text| {
            let (detail, fix) = text.split_once(": ").unwrap_or((text, ""));
            Check::fail(name, detail, fix)
        })
        .collect()
}

/// The spec's pools: started, or declared (apply makes them).
fn pools(want: &Desired, actual: &Actual) -> Vec<Check> {
    let mut found = Vec::new();
    refusals::stopped_pools(want, actual, &mut found);
    refusals::missing_pools(want, actual, &mut found);
    planner("pools", &found, || {
        let words = want.pools_used().into_iter().map(|p| match actual.pool(p) {
            Some(_) => format!("{p} active"),
            None => format!("{p} declared (apply makes it)"),
        });
        listed(words)
    })
}

/// The networks the nodes attach to: running, or this cluster's to
/// start or make.
fn networks(want: &Desired, actual: &Actual) -> Vec<Check> {
    let mut found = Vec::new();
    refusals::stopped_networks(want, actual, &mut found);
    planner("networks", &found, || {
        let words = want
            .networks_used()
            .into_iter()
            .map(|n| match actual.network(n) {
                Some(net) if net.active => format!("{n} active"),
                Some(_) => format!("{n} stopped (apply starts it)"),
                None => format!("{n} declared (apply makes it)"),
            });
        listed(words)
    })
}

fn base_image(want: &Desired, actual: &Actual) -> Vec<Check> {
    let mut found = Vec::new();
    refusals::missing_base_image(want, actual, &mut found);
    if let Some((pool, vol)) = &want.base_image {
        if found.is_empty() && want.declares_pool(pool) && actual.pool(pool).is_none() {
            return vec![Check::warn(
                "base image",
                format!("{pool}/{vol}: pool {pool} is one apply makes, so it starts empty"),
                format!(
                    "upload the image into {pool} once it exists (virtstrap image pull, or \
                     virsh vol-upload), or keep the base image in a pool the host has"
                ),
            )];
        }
    }
    planner("base image", &found, || match &want.base_image {
        Some((pool, vol)) => format!("{pool}/{vol} is there"),
        None => "the spec names none (every node boots a kernel)".into(),
    })
}

fn listed(words: impl Iterator<Item = String>) -> String {
    let words: Vec<String> = words.collect();
    if words.is_empty() {
        "none used".into()
    } else {
        words.join(", ")
    }
}

/// Each pool the spec uses or declares, at its path on the host (or, for
/// one apply would make, the spec's): pools neither there nor declared
/// are the `pools` check's.
pub(super) fn pool_paths(want: &Desired, actual: &Actual) -> BTreeMap<String, (PathBuf, bool)> {
    let declared = want.pools.iter().map(|(n, _)| n.as_str());
    let mut out = BTreeMap::new();
    for pool in want.pools_used().into_iter().chain(declared) {
        let path = match actual.pool(pool) {
            Some(p) if !p.path.as_os_str().is_empty() => (p.path.clone(), true),
            Some(_) => continue,
            None => match want.pool_paths.get(pool) {
                Some(path) => (path.clone(), false),
                None => continue,
            },
        };
        out.insert(pool.to_string(), path);
    }
    out
}

/// Every directory from `/` to the pool's must be searchable by QEMU's
/// user, or the domain fails at start (refuses the plan).
fn traverse(
    pool: &str,
    (path, exists): &(PathBuf, bool),
    view: &View,
    who: Option<&Identity>,
) -> Check {
    let name = format!("traverse {pool}");
    if let View::Remote(why) = view {
        return Check::skip(name, why.clone());
    }
    let Some(who) = who else {
        return Check::skip(
            name,
            "cannot tell which user QEMU runs as (see `qemu user`)",
        );
    };
    let dirs = dirs_above(path);
    let made = if *exists {
        ""
    } else {
        " (apply makes the rest)"
    };
    let Some(blocked) = first_blocked(who, &dirs) else {
        let last = dirs
            .last()
            .map_or_else(|| "/".into(), |d| d.path.display().to_string());
        return Check::pass(
            name,
            format!(
                "{} can reach {}: every directory down to {last} is searchable{made}",
                who.name,
                path.display()
            ),
        );
    };
    let d = blocked.path.display();
    Check::fail(
        name,
        format!(
            "{} (mode {:04o}, owner {}:{}) is not searchable by {}, so QEMU cannot open the \
             volumes of pool {pool} at {}: domains would fail to start",
            d,
            blocked.mode,
            blocked.uid,
            blocked.gid,
            who.describe(),
            path.display()
        ),
        format!(
            "chmod o+x {d} (or setfacl -m u:{}:x {d}), or put the pool elsewhere",
            who.name
        ),
    )
    .guarding()
}

/// The directories the Ignition files go in: the root disks' pools.
fn ignition_dirs(want: &Desired, paths: &BTreeMap<String, (PathBuf, bool)>) -> Vec<PathBuf> {
    let mut pools: Vec<&str> = want
        .nodes
        .iter()
        .filter_map(|n| n.volumes.last().map(|v| v.pool.as_str()))
        .collect();
    pools.sort_unstable();
    pools.dedup();
    pools
        .iter()
        .filter_map(|p| paths.get(*p).map(|(path, _)| path.clone()))
        .collect()
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;

/// The daemon, reached (`error` is `None`) or not: a failure says how to
/// get in (the socket's permissions: the libvirt group or polkit; no
/// socket: start the daemon).
pub fn daemon(uri: &str, error: Option<&str>) -> Check {
    let name = "daemon";
    let Some(e) = error else {
        use std::os::unix::fs::MetadataExt;
        // this process's own uid: /proc/self belongs to it
        let me = std::fs::metadata("/proc/self").map_or(String::new(), |m| {
            format!(" (to this user, uid {})", m.uid())
        });
        return Check::pass(name, format!("{uri} answers{me}"));
    };
    let detail = format!("cannot connect to {uri}: {e}");
    Check::fail(name, detail, daemon_fix(&e.to_ascii_lowercase()))
}

/// How to get past a connect error, from libvirt's words: an access
/// refusal (the socket's mode, polkit, or polkit unreachable without a
/// D-Bus system bus, which libvirt reports as a missing file) before a
/// missing daemon.
fn daemon_fix(lower: &str) -> &'static str {
    let access = [
        "permission denied",
        "authentication",
        "polkit",
        "access denied",
        "system bus",
    ];
    let absent = [
        "no such file",
        "connection refused",
        "failed to connect socket",
    ];
    if access.iter().any(|w| lower.contains(w)) {
        "the daemon refuses this user: add it to the libvirt group (usermod -aG libvirt \
         $USER, then log in again) where polkit grants that group access; without polkit \
         (no D-Bus system bus), set unix_sock_group = \"libvirt\", unix_sock_rw_perms = \
         \"0770\" and auth_unix_rw = \"none\" in libvirtd.conf; or use qemu:///session"
    } else if absent.iter().any(|w| lower.contains(w)) {
        "no daemon listens there: start it (systemctl start libvirtd, or virtqemud on \
         modular installs; without systemd: libvirtd -d)"
    } else {
        "check the URI (--connect, LIBVIRT_DEFAULT_URI, the spec's connect:) and that \
         its host and daemon are up"
    }
}
