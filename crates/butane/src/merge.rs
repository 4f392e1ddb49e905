//! Ignition's config merge, for the parts Butane generates.
//!
//! Butane desugars some fields (mount units, `boot_device`, `grub`) into a
//! generated config and merges the user's config over it with Ignition's
//! own merge rules (`config/merge/merge.go`): objects merge field by field
//! with the child winning; keyed lists keep the parent's order, merge
//! items with the same key and append the child's new items; a few lists
//! (`append`, filesystem/LUKS/RAID `options`, `mountOptions`) concatenate.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::out::{Out, Val};

/// Merge `child` over `parent` (both objects of the same Ignition type).
pub fn merge(parent: Out, child: Out) -> Out {
    match (parent.val, child.val) {
        (Val::Obj(p), Val::Obj(c)) => Out::new(Val::Obj(merge_members(p, c)), child.src),
        (_, val) => Out::new(val, child.src),
    }
}

fn merge_members(parent: Vec<(String, Out)>, mut child: Vec<(String, Out)>) -> Vec<(String, Out)> {
    let mut result = Vec::with_capacity(parent.len() + child.len());
    // The handle several lists share a key space under (files,
    // directories and links are all "nodes"; both kernel-argument lists
    // are "arguments").
    let siblings: Vec<(String, HashSet<String>)> = child
        .iter()
        .filter_map(|(k, v)| match &v.val {
            Val::List(items) => Some((k.clone(), items.iter().map(|i| key_of(k, i)).collect())),
            _ => None,
        })
        .collect();
    for (key, pval) in parent {
        // objects have a handful of members: a scan is linear enough
        let cpos = child.iter().position(|(k, _)| *k == key);
        let merged = match cpos.map(|i| child.remove(i).1) {
            None => pval,
            Some(cval) => match (pval.val, cval.val) {
                (Val::List(p), Val::List(c)) => {
                    let list = merge_list(&key, p, c, &siblings);
                    Out::new(Val::List(list), cval.src)
                }
                (Val::Obj(p), Val::Obj(c)) => Out::new(Val::Obj(merge_members(p, c)), cval.src),
                (_, val) => Out::new(val, cval.src),
            },
        };
        result.push((key, merged));
    }
    result.extend(child);
    result
}

/// Merge keyed lists in O(parent + child): the child's items are found
/// by key through an index, each used at most once, in order.
fn merge_list(
    name: &str,
    parent: Vec<Out>,
    child: Vec<Out>,
    siblings: &[(String, HashSet<String>)],
) -> Vec<Out> {
    if concatenates(name) {
        let mut all = parent;
        all.extend(child);
        return all;
    }
    let parent_keys: Vec<String> = parent.iter().map(|p| key_of(name, p)).collect();
    let child_keys: Vec<String> = child.iter().map(|c| key_of(name, c)).collect();
    let mut by_key: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (i, k) in child_keys.iter().enumerate() {
        by_key.entry(k.as_str()).or_default().push_back(i);
    }
    let mut child: Vec<Option<Out>> = child.into_iter().map(Some).collect();
    let mut result = Vec::with_capacity(parent.len() + child.len());
    for (item, key) in parent.into_iter().zip(&parent_keys) {
        let found = by_key.get_mut(key.as_str()).and_then(VecDeque::pop_front);
        if let Some(c) = found.and_then(|i| child[i].take()) {
            if name == "httpHeaders" && c.get("value").is_none() {
                continue;
            }
            result.push(match (&item.val, &c.val) {
                (Val::Obj(_), Val::Obj(_)) => merge(item, c),
                _ => c,
            });
        } else if in_sibling_list(name, key, siblings) {
            // the same key lives in another list of the same handle
            // (a file where the child has a directory): Ignition drops it
        } else {
            result.push(item);
        }
    }
    let in_parent: HashSet<&str> = parent_keys.iter().map(String::as_str).collect();
    result.extend(
        child
            .into_iter()
            .zip(&child_keys)
            .filter(|(_, k)| !in_parent.contains(k.as_str()))
            .filter_map(|(c, _)| c),
    );
    result
}

fn handle(name: &str) -> &str {
    match name {
        "files" | "directories" | "links" => "node",
        "shouldExist" | "shouldNotExist" => "karg",
        other => other,
    }
}

fn in_sibling_list(name: &str, key: &str, siblings: &[(String, HashSet<String>)]) -> bool {
    siblings
        .iter()
        .any(|(other, keys)| other != name && handle(other) == handle(name) && keys.contains(key))
}

fn concatenates(name: &str) -> bool {
    matches!(name, "append" | "options" | "mountOptions")
}

/// Ignition's `Key()` of a list item, by the list it is in.
pub fn key_of(list: &str, item: &Out) -> String {
    let field = |k: &str| item.get_str(k).unwrap_or_default().to_string();
    match (&item.val, list) {
        (Val::Str(s), _) => s.clone(),
        (_, "files" | "directories" | "links") => field("path"),
        (_, "disks" | "filesystems") => field("device"),
        (_, "tang") => field("url"),
        (_, "merge" | "certificateAuthorities") => field("source"),
        (_, "partitions") => match item.get("number").map(|n| &n.val) {
            Some(Val::Int(n)) if *n != 0 => format!("number:{n}"),
            _ => item
                .get_str("label")
                .map(|l| format!("label:{l}"))
                .unwrap_or_default(),
        },
        _ => field("name"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::out::Src;

    fn unit(name: &str, contents: &str) -> Out {
        let mut u = Out::obj(Src::default());
        u.set("name", Out::str(name, Src::default()));
        u.set("contents", Out::str(contents, Src::default()));
        u
    }

    fn units(list: Vec<Out>) -> Out {
        let mut systemd = Out::obj(Src::default());
        systemd.set("units", Out::new(Val::List(list), Src::default()));
        let mut root = Out::obj(Src::default());
        root.set("systemd", systemd);
        root
    }

    #[test]
    fn parent_order_first_child_wins_new_items_appended() {
        let parent = units(vec![unit("a.mount", "gen"), unit("b.mount", "gen")]);
        let child = units(vec![unit("c.service", "user"), unit("b.mount", "user")]);
        let merged = merge(parent, child);
        let list = merged
            .get("systemd")
            .expect("systemd")
            .items("units")
            .to_vec();
        let got: Vec<(String, String)> = list
            .iter()
            .map(|u| {
                (
                    u.get_str("name").unwrap_or_default().to_string(),
                    u.get_str("contents").unwrap_or_default().to_string(),
                )
            })
            .collect();
        let want = [
            ("a.mount", "gen"),
            ("b.mount", "user"),
            ("c.service", "user"),
        ];
        assert_eq!(got.len(), 3);
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1.as_str()), w);
        }
    }
}
