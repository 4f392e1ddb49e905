//! An in-memory host for tests: the [`Backend`] trait over maps, every
//! call recorded, and any call can be made to fail (`fail_at(N)`), so a
//! test can interrupt apply at every step and check that the next apply
//! converges and destroy leaves nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use crate::xmltree::Element;

use super::{
    AddressSource, Backend, BackendError, BackendResult, DomainState, HostInfo, InterfaceAddress,
    Lease, LockState, NetworkState, PoolState, VolumeState,
};

/// The fake host's objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeState {
    /// Domains by name.
    pub domains: BTreeMap<String, DomainState>,
    /// Pools by name.
    pub pools: BTreeMap<String, PoolState>,
    /// Networks by name.
    pub networks: BTreeMap<String, NetworkState>,
    /// Volumes by (pool, name).
    pub volumes: BTreeMap<(String, String), VolumeState>,
    /// Uploaded volume contents by (pool, name).
    pub uploads: BTreeMap<(String, String), Vec<u8>>,
    /// Held locks by name.
    pub locks: BTreeMap<String, LockState>,
    /// Current DHCP leases by network.
    pub leases: BTreeMap<String, Vec<Lease>>,
    /// What each source knows of a domain's addresses.
    pub addresses: BTreeMap<(String, AddressSource), Vec<InterfaceAddress>>,
    /// Free memory in bytes (`None`: 8 GiB).
    pub free_memory: Option<u64>,
    /// What the host says about itself (default: [`fake_host_info`]).
    pub host_info: HostInfo,
}

/// A QEMU host where KVM works: libvirt 9.0.0, QEMU 7.2.0, x86_64
/// guests of type `qemu` and `kvm`, the DAC security model as uid and
/// gid 64055 (Debian's `libvirt-qemu`).
pub fn fake_host_info() -> HostInfo {
    HostInfo {
        libvirt_version: 9_000_000,
        hypervisor: "QEMU".into(),
        hypervisor_version: 7_002_000,
        capabilities: "<capabilities><host>\
            <secmodel><model>none</model><doi>0</doi></secmodel>\
            <secmodel><model>dac</model><doi>0</doi>\
            <baselabel type='kvm'>+64055:+64055</baselabel>\
            <baselabel type='qemu'>+64055:+64055</baselabel></secmodel></host>\
            <guest><os_type>hvm</os_type><arch name='x86_64'>\
            <domain type='qemu'/><domain type='kvm'/></arch></guest></capabilities>"
            .into(),
    }
}

impl Default for HostInfo {
    fn default() -> Self {
        fake_host_info()
    }
}

#[derive(Debug, Default)]
struct Inner {
    state: FakeState,
    calls: Vec<String>,
    fail_at: Option<usize>,
    late_define: Option<String>,
    late_start: Option<String>,
    tokens: usize,
}

/// An in-memory libvirt host.
#[derive(Debug, Default)]
pub struct FakeBackend {
    inner: Mutex<Inner>,
}

impl FakeBackend {
    /// An empty host.
    pub fn new() -> Self {
        Self::default()
    }

    /// A host holding `state` (pre-existing objects, foreign ones).
    pub fn with_state(state: FakeState) -> Self {
        FakeBackend {
            inner: Mutex::new(Inner {
                state,
                ..Inner::default()
            }),
        }
    }

    /// Make call number `n` (0-based, counted from now on, every method
    /// but `uri`) fail; `None` disarms.
    pub fn fail_at(&self, n: Option<usize>) {
        let mut g = self.lock();
        g.fail_at = n.map(|n| n + g.calls.len());
    }

    /// A define of `xml` sent by a client that was killed lands on the
    /// host during the next define of the same domain name, as libvirt
    /// finishes a dead client's calls: that define then fails the way
    /// libvirt's does (the domain exists with another UUID).
    pub fn define_lands_late(&self, xml: &str) {
        self.lock().late_define = Some(xml.to_string());
    }

    /// A start of domain `name` sent by a client that was killed, and
    /// queued in libvirt behind other jobs on the domain, runs just before
    /// the next undefine of that domain.
    pub fn start_lands_late(&self, name: &str) {
        self.lock().late_start = Some(name.to_string());
    }

