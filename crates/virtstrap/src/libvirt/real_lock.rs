//! The cluster lock on a real libvirt host: a defined (never started)
//! network named after the lock, whose `<metadata>` holds the holder's
//! record and whose UUID is the token. libvirt refuses to define a second
//! network of the same name under another UUID, under its own driver lock,
//! so of two clients taking the lock at once exactly one succeeds, on any
//! URI and from any machine; the lock lives as long as the host's config.
//! A network has no bridge, address or firewall rule until it is started,
//! and this one never is.

use virt::error::ErrorNumber;
use virt::network::Network;

use super::real::LibvirtBackend;
use super::{BackendError, BackendResult, LockState};

impl LibvirtBackend {
    /// See [`super::Backend::lock_state`].
    pub(super) fn lock_state_impl(&self, name: &str) -> BackendResult<Option<LockState>> {
        let op = "get lock";
        let Some(net) = self.lock_network(op, name)? else {
            return Ok(None);
        };
        let fail = |e: virt::error::Error| libvirt(op, name, &e);
        let record = net.xml_desc(0).map_err(fail)?;
        let token = net.uuid_string().map_err(fail)?;
        Ok(Some(LockState { token, record }))
    }

    /// See [`super::Backend::create_lock`].
    pub(super) fn create_lock_impl(
        &self,
        name: &str,
        record: &str,
    ) -> BackendResult<Option<String>> {
        let op = "take lock";
        let xml = lock_xml(name, None, record);
        match self.conn().define_network_xml(&xml) {
            Ok(net) => net
                .uuid_string()
                .map(Some)
                .map_err(|e| libvirt(op, name, &e)),
            // "already exists with uuid ...": someone holds it
            Err(e) => match self.lock_network(op, name)? {
                Some(_) => Ok(None),
                None => Err(libvirt(op, name, &e)),
            },
        }
    }

    /// See [`super::Backend::renew_lock`].
    pub(super) fn renew_lock_impl(
        &self,
        name: &str,
        token: &str,
        record: &str,
    ) -> BackendResult<bool> {
        let op = "renew lock";
        if self.held_as(op, name, token)?.is_none() {
            return Ok(false);
        }
        // the same name and UUID: libvirt replaces the definition
        match self
            .conn()
            .define_network_xml(&lock_xml(name, Some(token), record))
        {
            Ok(_) => Ok(true),
            Err(e) if e.code().is(ErrorNumber::OperationFailed) => Ok(false),
            Err(e) => Err(libvirt(op, name, &e)),
        }
    }

    /// See [`super::Backend::remove_lock`].
    pub(super) fn remove_lock_impl(&self, name: &str, token: &str) -> BackendResult<bool> {
        let op = "release lock";
        let Some(net) = self.held_as(op, name, token)? else {
            return Ok(false);
        };
        // the handle is the UUID: if the lock was broken and taken again
        // meanwhile, libvirt finds no network of that UUID to undefine
        match net.undefine() {
            Ok(()) => Ok(true),
            Err(e) if e.code().is(ErrorNumber::NoNetwork) => Ok(false),
            Err(e) => Err(libvirt(op, name, &e)),
        }
    }

    fn lock_network(&self, op: &str, name: &str) -> BackendResult<Option<Network>> {
        match self.conn().lookup_network_by_name(name) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.code().is(ErrorNumber::NoNetwork) => Ok(None),
            Err(e) => Err(libvirt(op, name, &e)),
        }
    }

    /// The lock network if it is still the one held under `token`.
    fn held_as(&self, op: &str, name: &str, token: &str) -> BackendResult<Option<Network>> {
        let net = match self.conn().lookup_network_by_uuid_string(token) {
            Ok(n) => n,
            Err(e) if e.code().is(ErrorNumber::NoNetwork) => return Ok(None),
            Err(e) => return Err(libvirt(op, name, &e)),
        };
        let same = net.name().map_err(|e| libvirt(op, name, &e))? == name;
        Ok(same.then_some(net))
    }
}

fn lock_xml(name: &str, token: Option<&str>, record: &str) -> String {
    let uuid = token
        .map(|t| format!("<uuid>{t}</uuid>"))
        .unwrap_or_default();
    let name = quick_xml::escape::escape(name);
    format!("<network><name>{name}</name>{uuid}<metadata>{record}</metadata></network>")
}

fn libvirt(op: &str, name: &str, e: &virt::error::Error) -> BackendError {
    BackendError::Libvirt {
        op: op.into(),
        object: name.into(),
        message: e.message().to_string(),
    }
}
