//! A backend whose volume uploads stay in memory, around one that has
//! none: libvirt's `test:///default` driver answers `virStorageVolUpload`
//! with "not supported by the connection driver". Everything else goes to
//! the wrapped backend, so apply can run whole on the test driver (in
//! tests and benchmarks); real uploads are tested on a real daemon.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{
    AddressSource, Backend, BackendError, BackendResult, DomainState, InterfaceAddress, Lease,
    LockState, NetworkState, PoolState, VolumeState,
};

/// `real` with uploads kept in memory.
pub struct MemoryUploads<B: Backend> {
    real: B,
    uploads: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl<B: Backend> MemoryUploads<B> {
    /// Wrap `real`.
    pub fn new(real: B) -> Self {
        MemoryUploads {
            real,
            uploads: Mutex::new(BTreeMap::new()),
        }
    }

    /// What was uploaded, by (pool, volume).
    pub fn uploads(&self) -> BTreeMap<(String, String), Vec<u8>> {
        self.uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl<B: Backend> Backend for MemoryUploads<B> {
    fn uri(&self) -> String {
        self.real.uri()
    }
    fn domains(&self) -> BackendResult<Vec<String>> {
        self.real.domains()
    }
    fn domain(&self, name: &str) -> BackendResult<Option<DomainState>> {
        self.real.domain(name)
    }
    fn define_domain(&self, xml: &str) -> BackendResult<()> {
        self.real.define_domain(xml)
    }
    fn start_domain(&self, name: &str) -> BackendResult<()> {
        self.real.start_domain(name)
    }
    fn stop_domain(&self, name: &str) -> BackendResult<()> {
        self.real.stop_domain(name)
    }
    fn undefine_domain(&self, name: &str) -> BackendResult<()> {
        self.real.undefine_domain(name)
    }
    fn pool(&self, name: &str) -> BackendResult<Option<PoolState>> {
        self.real.pool(name)
    }
    fn create_pool(&self, xml: &str, marker: &str) -> BackendResult<()> {
        self.real.create_pool(xml, marker)
    }
    fn finish_pool(&self, name: &str, marker: &str) -> BackendResult<()> {
        self.real.finish_pool(name, marker)
    }
    fn delete_pool(&self, name: &str) -> BackendResult<()> {
        self.real.delete_pool(name)
    }
    fn network(&self, name: &str) -> BackendResult<Option<NetworkState>> {
        self.real.network(name)
    }
    fn create_network(&self, xml: &str) -> BackendResult<()> {
        self.real.create_network(xml)
    }
    fn start_network(&self, name: &str) -> BackendResult<()> {
        self.real.start_network(name)
    }
    fn delete_network(&self, name: &str) -> BackendResult<()> {
        self.real.delete_network(name)
    }
    fn add_dhcp_host(&self, network: &str, host_xml: &str) -> BackendResult<()> {
        self.real.add_dhcp_host(network, host_xml)
    }
    fn volumes(&self, pool: &str) -> BackendResult<Vec<String>> {
        self.real.volumes(pool)
    }
    fn volume(&self, pool: &str, name: &str) -> BackendResult<Option<VolumeState>> {
        self.real.volume(pool, name)
    }
    fn create_volume(&self, pool: &str, xml: &str) -> BackendResult<()> {
        self.real.create_volume(pool, xml)
    }
    fn upload_volume(&self, pool: &str, name: &str, data: &[u8]) -> BackendResult<()> {
        if self.real.volume(pool, name)?.is_none() {
            return Err(BackendError::NotFound {
                op: "upload volume".into(),
                object: format!("{pool}/{name}"),
            });
        }
        let mut u = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        u.insert((pool.into(), name.into()), data.to_vec());
        Ok(())
    }
    fn resize_volume(&self, pool: &str, name: &str, capacity: u64) -> BackendResult<()> {
        self.real.resize_volume(pool, name, capacity)
    }
    fn delete_volume(&self, pool: &str, name: &str) -> BackendResult<()> {
        self.real.delete_volume(pool, name)
    }
    fn lock_state(&self, name: &str) -> BackendResult<Option<LockState>> {
        self.real.lock_state(name)
    }
    fn create_lock(&self, name: &str, record: &str) -> BackendResult<Option<String>> {
        self.real.create_lock(name, record)
    }
    fn renew_lock(&self, name: &str, token: &str, record: &str) -> BackendResult<bool> {
        self.real.renew_lock(name, token, record)
    }
    fn remove_lock(&self, name: &str, token: &str) -> BackendResult<bool> {
        self.real.remove_lock(name, token)
    }
    fn delete_dhcp_host(&self, network: &str, host_xml: &str) -> BackendResult<()> {
        self.real.delete_dhcp_host(network, host_xml)
    }
    fn dhcp_leases(&self, network: &str) -> BackendResult<Vec<Lease>> {
        self.real.dhcp_leases(network)
    }
    fn interface_addresses(
        &self,
        domain: &str,
        source: AddressSource,
    ) -> BackendResult<Vec<InterfaceAddress>> {
        self.real.interface_addresses(domain, source)
    }

    fn host_info(&self) -> BackendResult<super::HostInfo> {
        self.real.host_info()
    }

    fn free_memory(&self) -> BackendResult<u64> {
        self.real.free_memory()
    }

    fn upload_volume_from(
        &self,
        pool: &str,
        name: &str,
        len: u64,
        data: &mut dyn std::io::Read,
    ) -> BackendResult<()> {
        let mut bytes = Vec::new();
        let fail = |message: String| BackendError::Libvirt {
            op: "upload volume".into(),
            object: format!("{pool}/{name}"),
            message,
        };
        data.read_to_end(&mut bytes)
            .map_err(|e| fail(e.to_string()))?;
        if bytes.len() as u64 != len {
            return Err(fail(format!("{} bytes sent, {len} announced", bytes.len())));
        }
        self.upload_volume(pool, name, &bytes)
    }

    fn download_volume(
        &self,
        pool: &str,
        name: &str,
        out: &mut dyn std::io::Write,
    ) -> BackendResult<u64> {
        let key = (pool.to_string(), name.to_string());
        let held = self
            .uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        match held {
            Some(bytes) => {
                out.write_all(&bytes).map_err(|e| BackendError::Libvirt {
                    op: "download volume".into(),
                    object: format!("{pool}/{name}"),
                    message: e.to_string(),
                })?;
                Ok(bytes.len() as u64)
            }
            None => self.real.download_volume(pool, name, out),
        }
    }

    fn refresh_pool(&self, pool: &str) -> BackendResult<()> {
        self.real.refresh_pool(pool)
    }
}
