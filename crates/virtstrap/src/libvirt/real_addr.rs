//! Addresses on a real libvirt host: DHCP host entries added and removed
//! with `virNetworkUpdate` (live and persistent, never a redefine that
//! would cut guests off), the leases a network handed out, and what
//! libvirt knows of a domain's interface addresses (lease, ARP table or
//! guest agent). What discovery and the address plan read; see
//! <https://libvirt.org/html/libvirt-libvirt-network.html>.

use std::ffi::CStr;
use std::net::Ipv4Addr;

use virt::error::ErrorNumber;
use virt::sys;

use super::real::LibvirtBackend;
use super::{AddressSource, BackendError, BackendResult, InterfaceAddress, Lease};

impl LibvirtBackend {
    /// Add or delete one `<host/>` of a network's DHCP section.
    pub(super) fn update_dhcp_host(
        &self,
        network: &str,
        host_xml: &str,
        command: sys::virNetworkUpdateCommand,
    ) -> BackendResult<()> {
        let op = if command == sys::VIR_NETWORK_UPDATE_COMMAND_DELETE {
            "delete dhcp host"
        } else {
            "add dhcp host"
        };
        let fail = |e: virt::error::Error| libvirt(op, network, &e);
        let net = self.lookup_network(op, network)?;
        // live too only when running: libvirt refuses a live update of
        // an inactive network
        let mut flags = sys::VIR_NETWORK_UPDATE_AFFECT_CONFIG;
        if net.is_active().map_err(fail)? {
            flags |= sys::VIR_NETWORK_UPDATE_AFFECT_LIVE;
        }
        net.update(
            command,
            sys::VIR_NETWORK_SECTION_IP_DHCP_HOST,
            -1,
            host_xml,
            flags,
        )
        .map_err(fail)
    }

    /// See [`super::Backend::interface_addresses`].
    pub(super) fn interface_addresses_impl(
        &self,
        domain: &str,
        source: AddressSource,
    ) -> BackendResult<Vec<InterfaceAddress>> {
        let op = "get addresses";
        let dom = match self.conn().lookup_domain_by_name(domain) {
            Ok(d) => d,
            Err(e) if e.code().is(ErrorNumber::NoDomain) => return Ok(Vec::new()),
            Err(e) => return Err(libvirt(op, domain, &e)),
        };
        let src = match source {
            AddressSource::Lease => sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
            AddressSource::Arp => sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
            AddressSource::Agent => sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
        };
        let interfaces = match dom.interface_addresses(src, 0) {
            Ok(i) => i,
            // not running, no agent, or a driver without this source:
            // nothing known from here
            Err(e) if unknown(&e) => return Ok(Vec::new()),
            Err(e) => return Err(libvirt(op, domain, &e)),
        };
        let mut out = Vec::new();
        for i in interfaces {
            let Some(mac) = i.hwaddr else { continue };
            let v4 = i
                .addrs
                .iter()
                .filter_map(|a| a.addr.parse::<Ipv4Addr>().ok());
            out.extend(v4.map(|ip| InterfaceAddress {
                mac: mac.to_ascii_lowercase(),
                ip,
            }));
        }
        Ok(out)
    }

    /// See [`super::Backend::dhcp_leases`].
    pub(super) fn dhcp_leases_impl(&self, network: &str) -> BackendResult<Vec<Lease>> {
        let op = "get leases";
        let net = match self.conn().lookup_network_by_name(network) {
            Ok(n) => n,
            Err(e) if e.code().is(ErrorNumber::NoNetwork) => return Ok(Vec::new()),
            Err(e) => return Err(libvirt(op, network, &e)),
        };
        match raw_leases(&net) {
            Ok(leases) => Ok(leases),
            Err(e) if unknown(&e) => Ok(Vec::new()),
            Err(e) => Err(libvirt(op, network, &e)),
        }
    }
}

/// Errors that mean "nothing known", not a failure: the domain or network
/// is not running, the agent does not answer, the driver lacks the call.
fn unknown(e: &virt::error::Error) -> bool {
    e.code().is_any(vec![
        ErrorNumber::OperationInvalid,
        ErrorNumber::NoSupport,
        ErrorNumber::AgentUnresponsive,
        ErrorNumber::ArgumentUnsupported,
    ])
}

/// `virNetworkGetDHCPLeases`, which the `virt` crate does not wrap: the
/// one call here into libvirt's C API directly (the workspace denies
/// unsafe code everywhere else). libvirt allocates the array and each
/// lease; both are freed before returning, and every string is copied.
#[allow(unsafe_code)]
fn raw_leases(net: &virt::network::Network) -> Result<Vec<Lease>, virt::error::Error> {
    let mut array: *mut sys::virNetworkDHCPLeasePtr = std::ptr::null_mut();
    // SAFETY: `net` is a live network handle; libvirt writes a pointer to
    // an array of `n` lease pointers into `array`, or returns -1.
    let n = unsafe { sys::virNetworkGetDHCPLeases(net.as_ptr(), std::ptr::null(), &mut array, 0) };
    if n < 0 {
        return Err(virt::error::Error::last_error());
    }
    let mut out = Vec::new();
    for i in 0..usize::try_from(n).unwrap_or(0) {
        // SAFETY: `i < n`, so the slot holds a valid lease pointer, which
        // libvirt allocated for us and we free once read.
        unsafe {
            let lease = *array.add(i);
            let text = |p: *mut std::os::raw::c_char| {
                (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
            };
            let ip = text((*lease).ipaddr).and_then(|a| a.parse().ok());
            if let (Some(mac), Some(ip)) = (text((*lease).mac), ip) {
                out.push(Lease {
                    mac: mac.to_ascii_lowercase(),
                    ip,
                    hostname: text((*lease).hostname),
                });
            }
            sys::virNetworkDHCPLeaseFree(lease);
        }
    }
    if !array.is_null() {
        // SAFETY: the array itself is libvirt's malloc'd memory, now empty.
        unsafe { libc::free(array.cast()) };
    }
    Ok(out)
}

fn libvirt(op: &str, object: &str, e: &virt::error::Error) -> BackendError {
    BackendError::Libvirt {
        op: op.into(),
        object: object.into(),
        message: e.message().to_string(),
    }
}
