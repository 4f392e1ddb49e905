//! Whether every NIC on a declared network can get its reservation.
//!
//! Part of the spec step's cross-checks (spec -> render -> plan -> apply).
//! Render reserves an address for each NIC without `ip:` on a declared
//! nat or isolated network from the lower half of its CIDR, after the
//! gateway (see `render::addr`); a NIC beyond what that holds would get
//! none while `--explain` says it is reserved. Such a spec is refused
//! here, naming how many fit.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::reader::Reader;
use super::Cluster;

impl Reader {
    /// Each declared network with a CIDR holds a reservation for every
    /// NIC on it that has no `ip:`.
    pub(super) fn check_reservations(&mut self, c: &Cluster) {
        for (i, net) in c.networks.iter().enumerate() {
            let Some(cidr) = net.cidr else {
                continue;
            };
            let nics: Vec<(&str, Option<Ipv4Addr>)> = c
                .nodes
                .iter()
                .flat_map(|n| n.networks.iter().map(move |nic| (n.name.as_str(), nic)))
                .filter(|(_, nic)| nic.network == net.name)
                .map(|(n, nic)| (n, nic.ip))
                .collect();
            let fixed: HashSet<Ipv4Addr> = nics
                .iter()
                .filter_map(|(_, ip)| *ip)
                .filter(|ip| reservable(cidr, *ip))
                .collect();
            let room = room(cidr).saturating_sub(fixed.len() as u64);
            let need = nics.iter().filter(|(_, ip)| ip.is_none()).count() as u64;
            if need <= room {
                continue;
            }
            let first_left = nics
                .iter()
                .filter(|(_, ip)| ip.is_none())
                .nth(usize::try_from(room).unwrap_or(usize::MAX))
                .map_or("", |(n, _)| n);
            let msg = format!(
                "network {} ({cidr}) can reserve {room} address{} for NICs without ip: (the \
                 lower half of the cidr after the gateway{}), but {need} NICs on it need one \
                 (node {first_left} is the first left without): use a larger cidr{}, or \
                 fewer nodes on it",
                net.name,
                if room == 1 { "" } else { "es" },
                if fixed.is_empty() {
                    String::new()
                } else {
                    format!(", less {} given by ip:", fixed.len())
                },
                larger(cidr, need + fixed.len() as u64)
                    .map_or(String::new(), |p| format!(" (a /{p} holds {})", room_of(p))),
            );
            let (path, mark) = self.srcs.cidrs.get(i).cloned().unzip();
            let path = path.unwrap_or_else(|| virtstrap_butane::KeyPath::root().key("networks"));
            self.err(&path, mark, msg);
        }
    }
}

/// How many reservations a CIDR holds: its lower half less the network
/// address and the gateway.
fn room(cidr: Ipv4Net) -> u64 {
    room_of(cidr.prefix_len())
}

fn room_of(prefix: u8) -> u64 {
    if prefix > 30 {
        return 0;
    }
    (1u64 << (32 - u32::from(prefix))) / 2 - 2
}

/// Whether `ip` is in the range reservations are taken from.
fn reservable(cidr: Ipv4Net, ip: Ipv4Addr) -> bool {
    let base = u64::from(u32::from(cidr.network()));
    let at = u64::from(u32::from(ip)).wrapping_sub(base);
    cidr.contains(&ip) && at >= 2 && at < 2 + room(cidr)
}

/// The longest prefix whose CIDR holds `need` reservations.
fn larger(cidr: Ipv4Net, need: u64) -> Option<u8> {
    (8..cidr.prefix_len()).rev().find(|p| room_of(*p) >= need)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_matches_the_address_plan() {
        let net = |s: &str| s.parse::<Ipv4Net>().expect("cidr");
        assert_eq!(room(net("192.168.150.0/24")), 126);
        assert_eq!(room(net("10.0.0.0/29")), 2);
        assert_eq!(room(net("10.0.0.0/8")), (1 << 23) - 2);
        let c = net("192.168.150.0/24");
        assert!(reservable(c, "192.168.150.2".parse().expect("ip")));
        assert!(reservable(c, "192.168.150.127".parse().expect("ip")));
        assert!(!reservable(c, "192.168.150.128".parse().expect("ip")));
        assert!(!reservable(c, "192.168.150.1".parse().expect("ip")));
        assert_eq!(larger(c, 200), Some(23));
        assert_eq!(larger(c, 300), Some(22));
    }
}
