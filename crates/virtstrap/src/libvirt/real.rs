//! The [`Backend`] trait on a real libvirt host, through libvirt's own
//! Rust bindings (the `virt` crate): what apply and destroy call once the
//! plan is made. Any URI libvirt accepts works (`qemu:///system`,
//! `qemu+ssh://...`, `test:///default` for tests).
//!
//! Every libvirt failure comes back as [`BackendError::Libvirt`] carrying
//! libvirt's own message; a lookup of an object that does not exist is
//! `Ok(None)`, and an operation on one is [`BackendError::NotFound`]
//! (decided by libvirt's error code, never its text), as in
//! the test-only `FakeBackend`, whose semantics this follows.

use std::path::PathBuf;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::{Error as VirtError, ErrorNumber};
use virt::network::Network;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;
use virt::sys;

use super::gate::Gate;
use crate::xmltree::Element;

use super::{
    AddressSource, Backend, BackendError, BackendResult, DomainState, HostInfo, InterfaceAddress,
    Lease, LockState, NetworkState, PoolState, VolumeState,
};

/// A connection to one libvirt host.
#[derive(Debug)]
pub struct LibvirtBackend {
    conn: Connect,
    uri: String,
    /// Calls in flight on `conn` (see [`super::gate`]).
    gate: Gate,
}

impl LibvirtBackend {
    /// Connect to `uri`, or with `None` to libvirt's default (which
    /// honours `LIBVIRT_DEFAULT_URI`).
    ///
    /// This also stops libvirt printing every error to stderr (a
    /// process-wide setting): virtstrap reports them itself.
    pub fn connect(uri: Option<&str>) -> BackendResult<Self> {
        virt::error::clear_error_callback();
        let object = uri.unwrap_or("(default)");
        let conn = Connect::open(uri).map_err(failed("connect", object))?;
        // the URI libvirt resolved the default (or an alias) to
        let uri = match conn.uri() {
            Ok(u) => u,
            Err(_) => object.to_string(),
        };
        Ok(LibvirtBackend {
            conn,
            uri,
            gate: Gate::default(),
        })
    }

    /// The connection, for the lock's own file.
    pub(super) fn conn(&self) -> &Connect {
        &self.conn
    }

    fn lookup_domain(&self, op: &str, name: &str) -> BackendResult<Domain> {
        let found = self.conn.lookup_domain_by_name(name);
        required(
            found,
            ErrorNumber::NoDomain,
            op,
            &object(op, "domain", name),
        )
    }

    pub(super) fn lookup_pool(&self, op: &str, name: &str) -> BackendResult<StoragePool> {
        let found = self.conn.lookup_storage_pool_by_name(name);
        required(
            found,
            ErrorNumber::NoStoragePool,
            op,
            &object(op, "pool", name),
        )
    }

    pub(super) fn lookup_network(&self, op: &str, name: &str) -> BackendResult<Network> {
        let found = self.conn.lookup_network_by_name(name);
        required(
            found,
            ErrorNumber::NoNetwork,
            op,
            &object(op, "network", name),
        )
    }

    pub(super) fn lookup_volume(
        &self,
        op: &str,
        pool: &str,
        name: &str,
    ) -> BackendResult<StorageVol> {
        let p = self.lookup_pool(op, pool)?;
        let found = p.lookup_storage_vol_by_name(name);
        let object = object(op, "volume", &format!("{pool}/{name}"));
        required(found, ErrorNumber::NoStorageVolume, op, &object)
    }

    /// The UUID of the domain named in `xml`, spliced in when the XML
    /// has none and the domain exists: libvirt refuses to redefine a
    /// domain under a new UUID ("already exists with uuid ...").
    fn with_existing_uuid(&self, xml: &str) -> BackendResult<String> {
        const OP: &str = "define domain";
        let root = Element::parse(xml).map_err(|e| refused(OP, "(xml)", &e.to_string()))?;
        let (Some(name), None) = (root.text_at(&["name"]), root.child("uuid")) else {
            return Ok(xml.to_string());
        };
        let Some(dom) = found(
            self.conn.lookup_domain_by_name(name),
            ErrorNumber::NoDomain,
            OP,
            name,
        )?
        else {
            return Ok(xml.to_string());
        };
        let uuid = dom.uuid_string().map_err(failed(OP, name))?;
        let Some(at) = xml.find("</name>") else {
            return Ok(xml.to_string());
        };
        let at = at + "</name>".len();
        Ok(format!("{}<uuid>{uuid}</uuid>{}", &xml[..at], &xml[at..]))
    }
}

