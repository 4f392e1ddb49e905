//! The JSON inventory: what `ansible-inventory --list` prints for the
//! YAML inventory, value for value, which is also what a dynamic
//! inventory script answers to `--list`. `_meta.hostvars` holds each
//! host's variables, `all.children` the top groups (`ungrouped` first, as
//! Ansible lists it), and each group that has members its `hosts` or
//! `children`; a group with neither is left out, as Ansible leaves it out.
//! Keys are sorted, as Ansible sorts them.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{Group, Inventory, GROUPS, K8S_CLUSTER, K8S_CLUSTER_CHILDREN};

/// The JSON inventory of `inv`.
pub(super) fn write(inv: &Inventory) -> String {
    let mut root: BTreeMap<String, Value> = BTreeMap::new();
    root.insert("_meta".into(), json!({ "hostvars": hostvars(inv) }));
    let mut top = vec!["ungrouped"];
    top.extend(GROUPS.map(Group::as_str));
    top.push(K8S_CLUSTER);
    root.insert("all".into(), json!({ "children": top }));
    for group in GROUPS {
        let hosts = inv.group(group);
        if !hosts.is_empty() {
            root.insert(group.as_str().into(), json!({ "hosts": hosts }));
        }
    }
    let children = K8S_CLUSTER_CHILDREN.map(Group::as_str);
    root.insert(K8S_CLUSTER.into(), json!({ "children": children }));
    let ungrouped = inv.ungrouped();
    if !ungrouped.is_empty() {
        root.insert("ungrouped".into(), json!({ "hosts": ungrouped }));
    }
    format!("{:#}\n", sorted(root))
}

/// Host name -> its variables, for the hosts that have any.
fn hostvars(inv: &Inventory) -> Value {
    let hosts = inv.hosts.iter().filter_map(|h| {
        let vars: BTreeMap<String, Value> = h
            .vars()
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
        (!vars.is_empty()).then(|| (h.name.clone(), sorted(vars)))
    });
    sorted(hosts.collect())
}

/// An object with `map`'s keys in sorted order, whether or not
/// serde_json keeps insertion order (its `preserve_order` feature, which
/// another crate of the build may turn on).
fn sorted(map: BTreeMap<String, Value>) -> Value {
    Value::Object(map.into_iter().collect::<Map<String, Value>>())
}
