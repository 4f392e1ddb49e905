//! What the host has, read once: the second input of the diff (spec ->
//! desired -> plan, against **actual**). [`Actual::read`] is the one pass
//! that looks at the host (through a [`Backend`]) for every object the
//! spec names or this cluster's records list; the diff itself never
//! touches a host, so tests build an [`Actual`] by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::libvirt::{Backend, BackendError, DomainState, Lease, NetworkState, PoolState};
use crate::render::owner::{self, Owner};
use crate::xmltree::Element;

use super::desired::Desired;

/// The host's side of every object the spec names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actual {
    /// Pools by name; `None`: not on the host.
    pub pools: BTreeMap<String, Option<PoolState>>,
    /// The declared pools that hold this cluster's marker volume (made by
    /// virtstrap for this cluster).
    pub marked_pools: BTreeSet<String>,
    /// Networks by name; `None`: not on the host.
    pub networks: BTreeMap<String, Option<ActualNetwork>>,
    /// The nodes' domains by name; `None`: not defined.
    pub domains: BTreeMap<String, Option<ActualDomain>>,
    /// Volumes by (pool, name): `Some(capacity)` in bytes, `None`: not
    /// there. Absent: not looked at (its pool is stopped).
    pub volumes: BTreeMap<(String, String), Option<u64>>,
}

/// A network as the diff sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActualNetwork {
    /// Whether it is running.
    pub active: bool,
    /// Its owner record, if virtstrap made it.
    pub owner: Option<Owner>,
    /// The MAC addresses of its DHCP host entries (lowercase).
    pub dhcp_macs: BTreeSet<String>,
    /// Its IPv4 DHCP service, if libvirt runs one on it (a network in
    /// bridge mode onto a host bridge has none).
    pub dhcp: Option<NetworkDhcp>,
    /// Its forward mode, subnet and bridge; `None`: not known (its XML
    /// did not parse).
    pub shape: Option<NetworkShape>,
}

/// What a network is, in the terms a spec declares one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkShape {
    /// Its forward mode: `isolated` without `<forward>`, else its mode
    /// (`nat` when none is given, as libvirt defaults it).
    pub mode: String,
    /// The subnet of its first IPv4 `<ip>`, if it has one.
    pub subnet: Option<Ipv4Net>,
    /// Its `<bridge name>`, if it names one.
    pub bridge: Option<String>,
}

/// A network's IPv4 DHCP service as libvirt runs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkDhcp {
    /// The network's subnet (its `<ip address netmask|prefix>`).
    pub subnet: Option<Ipv4Net>,
    /// The ranges DHCP hands addresses out from, inclusive.
    pub ranges: Vec<(Ipv4Addr, Ipv4Addr)>,
    /// Its host entries.
    pub hosts: Vec<HostEntry>,
    /// Its current leases (read only for networks the spec does not
    /// declare, where virtstrap must find free addresses).
    pub leases: Vec<Lease>,
}

/// One `<host/>` of a network's DHCP section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostEntry {
    /// Its MAC (lowercase), if it names one.
    pub mac: Option<String>,
    /// Its name, if any.
    pub name: Option<String>,
    /// Its address, if any.
    pub ip: Option<Ipv4Addr>,
}

/// A domain as the diff sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActualDomain {
    /// Whether it is running.
    pub running: bool,
    /// Its owner record, if virtstrap made it.
    pub owner: Option<Owner>,
    /// vCPUs, as the definition says.
    pub vcpus: Option<u32>,
    /// Memory in MiB, as the definition says.
    pub memory_mib: Option<u64>,
}

impl Actual {
    /// Read what the host has of everything `want` names, and of the
    /// volumes this cluster's domains record.
    pub fn read(backend: &dyn Backend, want: &Desired) -> Result<Actual, BackendError> {
        let mut actual = Actual::default();
        actual.read_pools(backend, want)?;
        for name in want
            .networks_used()
            .into_iter()
            .chain(want.networks.iter().map(|n| n.name.as_str()))
        {
            if !actual.networks.contains_key(name) {
                let mut net = backend
                    .network(name)?
                    .map(|n| ActualNetwork::from_state(&n));
                // on a network the spec does not declare, virtstrap picks
                // addresses no lease holds
                let foreign = !want.declares_network(name);
                if let Some(dhcp) = net
                    .as_mut()
                    .filter(|n| foreign && n.active)
                    .and_then(|n| n.dhcp.as_mut())
                {
                    dhcp.leases = backend.dhcp_leases(name)?;
                }
                actual.networks.insert(name.to_string(), net);
            }
        }
        for node in &want.nodes {
            let domain = backend
                .domain(&node.domain)?
                .map(|d| ActualDomain::from_state(&d));
            let recorded = domain
                .as_ref()
                .and_then(|d| d.owner.as_ref())
                .filter(|o| o.is_node(&want.cluster, &node.node))
                .map(|o| o.volumes.clone())
                .unwrap_or_default();
            actual.domains.insert(node.domain.clone(), domain);
            let wanted = node
                .volumes
                .iter()
                .map(|v| (v.pool.clone(), v.name.clone()));
            for (pool, name) in wanted.chain(recorded) {
                actual.read_volume(backend, &pool, &name)?;
            }
        }
        if let Some((pool, name)) = &want.base_image {
            actual.read_volume(backend, pool, name)?;
        }
        Ok(actual)
    }