    /// The calls made so far, as `op object` strings.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// A copy of the host's objects.
    pub fn state(&self) -> FakeState {
        self.lock().state.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // a panicking test thread cannot leave the maps half-updated
        // (every update is one insert or remove): keep using them
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record a call; fail it if it is the armed one.
    fn call(&self, op: &str, object: &str) -> BackendResult<MutexGuard<'_, Inner>> {
        let mut g = self.lock();
        let n = g.calls.len();
        g.calls.push(format!("{op} {object}"));
        if g.fail_at == Some(n) {
            return Err(BackendError::Injected {
                op: op.into(),
                object: object.into(),
                call: n,
            });
        }
        Ok(g)
    }
}

fn not_found(op: &str, object: &str) -> BackendError {
    BackendError::NotFound {
        op: op.into(),
        object: object.into(),
    }
}

fn refused(op: &str, object: &str, message: &str) -> BackendError {
    BackendError::Libvirt {
        op: op.into(),
        object: object.into(),
        message: message.into(),
    }
}

/// The text at `path` below the root of `xml`.
fn text_of(xml: &str, path: &[&str]) -> Option<String> {
    Element::parse(xml).ok()?.text_at(path).map(str::to_string)
}

fn name_of(op: &str, xml: &str) -> BackendResult<String> {
    text_of(xml, &["name"]).ok_or_else(|| refused(op, "(xml)", "XML has no <name>"))
}

impl Backend for FakeBackend {
    fn uri(&self) -> String {
        "fake:///".into()
    }

    fn domains(&self) -> BackendResult<Vec<String>> {
        let g = self.call("list domains", "")?;
        Ok(g.state.domains.keys().cloned().collect())
    }

    fn domain(&self, name: &str) -> BackendResult<Option<DomainState>> {
        let g = self.call("get domain", name)?;
        Ok(g.state.domains.get(name).cloned())
    }

    fn define_domain(&self, xml: &str) -> BackendResult<()> {
        let name = name_of("define domain", xml)?;
        let mut g = self.call("define domain", &name)?;
        let late = g
            .late_define
            .take_if(|x| text_of(x, &["name"]).as_deref() == Some(name.as_str()));
        if let Some(late) = late {
            g.state.domains.insert(
                name.clone(),
                DomainState {
                    xml: late,
                    running: false,
                },
            );
            let message = format!("operation failed: domain '{name}' already exists with uuid 0");
            return Err(refused("define domain", &name, &message));
        }
        let running = g.state.domains.get(&name).is_some_and(|d| d.running);
        g.state.domains.insert(
            name,
            DomainState {
                xml: xml.into(),
                running,
            },
        );
        Ok(())
    }

    fn start_domain(&self, name: &str) -> BackendResult<()> {
        let mut g = self.call("start domain", name)?;
        match g.state.domains.get_mut(name) {
            None => Err(not_found("start domain", name)),
            Some(d) if d.running => Err(refused("start domain", name, "domain is already running")),
            Some(d) => {
                d.running = true;
                Ok(())
            }
        }
    }

    fn stop_domain(&self, name: &str) -> BackendResult<()> {
        let mut g = self.call("stop domain", name)?;
        match g.state.domains.get_mut(name) {
            None => Err(not_found("stop domain", name)),
            Some(d) if !d.running => Err(refused("stop domain", name, "domain is not running")),
            Some(d) => {
                d.running = false;
                Ok(())
            }
        }
    }

    fn undefine_domain(&self, name: &str) -> BackendResult<()> {
        let mut g = self.call("undefine domain", name)?;
        if g.late_start.take_if(|n| n == name).is_some() {
            if let Some(d) = g.state.domains.get_mut(name) {
                d.running = true;
            }
        }
        match g.state.domains.get(name) {
            None => Err(not_found("undefine domain", name)),
            Some(d) if d.running => Err(refused("undefine domain", name, "domain is running")),
            Some(_) => {
                g.state.domains.remove(name);
                Ok(())
            }
        }
    }

    fn pool(&self, name: &str) -> BackendResult<Option<PoolState>> {
        let g = self.call("get pool", name)?;
        Ok(g.state.pools.get(name).cloned())
    }

