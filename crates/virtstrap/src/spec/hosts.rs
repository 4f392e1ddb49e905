//! `hosts:` and where each node runs: a node's `host:` or its group's
//! `placement: spread`.
//!
//! Part of the spec step (spec -> render -> plan -> apply). A spec
//! without `hosts:` runs every node on the one host `connect:` (or the
//! command line) names, as before. With `hosts:` (name -> libvirt URI),
//! every node either names its host or is spread over all of them; the
//! spread itself is decided later, from what the hosts have (see
//! [`crate::plan::placement`]), so only the names are checked here.

use virtstrap_butane::yaml::{Mark, Node, NodeKind};
use virtstrap_butane::KeyPath;

use super::node::NodePart;
use super::reader::{scalar, At, Fields, Reader};
use super::{Host, Placement};

/// How a node as written says where it runs.
#[derive(Clone, Debug)]
pub(super) enum Where {
    /// `host: NAME`.
    Host(At<String>),
    /// `placement: spread`, with where it was written.
    Spread(KeyPath, Mark),
    /// Written, but wrong (the problem is reported).
    Invalid,
}

impl Reader {
    /// `hosts:`: a mapping of host names to libvirt URIs.
    pub(super) fn hosts(&mut self, node: &Node, path: &KeyPath) -> Vec<Host> {
        let NodeKind::Map(entries) = &node.kind else {
            self.err(
                path,
                Some(node.mark),
                "expected a mapping of host names to libvirt URIs \
                 (box1: qemu+ssh://root@box1/system)",
            );
            return Vec::new();
        };
        let mut out: Vec<Host> = Vec::new();
        for (k, v) in entries {
            let Some(name) = scalar(k) else {
                self.err(path, Some(k.mark), "host names must be plain strings");
                continue;
            };
            let p = path.key(name);
            self.check_name(name, &p, k.mark, 63);
            let Some(uri) = self.string(v, &p) else {
                continue;
            };
            if let Some(problem) = uri_problem(&uri) {
                self.err(&p, Some(v.mark), problem);
                continue;
            }
            if let Some(twin) = out.iter().find(|h| h.uri == uri) {
                let msg = format!(
                    "host {name} has the URI of host {} ({uri}): one host, two names \
                     would place nodes twice on it",
                    twin.name
                );
                self.err(&p, Some(v.mark), msg);
                continue;
            }
            out.push(Host {
                name: name.to_string(),
                uri,
            });
        }
        if entries.is_empty() {
            self.err(path, Some(node.mark), "hosts: names no host");
        }
        out
    }

    /// A node's `host:` or `placement:` (not both).
    pub(super) fn node_where(&mut self, f: &Fields<'_>) -> Option<Where> {
        let host = f.get("host").map(|n| {
            let path = f.path.key("host");
            let v = self.string(n, &path)?;
            Some(At {
                v,
                path,
                mark: n.mark,
            })
        });
        let spread = f
            .get("placement")
            .map(|n| self.spread(n, f.path.key("placement")));
        match (host, spread) {
            (Some(Some(h)), Some(_)) => {
                let msg = "give host: (one host) or placement: spread, not both";
                self.err(&h.path, Some(h.mark), msg);
                Some(Where::Invalid)
            }
            (Some(None), _) | (_, Some(None)) => Some(Where::Invalid),
            (Some(Some(h)), None) => Some(Where::Host(h)),
            (None, Some(Some((p, m)))) => Some(Where::Spread(p, m)),
            (None, None) => None,
        }
    }

    /// `placement:`'s value, which must be `spread`.
    fn spread(&mut self, n: &Node, path: KeyPath) -> Option<(KeyPath, Mark)> {
        match self.string(n, &path)?.as_str() {
            "spread" => Some((path, n.mark)),
            other => {
                let msg = format!(
                    "unknown placement {other:?}: spread (over every host by free \
                     memory), or name one host with host:"
                );
                self.err(&path, Some(n.mark), msg);
                None
            }
        }
    }

    /// Where node `name` (as written in `part`, defaulted from
    /// `defaults`) runs, checked against `hosts`.
    pub(super) fn placement(
        &mut self,
        part: &NodePart,
        defaults: &NodePart,
        name: &At<String>,
        hosts: Option<&[Host]>,
    ) -> Placement {
        let chosen = part.place.as_ref().or(defaults.place.as_ref());
        let hosts = match hosts {
            // hosts: was written but names no good host: reported there
            Some([]) => return Placement::Single,
            Some(h) => h,
            None => &[],
        };
        let names = || {
            hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match chosen {
            // reported where it was read
            Some(Where::Invalid) => Placement::Single,
            None if hosts.is_empty() => Placement::Single,
            None => {
                let msg = format!(
                    "node {} runs on no host: give it host: (one of {}) or placement: spread",
                    name.v,
                    names()
                );
                self.err(&name.path, Some(name.mark), msg);
                Placement::Single
            }
            Some(w) if hosts.is_empty() => {
                let (path, mark) = match w {
                    Where::Host(h) => (h.path.clone(), h.mark),
                    Where::Spread(p, m) => (p.clone(), *m),
                    Where::Invalid => return Placement::Single,
                };
                self.err(
                    &path,
                    Some(mark),
                    "host: and placement: need a hosts: mapping at the top of the spec \
                     (name: libvirt URI)",
                );
                Placement::Single
            }
            Some(Where::Host(h)) => {
                if !hosts.iter().any(|x| x.name == h.v) {
                    let msg = format!("unknown host {:?} (hosts: names {})", h.v, names());
                    self.err(&h.path, Some(h.mark), msg);
                }
                Placement::Host(h.v.clone())
            }
            Some(Where::Spread(..)) => Placement::Spread,
        }
    }
}

/// What is wrong with a libvirt URI as `hosts:` gives it, if anything:
/// it must be `driver[+transport]://[user@][host]/path` or libvirt's
/// `test:///default`.
fn uri_problem(uri: &str) -> Option<String> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Some(format!(
            "{uri:?} is not a libvirt URI (qemu:///system, qemu+ssh://user@box/system, \
             qemu+tcp://box/system, qemu+tls://box/system)"
        ));
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+');
    if !scheme_ok || !rest.contains('/') || uri.chars().any(char::is_whitespace) {
        return Some(format!(
            "{uri:?} is not a libvirt URI (driver[+transport]://[user@]host/path, \
             such as qemu+ssh://root@box1/system)"
        ));
    }
    None
}
