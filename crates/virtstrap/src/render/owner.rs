//! The `<vs:owner>` record in a libvirt object's `<metadata>`: how
//! virtstrap knows, from the host alone, what it made. Render writes it
//! into domain and network XML; the planner reads it back from what the
//! host returns (spec -> render -> plan -> apply). One home for both
//! directions, so the two cannot drift apart.
//!
//! A domain's record names its cluster and node, the `spec-hash` of its
//! definition, the `ignition-hash` of its config (absent while the upload
//! is pending) and every volume it owns; a network's names its cluster.
//! See libvirt's formatdomain, "Metadata"
//! (<https://libvirt.org/formatdomain.html#general-metadata>).

use crate::xmltree::Element;

use super::xml::Xml;

/// XML namespace of virtstrap's owner element in `<metadata>`.
pub const OWNER_NS: &str = "https://virtstrap.dev/xmlns/owner/1";

/// Prefix bound to [`OWNER_NS`] in what virtstrap writes (libvirt may
/// hand back another: reading goes by the namespace).
pub const OWNER_PREFIX: &str = "vs";

/// What an owner record says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    /// Cluster.
    pub cluster: String,
    /// Node (empty on a network's record).
    pub node: String,
    /// The definition's `spec-hash` (empty on a network's record).
    pub spec_hash: String,
    /// Ignition hash (empty while pending, and on a network's record).
    pub ignition_hash: String,
    /// Listed volumes: (pool, name).
    pub volumes: Vec<(String, String)>,
    /// DHCP host entries virtstrap added for the node on networks it does
    /// not own.
    pub reservations: Vec<Reservation>,
}

/// One DHCP host entry virtstrap added to a network it does not own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reservation {
    /// The network.
    pub network: String,
    /// The NIC's MAC (lowercase).
    pub mac: String,
    /// The reserved address.
    pub ip: std::net::Ipv4Addr,
}

impl Owner {
    /// Whether the record says `cluster`'s node `node`.
    pub fn is_node(&self, cluster: &str, node: &str) -> bool {
        self.cluster == cluster && self.node == node
    }
}

/// Write `owner` as `<vs:owner>` (the caller opens `<metadata>`); `why`
/// is the `--explain` comment.
pub(crate) fn write(x: &mut Xml, owner: &Owner, why: &str) {
    let name = format!("{OWNER_PREFIX}:owner");
    let xmlns = format!("xmlns:{OWNER_PREFIX}");
    let mut attrs = vec![
        (xmlns.as_str(), OWNER_NS),
        ("cluster", owner.cluster.as_str()),
    ];
    if !owner.node.is_empty() {
        // a domain's record: `spec-hash` always, even empty, because the
        // hash is taken over the XML written with `spec-hash=""`
        attrs.push(("node", &owner.node));
        attrs.push(("spec-hash", &owner.spec_hash));
        if !owner.ignition_hash.is_empty() {
            attrs.push(("ignition-hash", &owner.ignition_hash));
        }
    }
    if owner.volumes.is_empty() && owner.reservations.is_empty() {
        x.empty(&name, &attrs, why);
        return;
    }
    let volume = format!("{OWNER_PREFIX}:volume");
    let reservation = format!("{OWNER_PREFIX}:reservation");
    x.elem(&name, &attrs, why, |x| {
        for (pool, vol) in &owner.volumes {
            x.empty(
                &volume,
                &[("pool", pool.as_str()), ("name", vol.as_str())],
                "a volume this node owns (root overlay, data disk or Ignition)",
            );
        }
        for r in &owner.reservations {
            let ip = r.ip.to_string();
            x.empty(
                &reservation,
                &[("network", &r.network), ("mac", &r.mac), ("ip", &ip)],
                "a DHCP host entry virtstrap added to a network it does not own",
            );
        }
    });
}

/// The owner record in a libvirt object's XML, if it has one. XML that
/// cannot be parsed has none: virtstrap wrote no such object.
pub fn read(xml: &str) -> Option<Owner> {
    let root = Element::parse(xml).ok()?;
    from_element(&root)
}

/// The owner record at or below `root`.
pub fn from_element(root: &Element) -> Option<Owner> {
    let e = root.find_ns(OWNER_NS, "owner")?;
    let attr = |k: &str| e.attr(k).unwrap_or_default().to_string();
    let volumes = e
        .children("volume")
        .filter(|v| v.namespace.as_deref() == Some(OWNER_NS))
        .filter_map(|v| Some((v.attr("pool")?.to_string(), v.attr("name")?.to_string())))
        .collect();
    let reservations = e
        .children("reservation")
        .filter(|r| r.namespace.as_deref() == Some(OWNER_NS))
        .filter_map(|r| {
            Some(Reservation {
                network: r.attr("network")?.to_string(),
                mac: r.attr("mac")?.to_ascii_lowercase(),
                ip: r.attr("ip")?.parse().ok()?,
            })
        })
        .collect();
    Some(Owner {
        cluster: attr("cluster"),
        node: attr("node"),
        spec_hash: attr("spec-hash"),
        ignition_hash: attr("ignition-hash"),
        volumes,
        reservations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(owner: &Owner) -> String {
        let mut x = Xml::new(false);
        x.elem("domain", &[], "", |x| {
            x.elem("metadata", &[], "", |x| write(x, owner, ""));
        });
        x.finish()
    }

    #[test]
    fn a_written_record_reads_back_the_same() {
        let owner = Owner {
            cluster: "po<ta>to".into(),
            node: "n&1".into(),
            spec_hash: "abc".into(),
            ignition_hash: "def".into(),
            volumes: vec![("p".into(), "v\"1".into()), ("q".into(), "w".into())],
            reservations: vec![Reservation {
                network: "default".into(),
                mac: "52:54:00:00:00:01".into(),
                ip: "192.168.122.50".parse().expect("ip"),
            }],
        };
        assert_eq!(read(&written(&owner)), Some(owner));
        let network = Owner {
            cluster: "c".into(),
            ..Owner::default()
        };
        assert_eq!(read(&written(&network)), Some(network));
    }

    #[test]
    fn libvirt_may_rename_the_prefix() {
        let xml = format!(
            "<domain><metadata><own:owner xmlns:own=\"{OWNER_NS}\" cluster=\"c\" node=\"n\">\
             <own:volume pool=\"p\" name=\"v\"/></own:owner></metadata></domain>"
        );
        let o = read(&xml).expect("record");
        assert!(o.is_node("c", "n"));
        assert_eq!(o.volumes, vec![("p".into(), "v".into())]);
    }

    #[test]
    fn an_element_named_owner_in_another_namespace_is_not_a_record() {
        let xml = "<domain><metadata><x:owner xmlns:x='urn:other' cluster='c'/></metadata>\
                   <description> vs:owner cluster=\"c\" </description></domain>";
        assert_eq!(read(xml), None);
    }
}