    fn create_pool(&self, xml: &str, marker: &str) -> BackendResult<()> {
        let name = name_of("create pool", xml)?;
        let marker_name = name_of("create pool", marker)?;
        let mut g = self.call("create pool", &name)?;
        if g.state.pools.contains_key(&name) {
            return Err(refused("create pool", &name, "pool already exists"));
        }
        let path = PathBuf::from(text_of(xml, &["target", "path"]).unwrap_or_default());
        let pool = PoolState {
            xml: xml.into(),
            active: true,
            persistent: true,
            path,
        };
        let capacity = text_of(marker, &["capacity"])
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let vol = VolumeState {
            xml: marker.into(),
            capacity,
        };
        g.state.volumes.insert((name.clone(), marker_name), vol);
        g.state.pools.insert(name, pool);
        Ok(())
    }

    fn finish_pool(&self, name: &str, marker: &str) -> BackendResult<()> {
        let marker_name = name_of("finish pool", marker)?;
        let mut g = self.call("finish pool", name)?;
        let Some(pool) = g.state.pools.get_mut(name) else {
            return Err(not_found("finish pool", name));
        };
        if !pool.active {
            return Err(refused("finish pool", name, "pool is not active"));
        }
        pool.persistent = true;
        let vol = VolumeState {
            xml: marker.into(),
            capacity: 0,
        };
        g.state
            .volumes
            .entry((name.to_string(), marker_name))
            .or_insert(vol);
        Ok(())
    }

    fn delete_pool(&self, name: &str) -> BackendResult<()> {
        let mut g = self.call("delete pool", name)?;
        if !g.state.pools.contains_key(name) {
            return Err(not_found("delete pool", name));
        }
        if g.state.volumes.keys().any(|(p, _)| p == name) {
            return Err(refused("delete pool", name, "pool is not empty"));
        }
        g.state.pools.remove(name);
        Ok(())
    }

    fn network(&self, name: &str) -> BackendResult<Option<NetworkState>> {
        let g = self.call("get network", name)?;
        Ok(g.state.networks.get(name).cloned())
    }

    fn create_network(&self, xml: &str) -> BackendResult<()> {
        let name = name_of("create network", xml)?;
        let mut g = self.call("create network", &name)?;
        if g.state.networks.contains_key(&name) {
            return Err(refused("create network", &name, "network already exists"));
        }
        let net = NetworkState {
            xml: xml.into(),
            active: true,
        };
        g.state.networks.insert(name, net);
        Ok(())
    }

    fn start_network(&self, name: &str) -> BackendResult<()> {
        let mut g = self.call("start network", name)?;
        match g.state.networks.get_mut(name) {
            None => Err(not_found("start network", name)),
            Some(n) if n.active => Err(refused("start network", name, "network is already active")),
            Some(n) => {
                n.active = true;
                Ok(())
            }
        }
    }

