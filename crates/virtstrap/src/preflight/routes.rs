//! The spec's network ranges against the routes of the daemon's host: a
//! declared network whose CIDR overlaps a route the host already has
//! (its LAN, a VPN, another libvirt network) either fails to start or
//! makes part of the host unreachable. Pure: the routing table's text
//! (`/proc/<pid>/net/route`) in, overlaps out.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// One IPv4 route: the interface and the destination network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The interface (`eth0`, `virbr0`).
    pub iface: String,
    /// The destination.
    pub net: Ipv4Net,
}

/// Parse `/proc/net/route` (addresses and masks in hex, in the host's
/// byte order, as the kernel prints them); the default route (0/0) is
/// left out: every range "overlaps" it and none clashes with it.
pub fn parse_routes(text: &str) -> Vec<Route> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // the kernel prints the address's in-memory (network order)
            // word as a native integer: its native bytes are the address
            let addr = |s: &str| {
                u32::from_str_radix(s, 16)
                    .ok()
                    .map(|v| Ipv4Addr::from(v.to_ne_bytes()))
            };
            let dest = addr(f.get(1)?)?;
            let mask = addr(f.get(7)?)?;
            let prefix = u8::try_from(u32::from(mask).count_ones()).ok()?;
            let net = Ipv4Net::new(dest, prefix).ok()?;
            (prefix > 0).then(|| Route {
                iface: f[0].to_string(),
                net,
            })
        })
        .collect()
}

/// The routes `cidr` overlaps, except those on `skip_iface` (the bridge
/// of the very network the spec names, when it exists already: its own
/// route is not a clash).
pub fn overlaps<'a>(
    cidr: Ipv4Net,
    routes: &'a [Route],
    skip_iface: Option<&str>,
) -> Vec<&'a Route> {
    routes
        .iter()
        .filter(|r| Some(r.iface.as_str()) != skip_iface)
        .filter(|r| r.net.contains(&cidr.network()) || cidr.contains(&r.net.network()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
        eth0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n\
        virbr0\t007AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
        wg0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n";

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("cidr")
    }

    #[test]
    fn the_kernels_table_reads_as_networks() {
        let r = parse_routes(TABLE);
        let nets: Vec<String> = r.iter().map(|r| format!("{} {}", r.iface, r.net)).collect();
        assert_eq!(
            nets,
            [
                "eth0 192.168.2.0/24",
                "virbr0 192.168.122.0/24",
                "wg0 10.0.0.0/8"
            ]
        );
        assert!(parse_routes("Iface\tDestination\n").is_empty());
    }

    #[test]
    fn ranges_overlap_either_way_and_the_networks_own_bridge_is_not_a_clash() {
        let r = parse_routes(TABLE);
        let hit = |cidr: &str, skip: Option<&str>| -> Vec<String> {
            overlaps(net(cidr), &r, skip)
                .iter()
                .map(|r| r.iface.clone())
                .collect()
        };
        assert_eq!(hit("192.168.2.0/24", None), ["eth0"]);
        assert_eq!(hit("192.168.2.128/25", None), ["eth0"]); // inside
        assert_eq!(hit("192.168.0.0/16", None), ["eth0", "virbr0"]); // around
        assert_eq!(hit("10.1.2.0/24", None), ["wg0"]);
        assert!(hit("192.168.150.0/24", None).is_empty());
        assert!(hit("192.168.122.0/24", Some("virbr0")).is_empty());
    }
}
