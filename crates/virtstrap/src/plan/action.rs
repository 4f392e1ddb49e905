//! The plan as data: every host operation apply may carry out
//! ([`Action`]), what kind of change it is and why ([`Step`]), in order
//! ([`Plan`]). The diff makes them (spec -> desired -> **plan** -> apply);
//! the executor in [`crate::apply`] is the one place that matches on
//! [`Action`] to run them. Tests compare whole `Vec<Step>`s.

use std::sync::Arc;

use crate::xmltree::Element;

use super::desired::{DomainXml, IgnitionBytes};

/// One host operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Define, build and start a pool with virtstrap's marker volume.
    CreatePool {
        /// Pool name.
        name: String,
        /// Its XML.
        xml: String,
    },
    /// Finish a pool an interrupted apply left running but not defined:
    /// marker volume, definition, autostart.
    FinishPool {
        /// Pool name.
        name: String,
    },
    /// Define and start a network.
    CreateNetwork {
        /// Network name.
        name: String,
        /// Its XML.
        xml: String,
    },
    /// Start a network this cluster made that is not running (an apply
    /// was cut short between defining and starting it).
    StartNetwork {
        /// Network name.
        name: String,
    },
    /// Add a DHCP reservation to a network.
    AddDhcpHost {
        /// Network name.
        network: String,
        /// `<host/>` XML.
        xml: String,
    },
    /// Remove a DHCP host entry virtstrap added to a network.
    DeleteDhcpHost {
        /// Network name.
        network: String,
        /// `<host/>` XML.
        xml: String,
    },
    /// Define (or redefine) a domain.
    DefineDomain {
        /// Domain name.
        name: String,
        /// Its definition.
        xml: DomainXml,
    },
    /// Create a volume.
    CreateVolume {
        /// Pool.
        pool: String,
        /// Volume XML.
        xml: Arc<str>,
        /// Volume name.
        name: String,
    },
    /// Upload a node's Ignition config into its volume.
    Upload {
        /// Pool.
        pool: String,
        /// Volume name.
        name: String,
        /// The config, rendered when the step runs.
        data: IgnitionBytes,
    },
    /// Grow a volume.
    Resize {
        /// Pool.
        pool: String,
        /// Volume name.
        name: String,
        /// New capacity in bytes.
        capacity: u64,
    },
    /// Start a domain.
    StartDomain {
        /// Domain name.
        name: String,
    },
    /// Power a domain off.
    StopDomain {
        /// Domain name.
        name: String,
    },
    /// Undefine a (stopped) domain.
    UndefineDomain {
        /// Domain name.
        name: String,
    },
    /// Delete a volume.
    DeleteVolume {
        /// Pool.
        pool: String,
        /// Volume name.
        name: String,
    },
    /// Delete a network.
    DeleteNetwork {
        /// Network name.
        name: String,
    },
    /// Delete the ownership marker, then the pool.
    DeletePool {
        /// Pool name.
        name: String,
    },
}

impl Action {
    /// What the action does to which object, for humans: `create volume
    /// default/x.qcow2`.
    pub fn describe(&self) -> String {
        match self {
            Action::CreatePool { name, .. } => format!("create pool {name}"),
            Action::FinishPool { name } => format!("finish pool {name}"),
            Action::CreateNetwork { name, .. } => format!("create network {name}"),
            Action::StartNetwork { name } => format!("start network {name}"),
            Action::AddDhcpHost { network, xml } => {
                let (mac, ip) = host_entry(xml);
                format!("reserve {ip} for {mac} on network {network}")
            }
            Action::DeleteDhcpHost { network, xml } => {
                let (mac, ip) = host_entry(xml);
                format!("release {ip} of {mac} on network {network}")
            }
            Action::DefineDomain { name, xml } if xml.is_pending() => {
                format!("define domain {name} (Ignition pending)")
            }
            Action::DefineDomain { name, .. } => format!("define domain {name}"),
            Action::CreateVolume { pool, name, .. } => format!("create volume {pool}/{name}"),
            Action::Upload { pool, name, data } => {
                format!("upload Ignition to {pool}/{name} ({} bytes)", data.len())
            }
            Action::Resize {
                pool,
                name,
                capacity,
            } => format!(
                "resize volume {pool}/{name} to {}",
                crate::spec::size::human(*capacity)
            ),
            Action::StartDomain { name } => format!("start domain {name}"),
            Action::StopDomain { name } => format!("stop domain {name}"),
            Action::UndefineDomain { name } => format!("undefine domain {name}"),
            Action::DeleteVolume { pool, name } => format!("delete volume {pool}/{name}"),
            Action::DeleteNetwork { name } => format!("delete network {name}"),
            Action::DeletePool { name } => format!("delete pool {name}"),
        }
    }
}

