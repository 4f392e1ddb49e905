//! Carrying out one [`Action`] on a host: the one `match` on the plan's
//! operations (spec -> plan -> **apply**), and the recoveries that make a
//! step safe to run after a killed apply whose calls libvirt finished
//! late.

use crate::libvirt::{Backend, BackendError};
use crate::plan::actual::ActualNetwork;
use crate::plan::{pool_marker, Action};
use crate::render::owner;
use crate::xmltree::Element;

fn marker_xml(cluster: &str) -> String {
    format!(
        "<volume><name>{}</name><capacity unit=\"bytes\">0</capacity><target><format type=\"raw\"/></target></volume>",
        pool_marker(cluster)
    )
}

/// Run one action. After a `kill -9`, libvirt finishes the calls the
/// dead client had sent, so the next apply can find an object made after
/// it planned: a failed action whose result is nevertheless in place
/// counts as done; a define that collided with this node's own domain,
/// defined meanwhile, is made again over it; and an owned domain that a
/// late start ran again before its undefine is stopped again first.
pub fn execute(backend: &dyn Backend, cluster: &str, action: &Action) -> Result<(), BackendError> {
    run_action(backend, cluster, action).or_else(|e| {
        if already_done(backend, action) {
            Ok(())
        } else if defined_meanwhile(backend, cluster, action) {
            run_action(backend, cluster, action)
        } else if let Some(name) = started_meanwhile(backend, cluster, action) {
            execute(backend, cluster, &Action::StopDomain { name })?;
            run_action(backend, cluster, action)
        } else {
            Err(e)
        }
    })
}

/// The domain `action` undefines, if it is running and this cluster's.
fn started_meanwhile(b: &dyn Backend, cluster: &str, action: &Action) -> Option<String> {
    let Action::UndefineDomain { name } = action else {
        return None;
    };
    let d = b.domain(name).ok().flatten()?;
    let ours = owner::read(&d.xml).is_some_and(|o| o.cluster == cluster);
    (d.running && ours).then(|| name.clone())
}

/// Whether `action` defines a domain that now exists and is recorded as
/// this cluster's same node: never someone else's.
fn defined_meanwhile(b: &dyn Backend, cluster: &str, action: &Action) -> bool {
    let Action::DefineDomain { name, xml } = action else {
        return false;
    };
    b.domain(name)
        .ok()
        .flatten()
        .and_then(|d| owner::read(&d.xml))
        .is_some_and(|o| o.is_node(cluster, xml.node()))
}

fn already_done(b: &dyn Backend, action: &Action) -> bool {
    let domain = |name: &str| b.domain(name).ok();
    let volume = |pool: &str, name: &str| b.volume(pool, name).ok();
    match action {
        Action::StartDomain { name } => domain(name).flatten().is_some_and(|d| d.running),
        Action::StartNetwork { name } => b.network(name).ok().flatten().is_some_and(|n| n.active),
        Action::StopDomain { name } => domain(name).flatten().is_some_and(|d| !d.running),
        Action::UndefineDomain { name } => domain(name).is_some_and(|d| d.is_none()),
        Action::CreateVolume { pool, name, .. } => volume(pool, name).flatten().is_some(),
        Action::DeleteVolume { pool, name } => volume(pool, name).is_some_and(|v| v.is_none()),
        Action::AddDhcpHost { network, xml } => has_host(b, network, xml) == Some(true),
        Action::DeleteDhcpHost { network, xml } => has_host(b, network, xml) == Some(false),
        _ => false,
    }
}

/// Whether `network` has a DHCP host entry for the MAC `host_xml` names
/// (`None`: the host could not tell).
fn has_host(b: &dyn Backend, network: &str, host_xml: &str) -> Option<bool> {
    let mac = Element::parse(host_xml)
        .ok()?
        .attr("mac")?
        .to_ascii_lowercase();
    let net = ActualNetwork::from_state(&b.network(network).ok()??);
    Some(net.dhcp_macs.contains(&mac))
}

/// The one `match` on [`Action`]: each is one backend call (two for a
/// pool's marker).
fn run_action(backend: &dyn Backend, cluster: &str, action: &Action) -> Result<(), BackendError> {
    match action {
        Action::CreatePool { xml, .. } => backend.create_pool(xml, &marker_xml(cluster)),
        Action::FinishPool { name } => backend.finish_pool(name, &marker_xml(cluster)),
        Action::CreateNetwork { xml, .. } => backend.create_network(xml),
        Action::StartNetwork { name } => backend.start_network(name),
        Action::AddDhcpHost { network, xml } => backend.add_dhcp_host(network, xml),
        Action::DeleteDhcpHost { network, xml } => backend.delete_dhcp_host(network, xml),
        Action::DefineDomain { xml, .. } => backend.define_domain(&xml.render()),
        Action::CreateVolume { pool, xml, .. } => backend.create_volume(pool, xml),
        Action::Upload { pool, name, data } => {
            let bytes = data.bytes().map_err(|e| BackendError::Libvirt {
                op: "render Ignition for".into(),
                object: format!("{pool}/{name}"),
                message: e.to_string(),
            })?;
            backend.upload_volume(pool, name, &bytes)
        }
        Action::Resize {
            pool,
            name,
            capacity,
        } => backend.resize_volume(pool, name, *capacity),
        Action::StartDomain { name } => backend.start_domain(name),
        Action::StopDomain { name } => backend.stop_domain(name),
        Action::UndefineDomain { name } => backend.undefine_domain(name),
        Action::DeleteVolume { pool, name } => backend.delete_volume(pool, name),
        Action::DeleteNetwork { name } => backend.delete_network(name),
        Action::DeletePool { name } => {
            let marker = pool_marker(cluster);
            if backend.volume(name, &marker)?.is_some() {
                backend.delete_volume(name, &marker)?;
            }
            backend.delete_pool(name)
        }
    }
}
