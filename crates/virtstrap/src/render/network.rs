//! Network XML (libvirt's formatnetwork,
//! <https://libvirt.org/formatnetwork.html>) for the networks the spec
//! declares: nat, isolated or an existing host bridge, with a DHCP
//! reservation per node NIC so each node's IP is known before it boots.
//! Part of render: spec in, XML text out. The reservations are also what
//! `apply` adds live with `virNetworkUpdate`, never by redefining.

use crate::spec::{Cluster, NetMode, Network};

use super::addr::{dhcp_range, gateway, ips, nic_mac};
use super::owner::{self, Owner};
use super::xml::Xml;

/// One DHCP host reservation: a NIC's MAC, its node's name, its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpHost {
    /// The NIC's MAC.
    pub mac: String,
    /// The node's name (its hostname).
    pub name: String,
    /// The reserved address.
    pub ip: std::net::Ipv4Addr,
}

/// The reservations on `network`, in node order: one per NIC on it that
/// has an address (see [`super::addr::ip`]).
pub fn dhcp_hosts(cluster: &Cluster, network: &Network) -> Vec<DhcpHost> {
    let mut hosts = Vec::new();
    let ips = ips(cluster);
    for (n, node) in cluster.nodes.iter().enumerate() {
        for (k, nic) in node.networks.iter().enumerate() {
            if nic.network != network.name {
                continue;
            }
            if let Some(ip) = ips[n][k] {
                let mac = nic_mac(cluster, &node.name, nic);
                hosts.push(DhcpHost {
                    mac,
                    name: node.name.clone(),
                    ip,
                });
            }
        }
    }
    hosts
}

/// The `<host/>` element of one reservation, for `virNetworkUpdate`.
pub fn dhcp_host_xml(host: &DhcpHost) -> String {
    let mut x = Xml::new(false);
    write_host(&mut x, host);
    x.finish()
}

/// The `<network>` XML of a declared network.
pub fn network_xml(cluster: &Cluster, network: &Network) -> String {
    let mut x = Xml::new(false);
    x.elem("network", &[], "", |x| {
        x.text("name", &[], &network.name, "");
        let owner = Owner {
            cluster: cluster.name.clone(),
            ..Owner::default()
        };
        x.elem("metadata", &[], "", |x| owner::write(x, &owner, ""));
        match network.mode {
            NetMode::Nat => x.empty("forward", &[("mode", "nat")], ""),
            NetMode::Bridge => x.empty("forward", &[("mode", "bridge")], ""),
            NetMode::Isolated => {}
        }
        if let Some(bridge) = &network.bridge {
            x.empty("bridge", &[("name", bridge)], "");
        }
        if network.mode != NetMode::Bridge {
            write_ip(x, cluster, network);
        }
    });
    x.finish()
}

fn write_ip(x: &mut Xml, cluster: &Cluster, network: &Network) {
    let Some(cidr) = network.cidr else { return };
    let Some(gw) = gateway(cidr) else { return };
    let (gw, mask) = (gw.to_string(), cidr.netmask().to_string());
    x.elem("ip", &[("address", &gw), ("netmask", &mask)], "", |x| {
        x.elem("dhcp", &[], "", |x| {
            if let Some((start, end)) = dhcp_range(cidr) {
                let (start, end) = (start.to_string(), end.to_string());
                x.empty("range", &[("start", &start), ("end", &end)], "");
            }
            for host in dhcp_hosts(cluster, network) {
                write_host(x, &host);
            }
        });
    });
}

fn write_host(x: &mut Xml, host: &DhcpHost) {
    let ip = host.ip.to_string();
    x.empty(
        "host",
        &[("mac", &host.mac), ("name", &host.name), ("ip", &ip)],
        "",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::addr::mac;
    use crate::render::testutil::demo;

    #[test]
    fn nat_network_has_range_and_a_reservation_per_nic() {
        let c = demo();
        let xml = network_xml(&c, &c.networks[0]);
        assert!(xml.contains("<forward mode=\"nat\"/>"), "{xml}");
        assert!(
            xml.contains("<ip address=\"10.10.0.1\" netmask=\"255.255.255.0\">"),
            "{xml}"
        );
        assert!(
            xml.contains("<range start=\"10.10.0.128\" end=\"10.10.0.254\"/>"),
            "{xml}"
        );
        let a = format!(
            "<host mac=\"{}\" name=\"a\" ip=\"10.10.0.2\"/>",
            mac("demo", "a", "k8s")
        );
        assert!(xml.contains(&a), "{xml}");
        assert!(xml.contains("cluster=\"demo\""), "{xml}");
    }

    #[test]
    fn isolated_network_has_no_forward() {
        let mut c = demo();
        c.networks[0].mode = NetMode::Isolated;
        let xml = network_xml(&c, &c.networks[0]);
        assert!(!xml.contains("<forward"), "{xml}");
        assert!(xml.contains("<dhcp>"), "{xml}");
    }

    #[test]
    fn bridge_network_forwards_to_the_host_bridge() {
        let mut c = demo();
        c.networks[0] = Network {
            name: "lan".into(),
            mode: NetMode::Bridge,
            cidr: None,
            bridge: Some("br0".into()),
        };
        let xml = network_xml(&c, &c.networks[0]);
        assert!(
            xml.contains("<forward mode=\"bridge\"/>\n  <bridge name=\"br0\"/>"),
            "{xml}"
        );
        assert!(!xml.contains("<ip"), "{xml}");
    }
}
