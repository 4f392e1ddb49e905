//! The only module that talks to libvirt, behind a small trait.
//!
//! apply and destroy see a host through [`Backend`]: look objects up,
//! define, start, stop, delete them, upload a volume's bytes. The real
//! implementation (on libvirt's own `virt` bindings) works for any URI;
//! for tests only (`cfg(test)` or the `testing` feature), `fake::FakeBackend`
//! keeps state in memory, records every call and can fail call N, so every
//! failure path of apply is tested without a host.

use std::path::PathBuf;

#[cfg(any(test, feature = "testing"))]
pub mod fake;
mod gate;
pub mod real;
mod real_addr;
mod real_host;
mod real_lock;
mod real_stream;
#[cfg(any(test, feature = "testing"))]
pub mod uploads;

/// A domain as the host has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainState {
    /// Its persistent XML as libvirt reports it (defaults filled in).
    pub xml: String,
    /// Whether it is running.
    pub running: bool,
}

/// A storage pool as the host has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolState {
    /// Its XML.
    pub xml: String,
    /// Whether it is active (started).
    pub active: bool,
    /// Whether it is defined (persistent), not only running (transient).
    pub persistent: bool,
    /// Its target directory.
    pub path: PathBuf,
}

/// A network as the host has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkState {
    /// Its persistent XML.
    pub xml: String,
    /// Whether it is active.
    pub active: bool,
}

/// A volume as the host has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeState {
    /// Its XML.
    pub xml: String,
    /// Capacity in bytes.
    pub capacity: u64,
}

/// Where an address of a guest's interface was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddressSource {
    /// The DHCP lease its libvirt network handed out.
    Lease,
    /// The host's ARP table.
    Arp,
    /// The QEMU guest agent inside the guest.
    Agent,
}

impl AddressSource {
    /// `lease`, `arp`, `agent`.
    pub fn name(self) -> &'static str {
        match self {
            AddressSource::Lease => "lease",
            AddressSource::Arp => "arp",
            AddressSource::Agent => "agent",
        }
    }
}

/// An IPv4 address on one of a guest's interfaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The interface's MAC (lowercase).
    pub mac: String,
    /// The address.
    pub ip: std::net::Ipv4Addr,
}

/// A DHCP lease a libvirt network handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The client's MAC (lowercase).
    pub mac: String,
    /// The leased address.
    pub ip: std::net::Ipv4Addr,
    /// The host name the client sent, if any.
    pub hostname: Option<String>,
}

/// A cluster lock as the host holds it (see [`crate::apply::lock`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockState {
    /// What tells this holding of the lock from any later one (libvirt:
    /// the lock object's UUID).
    pub token: String,
    /// The holder's record, as written by [`Backend::create_lock`] or
    /// [`Backend::renew_lock`].
    pub record: String,
}

/// What a host says about itself: versions and capabilities, the facts
/// the preflight checks (see [`crate::preflight`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostInfo {
    /// libvirt's version on the host, as `major * 1_000_000 + minor *
    /// 1_000 + release` (`virConnectGetLibVersion`).
    pub libvirt_version: u64,
    /// The driver's name (`QEMU`, `TEST`).
    pub hypervisor: String,
    /// The hypervisor's version, encoded as `libvirt_version`
    /// (`virConnectGetVersion`).
    pub hypervisor_version: u64,
    /// The host's capabilities XML (`virConnectGetCapabilities`): which
    /// guest architectures and domain types it runs, its security models.
    pub capabilities: String,
}

/// A failed host operation: which, on what, and libvirt's own words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// libvirt refused or failed.
    #[error("{op} {object}: {message}")]
    Libvirt {
        /// The operation (`define domain`, `upload volume`, ...).
        op: String,
        /// The object (`domain potato-master1`, `volume default/x`).
        object: String,
        /// libvirt's message.
        message: String,
    },
    /// The object the operation needs does not exist.
    #[error("{op} {object}: no such object")]
    NotFound {
        /// The operation.
        op: String,
        /// The object.
        object: String,
    },
    /// A test's injected failure.
    #[cfg(any(test, feature = "testing"))]
    #[error("{op} {object}: injected failure (call {call})")]
    Injected {
        /// The operation.
        op: String,
        /// The object.
        object: String,
        /// The failing call's index (0-based).
        call: usize,
    },
}

/// Result of a host operation.
pub type BackendResult<T> = Result<T, BackendError>;

/// What apply needs from a libvirt host. Every method is one host
/// operation; implementations are shared between apply's worker threads.
pub trait Backend: Send + Sync {
    /// The connection URI.
    fn uri(&self) -> String;

    /// Names of every persistent domain.
    fn domains(&self) -> BackendResult<Vec<String>>;
    /// A domain, if defined.
    fn domain(&self, name: &str) -> BackendResult<Option<DomainState>>;
    /// Define (or redefine, keeping its UUID) a persistent domain.
    fn define_domain(&self, xml: &str) -> BackendResult<()>;
    /// Start a defined domain.
    fn start_domain(&self, name: &str) -> BackendResult<()>;
    /// Power a running domain off (no guest cooperation).
    fn stop_domain(&self, name: &str) -> BackendResult<()>;
    /// Undefine a stopped domain, with its NVRAM if any.
    fn undefine_domain(&self, name: &str) -> BackendResult<()>;