    fn read_pools(&mut self, backend: &dyn Backend, want: &Desired) -> Result<(), BackendError> {
        let declared = want.pools.iter().map(|(name, _)| name.as_str());
        for name in want.pools_used().into_iter().chain(declared) {
            if !self.pools.contains_key(name) {
                self.pools.insert(name.to_string(), backend.pool(name)?);
            }
        }
        let marker = pool_marker(&want.cluster);
        for (name, _) in &want.pools {
            let active = matches!(&self.pools[name], Some(p) if p.active);
            if active && backend.volume(name, &marker)?.is_some() {
                self.marked_pools.insert(name.clone());
            }
        }
        Ok(())
    }

    /// Look a volume up once; not in a stopped pool, where libvirt can
    /// find nothing (the diff reports the pool instead).
    fn read_volume(
        &mut self,
        backend: &dyn Backend,
        pool: &str,
        name: &str,
    ) -> Result<(), BackendError> {
        let key = (pool.to_string(), name.to_string());
        if self.volumes.contains_key(&key) {
            return Ok(());
        }
        let state = match self.pools.get(pool) {
            Some(Some(p)) if !p.active => return Ok(()),
            Some(None) => None,
            _ => backend.volume(pool, name)?.map(|v| v.capacity),
        };
        self.volumes.insert(key, state);
        Ok(())
    }

    /// A volume's state: `Some(None)` when it is not there, `None` when
    /// it was not looked at.
    pub fn volume(&self, pool: &str, name: &str) -> Option<Option<u64>> {
        self.volumes
            .get(&(pool.to_string(), name.to_string()))
            .copied()
    }

    /// The pool `name` as the host has it.
    pub fn pool(&self, name: &str) -> Option<&PoolState> {
        self.pools.get(name).and_then(Option::as_ref)
    }

    /// The network `name` as the host has it.
    pub fn network(&self, name: &str) -> Option<&ActualNetwork> {
        self.networks.get(name).and_then(Option::as_ref)
    }

    /// The domain `name` as the host has it.
    pub fn domain(&self, name: &str) -> Option<&ActualDomain> {
        self.domains.get(name).and_then(Option::as_ref)
    }
}

impl ActualNetwork {
    /// What the diff needs of a network's XML and state.
    pub fn from_state(state: &NetworkState) -> ActualNetwork {
        let root = Element::parse(&state.xml).ok();
        let dhcp = root.as_ref().and_then(network_dhcp);
        let dhcp_macs = dhcp
            .iter()
            .flat_map(|d| &d.hosts)
            .filter_map(|h| h.mac.clone())
            .collect();
        ActualNetwork {
            active: state.active,
            owner: root.as_ref().and_then(owner::from_element),
            dhcp_macs,
            dhcp,
            shape: root.as_ref().map(network_shape),
        }
    }

    /// Whether this network's record names `cluster`.
    pub fn owned_by(&self, cluster: &str) -> bool {
        self.owner.as_ref().is_some_and(|o| o.cluster == cluster)
    }
}

impl ActualDomain {
    /// What the diff needs of a domain's XML and state.
    pub fn from_state(state: &DomainState) -> ActualDomain {
        let Ok(root) = Element::parse(&state.xml) else {
            return ActualDomain {
                running: state.running,
                ..ActualDomain::default()
            };
        };
        ActualDomain {
            running: state.running,
            owner: owner::from_element(&root),
            vcpus: root.text_at(&["vcpu"]).and_then(|v| v.parse().ok()),
            memory_mib: root.child("memory").and_then(memory_mib),
        }
    }
}

/// A network's forward mode, subnet and bridge (formatnetwork,
/// "Connectivity": <https://libvirt.org/formatnetwork.html#connectivity>).
fn network_shape(root: &Element) -> NetworkShape {
    let mode = match root.child("forward") {
        None => "isolated".to_string(),
        Some(f) => f.attr("mode").unwrap_or("nat").to_string(),
    };
    let v4 = |ip: &&Element| ip.attr("family").is_none_or(|f| f == "ipv4");
    NetworkShape {
        mode,
        subnet: root.children("ip").find(v4).and_then(ip_subnet),
        bridge: root
            .child("bridge")
            .and_then(|b| b.attr("name"))
            .map(str::to_string),
    }
}

