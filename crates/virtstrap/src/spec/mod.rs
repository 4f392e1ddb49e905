//! The cluster spec: what `cluster.yaml` (or the write-up's Ansible vars
//! file) says, loaded, defaulted, expanded (`count`) and checked. This is
//! the first step of spec -> render -> plan -> apply; everything here is
//! pure data, and [`load`] reports every problem with file, line, column
//! and key path before anything touches a host.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

mod capacity;
mod checks;
mod cluster;
mod expand;
mod files;
mod hosts;
mod load;
mod macs;
mod node;
mod problem;
mod reader;
pub mod size;
mod vars;

pub use load::{load, load_str, LoadOptions};
pub use problem::{SpecError, SpecProblem};

/// The MAC a NIC of `node` in `cluster` on `network` gets unless the spec
/// gives one: `52:54:00` (QEMU's prefix, which libvirt uses) and three
/// bytes of SHA-256 over the three names, each length-prefixed so that no
/// two different triples hash the same input. Collisions (24 bits) are
/// resolved by [`load`]: every NIC but the first (in spec order) of those
/// that would share a MAC gets [`derived_mac_retry`]'s instead, so a NIC
/// whose MAC collides with nothing keeps this one.
pub fn derived_mac(cluster: &str, node: &str, network: &str) -> String {
    derived_mac_retry(cluster, node, network, 0)
}

/// The MAC [`derived_mac`] gives at `attempt` 0, and further candidates
/// for a NIC whose earlier ones were taken: the attempt number is hashed
/// after the names (a longer input than any attempt 0, so no retry can
/// equal another triple's first MAC by construction).
pub fn derived_mac_retry(cluster: &str, node: &str, network: &str, attempt: u64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"virtstrap-mac-v1");
    for part in [cluster, node, network] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    if attempt > 0 {
        h.update(attempt.to_be_bytes());
    }
    let d = h.finalize();
    format!("52:54:00:{:02x}:{:02x}:{:02x}", d[0], d[1], d[2])
}

/// Default libvirt URI when neither the spec, `--connect` nor
/// `LIBVIRT_DEFAULT_URI` names one.
pub const DEFAULT_CONNECT: &str = "qemu:///system";

/// A whole cluster, with every node expanded and defaulted.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// Cluster name: labels every object, prefixes volume names.
    pub name: String,
    /// libvirt URI from the spec (`None`: use the caller's default).
    pub connect: Option<String>,
    /// Guest OS family: decides the fw_cfg key and default user.
    pub os: Os,
    /// Base image of every root disk.
    pub image: Image,
    /// Keys added to the OS's default user on every node.
    pub ssh_authorized_keys: Vec<String>,
    /// Butane files merged, in order, into every node's config.
    pub butane: Vec<PathBuf>,
    /// How domains are named.
    pub domain_name: DomainNaming,
    /// Nodes, expanded (`count`) and in spec order.
    pub nodes: Vec<Node>,
    /// Storage pools the spec declares (created if missing, owned).
    pub pools: Vec<Pool>,
    /// Networks the spec declares (created if missing, owned).
    pub networks: Vec<Network>,
    /// `hosts:`, in the order written: the libvirt hosts the nodes run
    /// on. Empty: one host, the one `connect:` (or the caller) names.
    pub hosts: Vec<Host>,
}

impl Cluster {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The declared network named `name`.
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// The libvirt domain name of `node`.
    pub fn domain_name(&self, node: &Node) -> String {
        match self.domain_name {
            DomainNaming::Prefixed => format!("{}-{}", self.name, node.name),
            DomainNaming::Node => node.name.clone(),
        }
    }
}

/// Guest OS family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    /// Fedora CoreOS: Ignition at fw_cfg `opt/com.coreos/config`.
    Fcos,
    /// Flatcar: Ignition at fw_cfg `opt/org.flatcar-linux/config`.
    Flatcar,
}

impl Os {
    /// The fw_cfg entry Ignition reads its config from.
    pub fn fw_cfg_key(self) -> &'static str {
        match self {
            Os::Fcos => "opt/com.coreos/config",
            Os::Flatcar => "opt/org.flatcar-linux/config",
        }
    }

    /// The OS's default login user.
    pub fn default_user(self) -> &'static str {
        "core"
    }

    /// The Butane variant for this OS.
    pub fn butane_variant(self) -> &'static str {
        match self {
            Os::Fcos => "fcos",
            Os::Flatcar => "flatcar",
        }
    }
}