    fn delete_network(&self, name: &str) -> BackendResult<()> {
        let mut g = self.call("delete network", name)?;
        g.state
            .networks
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| not_found("delete network", name))
    }

    fn add_dhcp_host(&self, network: &str, host_xml: &str) -> BackendResult<()> {
        let mut g = self.call("add dhcp host", network)?;
        let Some(net) = g.state.networks.get_mut(network) else {
            return Err(not_found("add dhcp host", network));
        };
        if net.xml.contains(host_xml) {
            return Err(refused(
                "add dhcp host",
                network,
                "there is an existing dhcp host entry",
            ));
        }
        let Some(at) = net.xml.find("</dhcp>") else {
            return Err(refused("add dhcp host", network, "network has no <dhcp>"));
        };
        net.xml.insert_str(at, host_xml);
        Ok(())
    }

    fn volumes(&self, pool: &str) -> BackendResult<Vec<String>> {
        let g = self.call("list volumes", pool)?;
        if !g.state.pools.contains_key(pool) {
            return Err(not_found("list volumes", pool));
        }
        let names = g.state.volumes.keys().filter(|(p, _)| p == pool);
        Ok(names.map(|(_, n)| n.clone()).collect())
    }

    fn volume(&self, pool: &str, name: &str) -> BackendResult<Option<VolumeState>> {
        let g = self.call("get volume", &format!("{pool}/{name}"))?;
        Ok(g.state.volumes.get(&(pool.into(), name.into())).cloned())
    }

    fn create_volume(&self, pool: &str, xml: &str) -> BackendResult<()> {
        let name = name_of("create volume", xml)?;
        let object = format!("{pool}/{name}");
        let mut g = self.call("create volume", &object)?;
        if !g.state.pools.contains_key(pool) {
            return Err(not_found("create volume", &object));
        }
        let key = (pool.to_string(), name);
        if g.state.volumes.contains_key(&key) {
            return Err(refused(
                "create volume",
                &object,
                "storage volume already exists",
            ));
        }
        let capacity = text_of(xml, &["capacity"])
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let vol = VolumeState {
            xml: xml.into(),
            capacity,
        };
        g.state.volumes.insert(key, vol);
        Ok(())
    }

    fn upload_volume(&self, pool: &str, name: &str, data: &[u8]) -> BackendResult<()> {
        let object = format!("{pool}/{name}");
        let mut g = self.call("upload volume", &object)?;
        let key = (pool.to_string(), name.to_string());
        if !g.state.volumes.contains_key(&key) {
            return Err(not_found("upload volume", &object));
        }
        g.state.uploads.insert(key, data.to_vec());
        Ok(())
    }

    fn resize_volume(&self, pool: &str, name: &str, capacity: u64) -> BackendResult<()> {
        let object = format!("{pool}/{name}");
        let mut g = self.call("resize volume", &object)?;
        let Some(v) = g
            .state
            .volumes
            .get_mut(&(pool.to_string(), name.to_string()))
        else {
            return Err(not_found("resize volume", &object));
        };
        if capacity < v.capacity {
            return Err(refused("resize volume", &object, "cannot shrink a volume"));
        }
        v.capacity = capacity;
        Ok(())
    }

    fn delete_volume(&self, pool: &str, name: &str) -> BackendResult<()> {
        let object = format!("{pool}/{name}");
        let mut g = self.call("delete volume", &object)?;
        let key = (pool.to_string(), name.to_string());
        g.state.uploads.remove(&key);
        g.state
            .volumes
            .remove(&key)
            .map(|_| ())
            .ok_or_else(|| not_found("delete volume", &object))
    }

    fn lock_state(&self, name: &str) -> BackendResult<Option<LockState>> {
        let g = self.call("get lock", name)?;
        Ok(g.state.locks.get(name).cloned())
    }

    fn create_lock(&self, name: &str, record: &str) -> BackendResult<Option<String>> {
        let mut g = self.call("create lock", name)?;
        if g.state.locks.contains_key(name) {
            return Ok(None);
        }
        g.tokens += 1;
        let token = format!("token-{}", g.tokens);
        let lock = LockState {
            token: token.clone(),
            record: record.into(),
        };
        g.state.locks.insert(name.into(), lock);
        Ok(Some(token))
    }

    fn renew_lock(&self, name: &str, token: &str, record: &str) -> BackendResult<bool> {
        let mut g = self.call("renew lock", name)?;
        match g.state.locks.get_mut(name) {
            Some(l) if l.token == token => {
                l.record = record.into();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn remove_lock(&self, name: &str, token: &str) -> BackendResult<bool> {
        let mut g = self.call("remove lock", name)?;
        let held = g.state.locks.get(name).is_some_and(|l| l.token == token);
        if held {
            g.state.locks.remove(name);
        }
        Ok(held)
    }

    fn delete_dhcp_host(&self, network: &str, host_xml: &str) -> BackendResult<()> {
        let mut g = self.call("delete dhcp host", network)?;
        let Some(net) = g.state.networks.get_mut(network) else {
            return Err(not_found("delete dhcp host", network));
        };
        let Some(at) = net.xml.find(host_xml) else {
            return Err(refused(
                "delete dhcp host",
                network,
                "couldn't locate a matching dhcp host entry",
            ));
        };
        net.xml.replace_range(at..at + host_xml.len(), "");
        Ok(())
    }

    fn dhcp_leases(&self, network: &str) -> BackendResult<Vec<Lease>> {
        let g = self.call("get leases", network)?;
        Ok(g.state.leases.get(network).cloned().unwrap_or_default())
    }

    fn interface_addresses(
        &self,
        domain: &str,
        source: AddressSource,
    ) -> BackendResult<Vec<InterfaceAddress>> {
        let g = self.call(&format!("get addresses ({})", source.name()), domain)?;
        let key = (domain.to_string(), source);
        Ok(g.state.addresses.get(&key).cloned().unwrap_or_default())
    }

    fn host_info(&self) -> BackendResult<HostInfo> {
        let g = self.call("get host info", "fake:///")?;
        Ok(g.state.host_info.clone())
    }

    fn free_memory(&self) -> BackendResult<u64> {
        let g = self.call("get free memory", "host")?;
        Ok(g.state.free_memory.unwrap_or(8 << 30))
    }

    fn upload_volume_from(
        &self,
        pool: &str,
        name: &str,
        len: u64,
        data: &mut dyn std::io::Read,
    ) -> BackendResult<()> {
        let object = format!("{pool}/{name}");
        let mut bytes = Vec::new();
        let read = data.read_to_end(&mut bytes);
        let mut g = self.call("upload volume", &object)?;
        let key = (pool.to_string(), name.to_string());
        if !g.state.volumes.contains_key(&key) {
            return Err(not_found("upload volume", &object));
        }
        if let Err(e) = read {
            return Err(refused("upload volume", &object, &e.to_string()));
        }
        if bytes.len() as u64 != len {
            let why = format!("{} bytes sent, {len} announced", bytes.len());
            return Err(refused("upload volume", &object, &why));
        }
        g.state.uploads.insert(key, bytes);
        Ok(())
    }

    fn download_volume(
        &self,
        pool: &str,
        name: &str,
        out: &mut dyn std::io::Write,
    ) -> BackendResult<u64> {
        let object = format!("{pool}/{name}");
        let g = self.call("download volume", &object)?;
        let key = (pool.to_string(), name.to_string());
        if !g.state.volumes.contains_key(&key) {
            return Err(not_found("download volume", &object));
        }
        let bytes = g.state.uploads.get(&key).cloned().unwrap_or_default();
        drop(g);
        out.write_all(&bytes)
            .map_err(|e| refused("download volume", &object, &e.to_string()))?;
        Ok(bytes.len() as u64)
    }

    fn refresh_pool(&self, pool: &str) -> BackendResult<()> {
        let g = self.call("refresh pool", pool)?;
        if !g.state.pools.contains_key(pool) {
            return Err(not_found("refresh pool", pool));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "<pool type='dir'><name>p</name><target><path>/x</path></target></pool>";
    const MARK: &str = "<volume><name>m</name><capacity unit='bytes'>0</capacity></volume>";

    #[test]
    fn objects_live_and_die() {
        let b = FakeBackend::new();
        b.create_pool(POOL, MARK).expect("pool");
        b.create_volume(
            "p",
            "<volume><name>v</name><capacity unit='bytes'>1024</capacity></volume>",
        )
        .expect("volume");
        assert_eq!(
            b.volume("p", "v").expect("get").map(|v| v.capacity),
            Some(1024)
        );
        assert!(b.delete_pool("p").is_err(), "a pool with volumes stays");
        b.delete_volume("p", "v").expect("delete volume");
        b.delete_volume("p", "m").expect("delete marker");
        b.delete_pool("p").expect("delete pool");
        assert_eq!(b.state(), FakeState::default());
    }

    #[test]
    fn domains_start_stop() {
        let b = FakeBackend::new();
        b.define_domain("<domain><name>d</name></domain>")
            .expect("define");
        b.start_domain("d").expect("start");
        assert!(b.undefine_domain("d").is_err(), "running domains stay");
        b.stop_domain("d").expect("stop");
        b.undefine_domain("d").expect("undefine");
        assert!(b.domain("d").expect("get").is_none());
    }

    #[test]
    fn injected_failures_hit_the_chosen_call() {
        let b = FakeBackend::new();
        b.create_pool(POOL, MARK).expect("pool");
        b.fail_at(Some(1));
        b.volumes("p").expect("call 0 passes");
        let e = b.pool("p").expect_err("call 1 fails");
        assert!(matches!(e, BackendError::Injected { call: 2, .. }), "{e:?}");
        b.pool("p").expect("later calls pass");
        assert_eq!(
            b.calls(),
            [
                "create pool p",
                "list volumes p",
                "get pool p",
                "get pool p"
            ]
        );
    }
}