/// How an error names the object of `op`: bare when the op names its
/// kind (`start domain x`), else with it (`create volume`, `pool p`).
fn object(op: &str, kind: &str, name: &str) -> String {
    if op.ends_with(kind) {
        name.to_string()
    } else {
        format!("{kind} {name}")
    }
}

/// Turn a libvirt error into a [`BackendError::Libvirt`].
pub(super) fn failed<'a>(
    op: &'a str,
    object: &'a str,
) -> impl FnOnce(VirtError) -> BackendError + 'a {
    move |e| BackendError::Libvirt {
        op: op.into(),
        object: object.into(),
        message: e.message().to_string(),
    }
}

/// A refusal of our own (a precondition libvirt would not check).
fn refused(op: &str, object: &str, message: &str) -> BackendError {
    BackendError::Libvirt {
        op: op.into(),
        object: object.into(),
        message: message.into(),
    }
}

/// A lookup whose "no such object" error (`missing`) means `None`.
fn found<T>(
    r: Result<T, VirtError>,
    missing: ErrorNumber,
    op: &str,
    object: &str,
) -> BackendResult<Option<T>> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.code().is(missing) => Ok(None),
        Err(e) => Err(failed(op, object)(e)),
    }
}

/// A lookup whose "no such object" error is [`BackendError::NotFound`].
fn required<T>(
    r: Result<T, VirtError>,
    missing: ErrorNumber,
    op: &str,
    object: &str,
) -> BackendResult<T> {
    found(r, missing, op, object)?.ok_or_else(|| BackendError::NotFound {
        op: op.into(),
        object: object.into(),
    })
}

/// Whether libvirt refused a call's flags (an older or simpler driver,
/// like `test:///`, which says "unsupported flags").
fn flags_refused(e: &VirtError) -> bool {
    e.code()
        .is_any(vec![ErrorNumber::InvalidArg, ErrorNumber::NoSupport])
}

fn name_of(op: &str, xml: &str) -> BackendResult<String> {
    let root = Element::parse(xml).map_err(|e| refused(op, "(xml)", &e.to_string()))?;
    root.text_at(&["name"])
        .map(str::to_string)
        .ok_or_else(|| refused(op, "(xml)", "XML has no <name>"))
}

/// A pool's target directory, from its XML.
fn pool_path(xml: &str) -> PathBuf {
    let root = Element::parse(xml).ok();
    let path = root.as_ref().and_then(|r| r.text_at(&["target", "path"]));
    PathBuf::from(path.unwrap_or_default())
}

/// Stop (if active) and undefine (if persistent) a pool after a failed
/// create; the first error is the one reported, so this one is dropped.
/// Define a running pool from its own XML (so with its UUID), autostarted.
fn persist_pool(conn: &Connect, pool: &StoragePool) -> Result<(), virt::error::Error> {
    if !pool.is_persistent()? {
        let xml = pool.xml_desc(0)?;
        conn.define_storage_pool_xml(&xml, 0)?;
    }
    pool.set_autostart(true)
}

fn undo_pool(pool: &StoragePool) {
    if pool.is_active().unwrap_or(false) {
        let _ = pool.destroy();
    }
    let _ = pool.undefine();
}

/// As [`undo_pool`], for a network.
fn undo_network(net: &Network) {
    if net.is_active().unwrap_or(false) {
        let _ = net.destroy();
    }
    let _ = net.undefine();
}

/// Send all of `data` down an upload stream and finish it.
fn send_all(stream: &Stream, data: &[u8]) -> Result<(), VirtError> {
    let mut rest = data;
    while !rest.is_empty() {
        let sent = stream.send(rest)?;
        // a blocking stream sends at least one byte or fails; anything
        // else would loop forever
        let Some(n) = usize::try_from(sent).ok().filter(|n| *n > 0) else {
            return Err(VirtError::last_error());
        };
        rest = rest.get(n..).unwrap_or_default();
    }
    Ok(())
}

