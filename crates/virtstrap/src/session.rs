//! A connected host with the spec rendered for it: where every command
//! that talks to a host starts (spec -> **connect** -> plan -> apply).
//! Which URI ([`resolve_uri`]), the connection, and the facts about the
//! host that rendering needs (the paths of the pools the nodes use).

use crate::libvirt::real::LibvirtBackend;
use crate::libvirt::{Backend, BackendError, HostInfo};
use crate::plan::{desired, Actual, Desired, Plan, PlanError};
use crate::preflight::{all_checks, checked_plan, Check, SpecFacts, View};
use crate::render::domain::DomainOptions;
use crate::render::host::HostFacts;
use crate::render::ignition::{ButaneSet, IgnitionError};
use crate::spec::{Cluster, DomainType, DEFAULT_CONNECT};

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// libvirt refused the connection.
    #[error(
        "cannot connect to {uri}: {why}\n  (the URI comes from --connect, else LIBVIRT_DEFAULT_URI, \
         else the spec's connect:, else {DEFAULT_CONNECT})"
    )]
    Connect {
        /// The URI tried.
        uri: String,
        /// libvirt's message.
        why: String,
    },
    /// Connected, but reading the host failed.
    #[error("reading {uri}: {source}")]
    Read {
        /// The URI.
        uri: String,
        /// What failed.
        source: BackendError,
    },
}

/// The URI to use: `--connect`, else `LIBVIRT_DEFAULT_URI` (`env`, when
/// set and not empty), else the spec's `connect:`, else
/// [`DEFAULT_CONNECT`].
pub fn resolve_uri(flag: Option<&str>, env: Option<&str>, spec: Option<&str>) -> String {
    flag.or(env.filter(|u| !u.is_empty()))
        .or(spec)
        .unwrap_or(DEFAULT_CONNECT)
        .to_string()
}

/// A spec, connected to its host.
pub struct Session {
    /// The cluster (on `test:` URIs, every node of the test driver's type).
    pub cluster: Cluster,
    /// Its Butane files, translated.
    pub butane: ButaneSet,
    /// The URI as libvirt resolved it.
    pub uri: String,
    /// The host.
    pub backend: LibvirtBackend,
    /// What rendering needs to know of the host.
    pub host: HostFacts,
    /// How domains are rendered.
    pub opts: DomainOptions,
    /// The nodes whose spec asks for `domain_type: kvm` (on `test:` URIs
    /// `cluster` runs every node as the test driver's type; the preflight
    /// checks what the spec asked for).
    pub kvm_nodes: Vec<String>,
}

impl Session {
    /// Connect to `uri` and read the host facts for `cluster`.
    pub fn open(
        cluster: Cluster,
        butane: ButaneSet,
        uri: &str,
        opts: DomainOptions,
    ) -> Result<Session, SessionError> {
        let backend = connect(uri)?;
        Session::with_backend(cluster, butane, backend, opts)
    }

    /// The session for `cluster` on a host already connected.
    pub fn with_backend(
        mut cluster: Cluster,
        butane: ButaneSet,
        backend: LibvirtBackend,
        opts: DomainOptions,
    ) -> Result<Session, SessionError> {
        let uri = backend.uri();
        let kvm_nodes = cluster
            .nodes
            .iter()
            .filter(|n| n.domain_type == DomainType::Kvm)
            .map(|n| n.name.clone())
            .collect();
        if uri.starts_with("test:") {
            // libvirt's test driver only defines domains of its own type
            for n in &mut cluster.nodes {
                n.domain_type = DomainType::Test;
            }
        }
        let host = host_facts(&backend, &cluster).map_err(|source| SessionError::Read {
            uri: uri.clone(),
            source,
        })?;
        Ok(Session {
            cluster,
            butane,
            uri,
            backend,
            host,
            opts,
            kvm_nodes,
        })
    }

    /// Plan against the host, refusing what it cannot run: the planner's
    /// refusals and every failed guarding preflight check (see
    /// [`crate::preflight::checked_plan`]).
    pub fn checked_plan(&self, want: &Desired, adopt: bool) -> Result<Plan, PlanError> {
        let info = self.backend.host_info()?;
        let view = View::for_uri(&self.uri);
        checked_plan(&self.backend, want, adopt, |actual| {
            spec_checks_of(self, &info, &view, want, actual)
        })
    }

    /// Everything the spec wants on this host.
    pub fn desired(&self) -> Result<Desired, IgnitionError> {
        desired(&self.cluster, &self.butane, &self.host, &self.opts)
    }
}

/// Every preflight check of this session's spec against `actual`.
pub fn spec_checks_of(
    s: &Session,
    info: &HostInfo,
    view: &View,
    want: &Desired,
    actual: &Actual,
) -> Vec<Check> {
    let facts = SpecFacts {
        want,
        actual,
        kvm_nodes: &s.kvm_nodes,
        commandline_fw_cfg: s.opts.qemu_commandline_fw_cfg,
    };
    all_checks(info, view, Some(&facts))
}

/// Connect to `uri`; libvirt's refusal as a [`SessionError::Connect`].
pub fn connect(uri: &str) -> Result<LibvirtBackend, SessionError> {
    LibvirtBackend::connect(Some(uri)).map_err(|e| SessionError::Connect {
        uri: uri.to_string(),
        why: match e {
            BackendError::Libvirt { message, .. } => message,
            other => other.to_string(),
        },
    })
}

/// The paths of the pools the nodes use, as the host has them.
pub fn host_facts(backend: &dyn Backend, c: &Cluster) -> Result<HostFacts, BackendError> {
    let mut host = HostFacts::default();
    let pools = c
        .nodes
        .iter()
        .flat_map(|n| std::iter::once(&n.disk).chain(&n.extra_disks))
        .map(|d| d.pool.clone())
        .chain(std::iter::once(c.image.pool.clone()));
    for pool in pools {
        if host.pool_paths.contains_key(&pool) || pool.is_empty() {
            continue;
        }
        if let Some(p) = backend.pool(&pool)? {
            host.pool_paths.insert(pool, p.path);
        }
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_comes_from_the_flag_then_the_environment_then_the_spec() {
        let spec = Some("qemu+ssh://box/system");
        assert_eq!(
            resolve_uri(Some("test:///default"), Some("x:///"), spec),
            "test:///default"
        );
        assert_eq!(resolve_uri(None, Some("x:///"), spec), "x:///");
        assert_eq!(resolve_uri(None, Some(""), spec), "qemu+ssh://box/system");
        assert_eq!(resolve_uri(None, None, None), DEFAULT_CONNECT);
    }
}
