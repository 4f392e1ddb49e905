//! What rendering needs to know about the libvirt host beyond the spec:
//! machine type, where pools keep their files, where console logs go.
//! The libvirt backend fills [`HostFacts`] in (or the defaults serve);
//! rendering itself stays pure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::spec::{Cluster, Node};

/// Directory of a pool neither the spec nor the host facts know: libvirt's
/// `default` pool.
pub const DEFAULT_POOL_PATH: &str = "/var/lib/libvirt/images";

/// Facts about one libvirt host that change the rendered XML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    /// QEMU machine type for `<os><type machine=..>` (`q35`).
    pub machine: String,
    /// Target directory of each existing pool, by pool name.
    pub pool_paths: HashMap<String, PathBuf>,
    /// Directory for the serial console logs: libvirt's own QEMU log
    /// directory, which exists on every libvirt host (`/var/log/libvirt/qemu`).
    pub console_dir: PathBuf,
}

impl Default for HostFacts {
    fn default() -> Self {
        HostFacts {
            machine: "q35".into(),
            pool_paths: HashMap::new(),
            console_dir: PathBuf::from("/var/log/libvirt/qemu"),
        }
    }
}

/// The directory of `pool`: a pool the spec declares has its `path`; else
/// what the host reports; else [`DEFAULT_POOL_PATH`]. The spec wins over
/// the host for a declared pool because that is the path virtstrap makes
/// it with (a different path on the host is drift for the planner).
pub fn pool_path(cluster: &Cluster, host: &HostFacts, pool: &str) -> PathBuf {
    if let Some(p) = cluster.pools.iter().find(|p| p.name == pool) {
        return p.path.clone();
    }
    match host.pool_paths.get(pool) {
        Some(p) => p.clone(),
        None => PathBuf::from(DEFAULT_POOL_PATH),
    }
}

/// Name of the node's Ignition volume: `<cluster>-<node>.ign`.
pub fn ignition_volume_name(cluster: &Cluster, node: &Node) -> String {
    format!("{}-{}.ign", cluster.name, node.name)
}

/// Host path of the node's Ignition file, which QEMU reads through fw_cfg:
/// the Ignition volume in the root disk's pool.
pub fn ignition_path(cluster: &Cluster, node: &Node, host: &HostFacts) -> PathBuf {
    pool_path(cluster, host, &node.disk.pool).join(ignition_volume_name(cluster, node))
}

/// Host path of the domain's serial console log.
pub fn console_log_path(host: &HostFacts, domain: &str) -> PathBuf {
    // libvirt writes `<domain>.log` there itself: a name of our own
    host.console_dir.join(format!("{domain}-console.log"))
}

/// `path` as XML attribute or text (lossy only for non-UTF-8 paths, which
/// libvirt's XML cannot carry either).
pub(crate) fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