impl Backend for LibvirtBackend {
    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn domains(&self) -> BackendResult<Vec<String>> {
        let _place = self.gate.enter();
        let op = "list domains";
        let flags = sys::VIR_CONNECT_LIST_DOMAINS_PERSISTENT;
        let doms = self.conn.list_all_domains(flags).map_err(failed(op, ""))?;
        let mut names = doms
            .iter()
            .map(Domain::name)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed(op, ""))?;
        names.sort();
        Ok(names)
    }

    fn domain(&self, name: &str) -> BackendResult<Option<DomainState>> {
        let _place = self.gate.enter();
        let (op, object) = ("get domain", name.to_string());
        let found = found(
            self.conn.lookup_domain_by_name(name),
            ErrorNumber::NoDomain,
            op,
            &object,
        )?;
        let Some(dom) = found else { return Ok(None) };
        let xml = dom
            .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
            .map_err(failed(op, &object))?;
        let running = dom.is_active().map_err(failed(op, &object))?;
        Ok(Some(DomainState { xml, running }))
    }

    fn define_domain(&self, xml: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "define domain";
        let object = name_of(op, xml)?;
        let xml = self.with_existing_uuid(xml)?;
        self.conn
            .define_domain_xml(&xml)
            .map(drop)
            .map_err(failed(op, &object))
    }

    fn start_domain(&self, name: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "start domain";
        let dom = self.lookup_domain(op, name)?;
        dom.create().map_err(failed(op, name))
    }

    fn stop_domain(&self, name: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "stop domain";
        let dom = self.lookup_domain(op, name)?;
        dom.destroy().map_err(failed(op, name))
    }

    fn undefine_domain(&self, name: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let (op, object) = ("undefine domain", name.to_string());
        let dom = self.lookup_domain(op, name)?;
        // libvirt would turn a running domain transient and leave it
        // running: never what destroy means
        if dom.is_active().map_err(failed(op, &object))? {
            return Err(refused(op, &object, "domain is running"));
        }
        match dom.undefine_flags(sys::VIR_DOMAIN_UNDEFINE_NVRAM) {
            Err(e) if flags_refused(&e) => dom.undefine().map_err(failed(op, &object)),
            r => r.map_err(failed(op, &object)),
        }
    }

    fn pool(&self, name: &str) -> BackendResult<Option<PoolState>> {
        let _place = self.gate.enter();
        let (op, object) = ("get pool", name.to_string());
        let found = found(
            self.conn.lookup_storage_pool_by_name(name),
            ErrorNumber::NoStoragePool,
            op,
            &object,
        )?;
        let Some(pool) = found else { return Ok(None) };
        let xml = pool.xml_desc(0).map_err(failed(op, &object))?;
        let active = pool.is_active().map_err(failed(op, &object))?;
        let persistent = pool.is_persistent().map_err(failed(op, &object))?;
        let path = pool_path(&xml);
        Ok(Some(PoolState {
            xml,
            active,
            persistent,
            path,
        }))
    }

    fn create_pool(&self, xml: &str, marker: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "create pool";
        let object = name_of(op, xml)?;
        let build = sys::VIR_STORAGE_POOL_CREATE_WITH_BUILD;
        let pool = match self.conn.create_storage_pool_xml(xml, build) {
            // the test driver has no build-on-create (nor directories)
            Err(e) if e.code().is(ErrorNumber::InvalidArg) => {
                self.conn.create_storage_pool_xml(xml, 0)
            }
            other => other,
        }
        .map_err(failed(op, &object))?;
        let made = virt::storage_vol::StorageVol::create_xml(&pool, marker, 0)
            .map(drop)
            .and_then(|()| persist_pool(&self.conn, &pool));
        made.map_err(|e| {
            undo_pool(&pool);
            failed(op, &object)(e)
        })
    }

    fn finish_pool(&self, name: &str, marker: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let (op, object) = ("finish pool", name.to_string());
        let pool = self.lookup_pool(op, name)?;
        let marker_name = name_of(op, marker)?;
        if pool.lookup_storage_vol_by_name(&marker_name).is_err() {
            virt::storage_vol::StorageVol::create_xml(&pool, marker, 0)
                .map_err(failed(op, &object))?;
        }
        persist_pool(&self.conn, &pool).map_err(failed(op, &object))
    }

    fn delete_pool(&self, name: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let (op, object) = ("delete pool", name.to_string());
        let pool = self.lookup_pool(op, name)?;
        let was_active = pool.is_active().map_err(failed(op, &object))?;
        if was_active {
            // undefining a pool leaves its volumes on disk: refuse, as
            // the directory must be empty
            let vols = pool.num_of_volumes().map_err(failed(op, &object))?;
            if vols > 0 {
                return Err(refused(op, &object, "pool is not empty"));
            }
            // a running pool that is not defined would vanish when
            // stopped, leaving its directory: define it first
            persist_pool(&self.conn, &pool).map_err(failed(op, &object))?;
            pool.destroy().map_err(failed(op, &object))?;
        }
        if pool.is_persistent().map_err(failed(op, &object))? {
            // remove the (empty) directory create_pool built; a pool found
            // stopped may have lost it to an earlier, interrupted destroy,
            // and rmdir never removes a directory that still holds files
            match pool.delete(0) {
                Err(e) if was_active => return Err(failed(op, &object)(e)),
                _ => {}
            }
            pool.undefine().map_err(failed(op, &object))?;
        }
        Ok(())
    }

    fn network(&self, name: &str) -> BackendResult<Option<NetworkState>> {
        let _place = self.gate.enter();
        let (op, object) = ("get network", name.to_string());
        let found = found(
            self.conn.lookup_network_by_name(name),
            ErrorNumber::NoNetwork,
            op,
            &object,
        )?;
        let Some(net) = found else { return Ok(None) };
        let xml = match net.xml_desc(sys::VIR_NETWORK_XML_INACTIVE) {
            // the test driver has no separate persistent XML
            Err(e) if flags_refused(&e) => net.xml_desc(0),
            r => r,
        }
        .map_err(failed(op, &object))?;
        let active = net.is_active().map_err(failed(op, &object))?;
        Ok(Some(NetworkState { xml, active }))
    }

    fn create_network(&self, xml: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "create network";
        let object = name_of(op, xml)?;
        let net = self
            .conn
            .define_network_xml(xml)
            .map_err(failed(op, &object))?;
        let made = net.create().and_then(|()| net.set_autostart(true));
        made.map_err(|e| {
            undo_network(&net);
            failed(op, &object)(e)
        })
    }

    fn start_network(&self, name: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let (op, object) = ("start network", name.to_string());
        let net = self.lookup_network(op, name)?;
        net.create()
            .and_then(|()| net.set_autostart(true))
            .map_err(failed(op, &object))
    }

    fn delete_network(&self, name: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let (op, object) = ("delete network", name.to_string());
        let net = self.lookup_network(op, name)?;
        if net.is_active().map_err(failed(op, &object))? {
            net.destroy().map_err(failed(op, &object))?;
        }
        // a transient network is gone once destroyed
        match net.is_persistent() {
            Ok(true) => net.undefine().map_err(failed(op, &object)),
            Ok(false) => Ok(()),
            Err(e) if e.code().is(ErrorNumber::NoNetwork) => Ok(()),
            Err(e) => Err(failed(op, &object)(e)),
        }
    }

    fn add_dhcp_host(&self, network: &str, host_xml: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        self.update_dhcp_host(network, host_xml, sys::VIR_NETWORK_UPDATE_COMMAND_ADD_LAST)
    }

    fn volumes(&self, pool: &str) -> BackendResult<Vec<String>> {
        let _place = self.gate.enter();
        let op = "list volumes";
        let p = self.lookup_pool(op, pool)?;
        let object = pool.to_string();
        let vols = p.list_all_volumes(0).map_err(failed(op, &object))?;
        let mut names = vols
            .iter()
            .map(StorageVol::name)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed(op, &object))?;
        names.sort();
        Ok(names)
    }

    fn volume(&self, pool: &str, name: &str) -> BackendResult<Option<VolumeState>> {
        let _place = self.gate.enter();
        let (op, object) = ("get volume", format!("{pool}/{name}"));
        let missing_pool = ErrorNumber::NoStoragePool;
        let p = found(
            self.conn.lookup_storage_pool_by_name(pool),
            missing_pool,
            op,
            &object,
        )?;
        let Some(p) = p else { return Ok(None) };
        let found = found(
            p.lookup_storage_vol_by_name(name),
            ErrorNumber::NoStorageVolume,
            op,
            &object,
        )?;
        let Some(vol) = found else { return Ok(None) };
        let detail = |v: &StorageVol| -> Result<VolumeState, VirtError> {
            let xml = v.xml_desc(0)?;
            let capacity = v.info()?.capacity;
            Ok(VolumeState { xml, capacity })
        };
        match detail(&vol) {
            Ok(state) => Ok(Some(state)),
            // listed but its file is gone: a volume another (killed)
            // client was creating, which libvirt removed again; look at
            // the pool afresh once
            Err(e) if e.code().is(ErrorNumber::NoStorageVolume) => {
                let _ = p.refresh(0);
                match p.lookup_storage_vol_by_name(name) {
                    Ok(v) => match detail(&v) {
                        Ok(state) => Ok(Some(state)),
                        Err(e) if e.code().is(ErrorNumber::NoStorageVolume) => Ok(None),
                        Err(e) => Err(failed(op, &object)(e)),
                    },
                    Err(_) => Ok(None),
                }
            }
            Err(e) => Err(failed(op, &object)(e)),
        }
    }

    fn create_volume(&self, pool: &str, xml: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "create volume";
        let object = format!("{pool}/{}", name_of(op, xml)?);
        let p = self.lookup_pool(op, pool)?;
        StorageVol::create_xml(&p, xml, 0)
            .map(drop)
            .map_err(failed(op, &object))
    }

    fn upload_volume(&self, pool: &str, name: &str, data: &[u8]) -> BackendResult<()> {
        let _place = self.gate.enter();
        let (op, object) = ("upload volume", format!("{pool}/{name}"));
        let vol = self.lookup_volume(op, pool, name)?;
        let stream = Stream::new(&self.conn, 0).map_err(failed(op, &object))?;
        let len = u64::try_from(data.len()).expect("a slice's length fits in u64");
        vol.upload(&stream, 0, len, 0)
            .map_err(failed(op, &object))?;
        match send_all(&stream, data) {
            Ok(()) => stream.finish().map_err(failed(op, &object)),
            Err(e) => {
                // the send error is the cause; abort's own is noise
                let _ = stream.abort();
                Err(failed(op, &object)(e))
            }
        }
    }

    fn resize_volume(&self, pool: &str, name: &str, capacity: u64) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "resize volume";
        let vol = self.lookup_volume(op, pool, name)?;
        vol.resize(capacity, 0)
            .map_err(failed(op, &format!("{pool}/{name}")))
    }

    fn delete_volume(&self, pool: &str, name: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "delete volume";
        let vol = self.lookup_volume(op, pool, name)?;
        vol.delete(0).map_err(failed(op, &format!("{pool}/{name}")))
    }

    fn lock_state(&self, name: &str) -> BackendResult<Option<LockState>> {
        let _place = self.gate.enter();
        self.lock_state_impl(name)
    }

    fn create_lock(&self, name: &str, record: &str) -> BackendResult<Option<String>> {
        let _place = self.gate.enter();
        self.create_lock_impl(name, record)
    }

    fn renew_lock(&self, name: &str, token: &str, record: &str) -> BackendResult<bool> {
        let _place = self.gate.enter();
        self.renew_lock_impl(name, token, record)
    }

    fn remove_lock(&self, name: &str, token: &str) -> BackendResult<bool> {
        let _place = self.gate.enter();
        self.remove_lock_impl(name, token)
    }

    fn delete_dhcp_host(&self, network: &str, host_xml: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        self.update_dhcp_host(network, host_xml, sys::VIR_NETWORK_UPDATE_COMMAND_DELETE)
    }

    fn dhcp_leases(&self, network: &str) -> BackendResult<Vec<Lease>> {
        let _place = self.gate.enter();
        self.dhcp_leases_impl(network)
    }

    fn interface_addresses(
        &self,
        domain: &str,
        source: AddressSource,
    ) -> BackendResult<Vec<InterfaceAddress>> {
        let _place = self.gate.enter();
        self.interface_addresses_impl(domain, source)
    }

    fn host_info(&self) -> BackendResult<HostInfo> {
        let _place = self.gate.enter();
        self.host_info_impl()
    }

    fn free_memory(&self) -> BackendResult<u64> {
        let _place = self.gate.enter();
        self.free_memory_impl()
    }

    fn upload_volume_from(
        &self,
        pool: &str,
        name: &str,
        len: u64,
        data: &mut dyn std::io::Read,
    ) -> BackendResult<()> {
        let _place = self.gate.enter();
        self.upload_from_impl(pool, name, len, data)
    }

    fn download_volume(
        &self,
        pool: &str,
        name: &str,
        out: &mut dyn std::io::Write,
    ) -> BackendResult<u64> {
        let _place = self.gate.enter();
        self.download_impl(pool, name, out)
    }

    fn refresh_pool(&self, pool: &str) -> BackendResult<()> {
        let _place = self.gate.enter();
        let op = "refresh pool";
        let p = self.lookup_pool(op, pool)?;
        p.refresh(0).map_err(failed(op, pool))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_path_is_the_target_path() {
        let xml = "<pool type='dir'><name>p</name><source/>\
                   <target><path>/var/lib/p</path></target></pool>";
        assert_eq!(pool_path(xml), PathBuf::from("/var/lib/p"));
        assert_eq!(pool_path("<pool/>"), PathBuf::new());
    }
}
