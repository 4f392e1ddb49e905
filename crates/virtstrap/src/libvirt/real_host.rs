//! What a host says about itself: versions, capabilities, free memory
//! (the preflight's and placement's facts), for [`LibvirtBackend`].

use virt::sys;

use super::real::{failed, LibvirtBackend};
use super::{Backend, BackendResult, HostInfo};

impl LibvirtBackend {
    /// libvirt's and the hypervisor's versions and the capabilities XML.
    pub(super) fn host_info_impl(&self) -> BackendResult<HostInfo> {
        let failed = |e| failed("get host info", &self.uri())(e);
        let conn = self.conn();
        Ok(HostInfo {
            libvirt_version: conn.lib_version().map_err(failed)?.into(),
            hypervisor: conn.driver_type().map_err(failed)?,
            hypervisor_version: conn.hyp_version().map_err(failed)?.into(),
            capabilities: conn.capabilities().map_err(failed)?,
        })
    }

    /// The host's free memory in bytes; for a driver that does not report
    /// it (libvirt's test driver), its memory less what its running
    /// domains were given.
    pub(super) fn free_memory_impl(&self) -> BackendResult<u64> {
        if let Ok(bytes) = self.conn().free_memory() {
            return Ok(bytes);
        }
        let op = "get free memory";
        let info = self.conn().node_info().map_err(failed(op, "host"))?;
        let flags = sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE;
        let running = self
            .conn()
            .list_all_domains(flags)
            .map_err(failed(op, "host"))?;
        let used: u64 = running
            .iter()
            .filter_map(|d| d.info().ok())
            .map(|i| i.memory)
            .sum();
        Ok(info.memory.saturating_sub(used) * 1024)
    }
}
