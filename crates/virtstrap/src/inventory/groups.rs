//! Who is in kubespray's `etcd` group, and the one inventory kubespray
//! would refuse that the spec alone can foresee: an even number of etcd
//! members. Its `roles/validate_inventory` asserts that
//! `groups.get('etcd', groups.kube_control_plane) | length` is odd (etcd
//! needs a majority to agree, and an even member adds no fault tolerance).
//! Read by the inventory writer and by `validate`.

use std::fmt;

use crate::spec::{Cluster, Node, Role};

/// Why the etcd group holds the nodes it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtcdFrom {
    /// Some node has role etcd: the group is those nodes.
    Role,
    /// No node has role etcd: etcd is stacked on the control-plane nodes
    /// (kubespray's sample inventory does the same).
    ControlPlane,
}

/// The etcd members of `cluster`, in spec order, and why they are.
pub fn etcd_members(cluster: &Cluster) -> (EtcdFrom, Vec<&Node>) {
    let with = |role: Role| -> Vec<&Node> {
        cluster
            .nodes
            .iter()
            .filter(|n| n.roles.contains(&role))
            .collect()
    };
    let etcd = with(Role::Etcd);
    if etcd.is_empty() {
        (EtcdFrom::ControlPlane, with(Role::ControlPlane))
    } else {
        (EtcdFrom::Role, etcd)
    }
}

/// An etcd group kubespray would refuse: an even number of members (zero
/// included). Its [`fmt::Display`] names the members and what to do, on
/// two lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvenEtcd {
    /// The members, in spec order.
    pub members: Vec<String>,
    /// Why they are members.
    pub from: EtcdFrom,
}

/// `Some` when the etcd group of `cluster` would have an even number of
/// members.
pub fn even_etcd(cluster: &Cluster) -> Option<EvenEtcd> {
    let (from, members) = etcd_members(cluster);
    (members.len() % 2 == 0).then(|| EvenEtcd {
        members: members.iter().map(|n| n.name.clone()).collect(),
        from,
    })
}

impl fmt::Display for EvenEtcd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.members.len();
        if n == 0 {
            return write!(
                f,
                "the etcd group would be empty: no node has role etcd or control-plane, \
                 and kubespray refuses an empty kube_control_plane and an even number of \
                 etcd members\n  give role control-plane to one node, or to three"
            );
        }
        let (who, todo) = match self.from {
            EtcdFrom::Role => (
                "the nodes with role etcd",
                "give role etcd to one more node, or take it from one",
            ),
            EtcdFrom::ControlPlane => (
                "the control-plane nodes, as no node has role etcd",
                "add or remove a control-plane node, or give role etcd to an odd \
                 number of nodes",
            ),
        };
        write!(
            f,
            "the etcd group would have {n} members ({}: {who}), and kubespray refuses \
             an even number (etcd needs a majority; an even member adds no fault \
             tolerance)\n  {todo}",
            self.members.join(", ")
        )
    }
}