/// The subnet of an `<ip address= prefix=|netmask=>`.
fn ip_subnet(ip: &Element) -> Option<Ipv4Net> {
    let address: Ipv4Addr = ip.attr("address")?.parse().ok()?;
    let prefix = ip
        .attr("prefix")
        .and_then(|p| p.parse::<u8>().ok())
        .or_else(|| {
            let mask: Ipv4Addr = ip.attr("netmask")?.parse().ok()?;
            Some(u8::try_from(u32::from(mask).count_ones()).unwrap_or(0))
        })?;
    Ipv4Net::new(address, prefix).ok().map(|n| n.trunc())
}

/// The IPv4 `<ip>` with a `<dhcp>` in a network's XML (formatnetwork,
/// "Addressing": <https://libvirt.org/formatnetwork.html#addressing>).
fn network_dhcp(root: &Element) -> Option<NetworkDhcp> {
    let v4 = |ip: &&Element| ip.attr("family").is_none_or(|f| f == "ipv4");
    let ip = root
        .children("ip")
        .filter(v4)
        .find(|ip| ip.child("dhcp").is_some())?;
    let dhcp = ip.child("dhcp")?;
    let subnet = ip_subnet(ip);
    let ranges = dhcp
        .children("range")
        .filter_map(|r| Some((r.attr("start")?.parse().ok()?, r.attr("end")?.parse().ok()?)))
        .collect();
    let hosts = dhcp
        .children("host")
        .map(|h| HostEntry {
            mac: h.attr("mac").map(str::to_ascii_lowercase),
            name: h.attr("name").map(str::to_string),
            ip: h.attr("ip").and_then(|a| a.parse().ok()),
        })
        .collect();
    Some(NetworkDhcp {
        subnet,
        ranges,
        hosts,
        leases: Vec::new(),
    })
}

/// `<memory unit=...>` in MiB (libvirt reports KiB unless told).
fn memory_mib(e: &Element) -> Option<u64> {
    let value: u64 = e.text.parse().ok()?;
    // libvirt's units: formatdomain "Memory Allocation"
    let mib = match e.attr("unit").unwrap_or("KiB") {
        "b" | "bytes" => value >> 20,
        "KB" => (value * 1000) >> 20,
        "k" | "KiB" => value >> 10,
        "MB" => (value * 1_000_000) >> 20,
        "M" | "MiB" => value,
        "GB" => (value * 1_000_000_000) >> 20,
        "G" | "GiB" => value << 10,
        "T" | "TiB" => value << 20,
        _ => return None,
    };
    Some(mib)
}

/// The ownership marker volume in a pool virtstrap created.
pub fn pool_marker(cluster: &str) -> String {
    format!("{cluster}.virtstrap-pool")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_read_in_any_unit() {
        let mem = |xml: &str| memory_mib(&Element::parse(xml).expect("xml"));
        assert_eq!(mem("<memory unit='KiB'>4194304</memory>"), Some(4096));
        assert_eq!(mem("<memory>2097152</memory>"), Some(2048));
        assert_eq!(mem("<memory unit='GiB'>2</memory>"), Some(2048));
        assert_eq!(mem("<memory unit='MiB'>512</memory>"), Some(512));
        assert_eq!(mem("<memory unit='bytes'>1073741824</memory>"), Some(1024));
        assert_eq!(mem("<memory unit='parsec'>1</memory>"), None);
    }

    #[test]
    fn a_domain_is_read_from_its_xml() {
        let xml = format!(
            "<domain type='qemu'><name>c-n</name><metadata>\
             <vs:owner xmlns:vs='{}' cluster='c' node='n' spec-hash='s' ignition-hash='i'>\
             <vs:volume pool='p' name='v'/></vs:owner></metadata>\
             <memory unit='KiB'>1048576</memory><vcpu placement='static'>2</vcpu></domain>",
            owner::OWNER_NS
        );
        let d = ActualDomain::from_state(&DomainState { xml, running: true });
        assert!(d.running);
        assert_eq!((d.vcpus, d.memory_mib), (Some(2), Some(1024)));
        let o = d.owner.expect("owner");
        assert!(o.is_node("c", "n"));
        assert_eq!((o.spec_hash.as_str(), o.ignition_hash.as_str()), ("s", "i"));
    }

    #[test]
    fn a_network_lists_its_dhcp_hosts() {
        let xml = "<network><name>n</name><ip address='10.0.0.1'><dhcp>\
                   <range start='10.0.0.100' end='10.0.0.200'/>\
                   <host mac='52:54:00:AA:bb:cc' ip='10.0.0.5'/></dhcp></ip></network>";
        let n = ActualNetwork::from_state(&NetworkState {
            xml: xml.into(),
            active: false,
        });
        assert_eq!(
            n.dhcp_macs,
            BTreeSet::from(["52:54:00:aa:bb:cc".to_string()])
        );
        assert!(!n.owned_by("c"));
    }
}