    /// A storage pool, if defined.
    fn pool(&self, name: &str) -> BackendResult<Option<PoolState>>;
    /// Create a pool, built (its directory made) and started, create the
    /// volume `marker` (XML) in it, then define it, autostarted; all or
    /// nothing. The marker is how a later run knows virtstrap made the
    /// pool. The pool runs before it is defined: one cut short in
    /// between is the one kind of pool that is running but not defined,
    /// so the next run can tell it from anyone else's and finish it.
    fn create_pool(&self, xml: &str, marker: &str) -> BackendResult<()>;
    /// Finish a running pool that [`Backend::create_pool`] was cut short
    /// in: create the marker volume unless it is there, define the pool,
    /// autostart it.
    fn finish_pool(&self, name: &str, marker: &str) -> BackendResult<()>;
    /// Stop a pool, remove its (empty) directory and undefine it.
    fn delete_pool(&self, name: &str) -> BackendResult<()>;

    /// A network, if defined.
    fn network(&self, name: &str) -> BackendResult<Option<NetworkState>>;
    /// Define and start a network, autostarted.
    fn create_network(&self, xml: &str) -> BackendResult<()>;
    /// Start a defined network, autostarted.
    fn start_network(&self, name: &str) -> BackendResult<()>;
    /// Stop and undefine a network.
    fn delete_network(&self, name: &str) -> BackendResult<()>;
    /// Add a DHCP host reservation, live and persistent, without
    /// redefining the network (guests on it keep their links).
    fn add_dhcp_host(&self, network: &str, host_xml: &str) -> BackendResult<()>;

    /// Names of the volumes in a pool.
    fn volumes(&self, pool: &str) -> BackendResult<Vec<String>>;
    /// A volume, if it exists.
    fn volume(&self, pool: &str, name: &str) -> BackendResult<Option<VolumeState>>;
    /// Create a volume from its XML.
    fn create_volume(&self, pool: &str, xml: &str) -> BackendResult<()>;
    /// Replace a volume's bytes (libvirt's storage upload: works remotely).
    fn upload_volume(&self, pool: &str, name: &str, data: &[u8]) -> BackendResult<()>;
    /// Grow a volume to `capacity` bytes.
    fn resize_volume(&self, pool: &str, name: &str, capacity: u64) -> BackendResult<()>;
    /// Delete a volume.
    fn delete_volume(&self, pool: &str, name: &str) -> BackendResult<()>;

    /// The lock `name`, if someone holds it.
    fn lock_state(&self, name: &str) -> BackendResult<Option<LockState>>;
    /// Take the lock `name`, holding `record` (an XML element): its token,
    /// or `None` when someone holds it already. Atomic on the host: of
    /// two clients taking one lock at once, exactly one gets it.
    fn create_lock(&self, name: &str, record: &str) -> BackendResult<Option<String>>;
    /// Replace the record of the lock `name` held under `token`; `false`
    /// when that holding is gone (the lock was broken).
    fn renew_lock(&self, name: &str, token: &str, record: &str) -> BackendResult<bool>;
    /// Release the lock `name` if it is still held under `token`; `false`
    /// when it is not (never removes another holder's lock).
    fn remove_lock(&self, name: &str, token: &str) -> BackendResult<bool>;

    /// Remove a DHCP host entry (as `<host/>` XML naming its MAC and
    /// address), live and persistent, without redefining the network.
    fn delete_dhcp_host(&self, network: &str, host_xml: &str) -> BackendResult<()>;
    /// The DHCP leases a network has handed out and that are current.
    fn dhcp_leases(&self, network: &str) -> BackendResult<Vec<Lease>>;
    /// The IPv4 addresses of a running domain's interfaces, as `source`
    /// knows them (empty when it knows none, or the domain is not running).
    fn interface_addresses(
        &self,
        domain: &str,
        source: AddressSource,
    ) -> BackendResult<Vec<InterfaceAddress>>;
    /// The host's versions and capabilities.
    fn host_info(&self) -> BackendResult<HostInfo>;

    /// The host's free memory in bytes (what placement spreads by).
    fn free_memory(&self) -> BackendResult<u64>;

    /// Replace a volume's bytes with the `len` bytes `data` holds,
    /// streamed (libvirt's storage upload: works remotely, needs no
    /// buffer of the whole image); fails, the volume's bytes then
    /// unspecified, when `data` fails or holds more or fewer bytes.
    fn upload_volume_from(
        &self,
        pool: &str,
        name: &str,
        len: u64,
        data: &mut dyn std::io::Read,
    ) -> BackendResult<()>;
    /// Stream a volume's bytes into `out` (libvirt's storage download);
    /// how many there were.
    fn download_volume(
        &self,
        pool: &str,
        name: &str,
        out: &mut dyn std::io::Write,
    ) -> BackendResult<u64>;
    /// Read a pool's volumes afresh from its storage (their formats and
    /// sizes, after an upload).
    fn refresh_pool(&self, pool: &str) -> BackendResult<()>;
}