/// The kind of change a step makes, as `plan` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// A new object.
    Create,
    /// An object changed in place.
    Update,
    /// An object removed and made again.
    Replace,
    /// An object removed.
    Delete,
}

/// One step: what, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The operation.
    pub action: Action,
    /// Create, update, replace or delete.
    pub change: Change,
    /// Why (`memory 4096 -> 8192 MiB`, `Ignition changed: ...`).
    pub reason: Arc<str>,
    /// The node the step belongs to (empty for pools and networks):
    /// steps of one node run in order, different nodes in parallel.
    pub node: Arc<str>,
}

/// The steps, in order, or why there can be none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Steps in execution order (each node's steps stay in order).
    pub steps: Vec<Step>,
    /// What the plan cannot do and the user should know (a network whose
    /// addresses are found, not reserved).
    pub notes: Vec<String>,
}

/// The MAC and address a `<host/>` names.
fn host_entry(xml: &str) -> (String, String) {
    let host = Element::parse(xml).ok();
    let attr = |k: &str| {
        host.as_ref()
            .and_then(|h| h.attr(k))
            .unwrap_or_default()
            .to_string()
    };
    (attr("mac"), attr("ip"))
}

impl Change {
    /// The mark `plan` prints: `+` create, `~` update, `-/+` replace,
    /// `-` delete.
    pub fn symbol(self) -> &'static str {
        match self {
            Change::Create => "+",
            Change::Update => "~",
            Change::Replace => "-/+",
            Change::Delete => "-",
        }
    }
}

impl Plan {
    /// The plan for people: a summary line naming `cluster` and `uri`,
    /// then one line a step with its mark, what it does and why.
    pub fn to_text(&self, cluster: &str, uri: &str) -> String {
        let notes: String = self.notes.iter().map(|n| format!("note: {n}\n")).collect();
        if self.steps.is_empty() {
            return format!("cluster {cluster} on {uri}: up to date, nothing to do\n{notes}");
        }
        let count = |c: Change| self.steps.iter().filter(|s| s.change == c).count();
        let mut out = format!(
            "cluster {cluster} on {uri}: {} steps ({} create, {} update, {} replace, {} delete)\n",
            self.steps.len(),
            count(Change::Create),
            count(Change::Update),
            count(Change::Replace),
            count(Change::Delete)
        );
        for s in &self.steps {
            let line = format!(
                "  {:>3} {:<60} {}",
                s.change.symbol(),
                s.action.describe(),
                s.reason
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(&notes);
        out
    }
}

/// A step with no node (pools and networks); [`tag`] gives it one.
pub(crate) fn step(action: Action, change: Change, reason: impl Into<Arc<str>>) -> Step {
    Step {
        action,
        change,
        reason: reason.into(),
        node: Arc::from(""),
    }
}

/// Tag the steps from `from` on as `node`'s.
pub(crate) fn tag(steps: &mut [Step], from: usize, node: &str) {
    let node: Arc<str> = Arc::from(node);
    for s in &mut steps[from..] {
        s.node = Arc::clone(&node);
    }
}
