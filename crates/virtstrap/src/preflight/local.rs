//! What this machine shows of a local libvirt daemon, read once: the
//! daemon's process (its PID file), its `qemu.conf` (as the daemon sees
//! it, through `/proc/<pid>/root`), the accounts QEMU runs under, any
//! running QEMU's identity, SELinux and AppArmor state, and the routes of
//! the daemon's network namespace (`/proc/<pid>/net/route`: where its
//! bridges live). The only I/O of the preflight besides libvirt; every
//! path is under a [`Root`], so tests read a tree of their own.

use std::path::{Path, PathBuf};

use super::access::{Accounts, QemuConf};
use super::routes::{parse_routes, Route};

/// Where the machine's files are: `/`, or a test's directory.
#[derive(Clone, Debug)]
pub struct Root(PathBuf);

impl Root {
    /// This machine.
    pub fn system() -> Root {
        Root(PathBuf::from("/"))
    }

    /// A tree under `dir` laid out as `/` is.
    pub fn at(dir: &Path) -> Root {
        Root(dir.to_path_buf())
    }

    fn path(&self, p: &str) -> PathBuf {
        self.0.join(p.trim_start_matches('/'))
    }

    fn read(&self, p: &str) -> Option<String> {
        std::fs::read_to_string(self.path(p)).ok()
    }
}

/// SELinux's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selinux {
    /// Not in the kernel, or disabled.
    Off,
    /// Logging denials only.
    Permissive,
    /// Denying.
    Enforcing,
}

/// The local facts.
#[derive(Clone, Debug)]
pub struct LocalView {
    /// The daemon's PID (libvirtd, or the modular virtqemud), if running.
    pub daemon_pid: Option<u32>,
    /// Its qemu.conf.
    pub qemu_conf: QemuConf,
    /// The file it came from (empty: none found).
    pub qemu_conf_path: String,
    /// Users and groups.
    pub accounts: Accounts,
    /// The uid and gid of a running QEMU, if one runs.
    pub running_qemu: Option<(u32, u32)>,
    /// SELinux.
    pub selinux: Selinux,
    /// Whether AppArmor is enabled in the kernel.
    pub apparmor: bool,
    /// The routes of the daemon's network namespace (or this process's).
    pub routes: Vec<Route>,
    /// The table they came from.
    pub routes_path: String,
}

/// The PID files of libvirt's daemons: the monolithic one, then the
/// modular QEMU driver.
const PID_FILES: [&str; 3] = [
    "/run/libvirtd.pid",
    "/run/libvirt/virtqemud.pid",
    "/var/run/libvirtd.pid",
];

impl LocalView {
    /// Read everything under `root`.
    pub fn read(root: &Root) -> LocalView {
        let daemon_pid = PID_FILES
            .iter()
            .filter_map(|f| root.read(f)?.trim().parse::<u32>().ok())
            .find(|pid| root.path(&format!("/proc/{pid}")).exists());
        let in_daemon = |p: &str| daemon_pid.map(|pid| format!("/proc/{pid}/root{p}"));
        let conf_paths = in_daemon("/etc/libvirt/qemu.conf")
            .into_iter()
            .chain(["/etc/libvirt/qemu.conf".to_string()]);
        let (qemu_conf_path, qemu_conf) = conf_paths
            .filter_map(|p| Some((p.clone(), QemuConf::parse(&root.read(&p)?))))
            .next()
            .unwrap_or_default();
        let route_paths = daemon_pid
            .map(|pid| format!("/proc/{pid}/net/route"))
            .into_iter()
            .chain(["/proc/net/route".to_string()]);
        let (routes_path, routes) = route_paths
            .filter_map(|p| Some((p.clone(), parse_routes(&root.read(&p)?))))
            .next()
            .unwrap_or_default();
        LocalView {
            daemon_pid,
            qemu_conf,
            qemu_conf_path,
            accounts: Accounts::parse(
                &root.read("/etc/passwd").unwrap_or_default(),
                &root.read("/etc/group").unwrap_or_default(),
            ),
            running_qemu: running_qemu(root),
            selinux: match root
                .read("/sys/fs/selinux/enforce")
                .as_deref()
                .map(str::trim)
            {
                Some("1") => Selinux::Enforcing,
                Some("0") => Selinux::Permissive,
                _ => Selinux::Off,
            },
            apparmor: root
                .read("/sys/module/apparmor/parameters/enabled")
                .is_some_and(|s| s.trim() == "Y"),
            routes,
            routes_path,
        }
    }
}

/// The real uid and gid of the first running `qemu-system-*` process.
fn running_qemu(root: &Root) -> Option<(u32, u32)> {
    let procs = std::fs::read_dir(root.path("/proc")).ok()?;
    procs
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .find_map(|status| qemu_ids(&status))
}

/// From a `/proc/<pid>/status`: the real uid and gid, if it is QEMU's.
fn qemu_ids(status: &str) -> Option<(u32, u32)> {
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
    };
    if !field("Name:")?.starts_with("qemu-system") {
        return None;
    }
    let first = |v: &str| v.split_whitespace().next()?.parse().ok();
    Some((first(field("Uid:")?)?, first(field("Gid:")?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, path: &str, text: &str) {
        let p = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    #[test]
    fn the_daemons_own_config_and_routes_are_read_through_its_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        put(r, "/run/libvirtd.pid", "42\n");
        put(r, "/proc/42/root/etc/libvirt/qemu.conf", "user = \"+0\"\n");
        put(r, "/etc/libvirt/qemu.conf", "user = \"qemu\"\n");
        put(
            r,
            "/proc/42/net/route",
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
             vs0\t0096A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n",
        );
        put(r, "/proc/net/route", "Iface\n");
        put(
            r,
            "/proc/77/status",
            "Name:\tqemu-system-x86\nUid:\t64055\t64055\t64055\t64055\n\
             Gid:\t107\t107\t107\t107\n",
        );
        put(r, "/sys/fs/selinux/enforce", "1");
        let v = LocalView::read(&Root::at(r));
        assert_eq!(v.daemon_pid, Some(42));
        assert_eq!(v.qemu_conf.user.as_deref(), Some("+0"));
        assert_eq!(v.qemu_conf_path, "/proc/42/root/etc/libvirt/qemu.conf");
        assert_eq!(v.routes.len(), 1);
        assert_eq!(v.routes[0].net.to_string(), "192.168.150.0/24");
        assert_eq!(v.running_qemu, Some((64055, 107)));
        assert_eq!(v.selinux, Selinux::Enforcing);
        assert!(!v.apparmor);
    }

    #[test]
    fn without_a_daemon_the_machines_own_files_serve() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        put(r, "/run/libvirtd.pid", "42\n"); // stale: no /proc/42
        put(r, "/etc/libvirt/qemu.conf", "dynamic_ownership = 0\n");
        put(r, "/sys/module/apparmor/parameters/enabled", "Y\n");
        let v = LocalView::read(&Root::at(r));
        assert_eq!(v.daemon_pid, None);
        assert_eq!(v.qemu_conf.dynamic_ownership, Some(false));
        assert!(v.routes.is_empty() && v.running_qemu.is_none());
        assert!(v.apparmor);
        assert_eq!(v.selinux, Selinux::Off);
    }
}