/// How libvirt domains are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainNaming {
    /// `<cluster>-<node>` (default: several clusters share a host).
    Prefixed,
    /// The bare node name (as the write-up names its VMs).
    Node,
}

/// The base image root disks are layered on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Pool holding it.
    pub pool: String,
    /// Volume name in that pool.
    pub volume: String,
    /// Its format (`qcow2` unless told).
    pub format: String,
}

/// One VM.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Node name (also its hostname).
    pub name: String,
    /// Kubernetes roles.
    pub roles: Vec<Role>,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Root disk: a qcow2 overlay on the base image.
    pub disk: Disk,
    /// Further empty disks.
    pub extra_disks: Vec<Disk>,
    /// Network interfaces, in order.
    pub networks: Vec<Nic>,
    /// Butane files appended after the cluster's, in order.
    pub butane: Vec<PathBuf>,
    /// `kvm`, or `qemu` for software emulation.
    pub domain_type: DomainType,
    /// Direct kernel boot instead of disk boot.
    pub boot: Option<Boot>,
    /// Which host it runs on.
    pub placement: Placement,
}

/// A libvirt host of a cluster that spans several (`hosts:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// The spec's name for it (what `host:` names).
    pub name: String,
    /// Its libvirt URI.
    pub uri: String,
}

/// Where a node runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// On the one host of a spec without `hosts:`.
    Single,
    /// On the named host (`host:`).
    Host(String),
    /// On one of the hosts, chosen by free memory (`placement: spread`).
    Spread,
}

/// A Kubernetes role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Runs the control plane.
    ControlPlane,
    /// Runs workloads.
    Worker,
    /// Runs etcd.
    Etcd,
}

impl Role {
    /// Name as written in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ControlPlane => "control-plane",
            Role::Worker => "worker",
            Role::Etcd => "etcd",
        }
    }
}

/// A disk: where and how big.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// Storage pool.
    pub pool: String,
    /// Capacity in bytes.
    pub size_bytes: u64,
}

/// One network interface of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nic {
    /// libvirt network name.
    pub network: String,
    /// Fixed address (a DHCP reservation), when given.
    pub ip: Option<Ipv4Addr>,
    /// MAC address, when given (else derived from cluster, node, network);
    /// set by [`load`] for a NIC whose derived MAC would collide.
    pub mac: Option<String>,
}

/// Hypervisor type of a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainType {
    /// Hardware virtualization.
    Kvm,
    /// Software emulation (TCG), where KVM is unusable.
    Qemu,
    /// libvirt's in-process test driver (`test:///default`), used when
    /// the URI is a test one; never written in a spec.
    Test,
}

impl DomainType {
    /// Name as libvirt writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainType::Kvm => "kvm",
            DomainType::Qemu => "qemu",
            DomainType::Test => "test",
        }
    }
}

/// Direct kernel boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Boot {
    /// Kernel image path on the host.
    pub kernel: PathBuf,
    /// Initrd path on the host.
    pub initrd: Option<PathBuf>,
    /// Kernel command line.
    pub cmdline: Option<String>,
}

/// A directory storage pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Pool name.
    pub name: String,
    /// Target directory.
    pub path: PathBuf,
}

/// A libvirt network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// Network name.
    pub name: String,
    /// Forward mode.
    pub mode: NetMode,
    /// Address range (nat and isolated networks).
    pub cidr: Option<Ipv4Net>,
    /// Host bridge (bridge mode) or the bridge libvirt creates.
    pub bridge: Option<String>,
}

/// How a network reaches the outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetMode {
    /// NAT to the host's uplink.
    Nat,
    /// No forwarding: guests and host only.
    Isolated,
    /// An existing host bridge.
    Bridge,
}

impl NetMode {
    /// Name as written in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            NetMode::Nat => "nat",
            NetMode::Isolated => "isolated",
            NetMode::Bridge => "bridge",
        }
    }
}
