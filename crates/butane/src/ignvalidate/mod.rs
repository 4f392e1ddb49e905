//! Ignition's own checks of the translated config, as Butane runs them after
//! translation: the variant's field filters, then Ignition's duplicate
//! check (`ValidateDups`: repeated paths, names, devices...) over the whole
//! tree, then every Ignition type's `Validate` method (paths, URLs, hashes,
//! units, partitions, filesystems, LUKS, RAID, ...) for the target spec
//! `3.<minor>.0`. Findings point back at the Butane source: the offending
//! output node's origin when it exists, else the Ignition path in
//! snake_case (Butane's fallback), placed at the deepest source key found
//! along it.
//!
//! The walk is split by area (`config`, `resource`, `storage`, `disks`,
//! `luks`, `systemd`): for every Ignition type, its duplicate lists (in the
//! duplicate pass) or its `Validate` method (in the validation pass), then
//! its members in Go declaration order, as vcontext's walker visits them.

mod config;
mod data_url;
mod disks;
mod luks;
mod resource;
mod storage;
mod systemd;
mod unit;
mod url;

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use crate::out::{Out, Val};
use crate::report::{KeyPath, Report, Step};
use crate::schema::Spec;
use crate::translate::slash_clean;
use crate::yaml::Mark;

/// Fields a variant's spec forbids in its output: flatcar 1.0.0/1.1.0
/// forbid `storage.luks.clevis`, flatcar 1.2.0-experimental forbids
/// `storage.luks.cex`.
pub fn field_filters(config: &Out, spec: Spec, report: &mut Report) {
    if spec.fcos.is_some() {
        return;
    }
    let (field, message) = match spec.base {
        4 | 5 => ("clevis", "clevis is not supported in this spec version"),
        8 => (
            "cex",
            "cex is not currently supported on the target platform",
        ),
        _ => return,
    };
    let mut v = Validator::new(config, 0, report);
    let Some(storage) = config.get("storage") else {
        return;
    };
    let p = KeyPath::root().key("storage").key("luks");
    for (i, luks) in storage.items("luks").iter().enumerate() {
        if luks.get(field).is_some_and(|n| !deep_empty(n)) {
            v.error(luks, &p.index(i), &[Rel::K(field)], message);
        }
    }
}

/// Whether Butane's filter considers the value empty: absent pointers,
/// empty lists, objects whose members are all empty.
fn deep_empty(n: &Out) -> bool {
    match &n.val {
        Val::Null => true,
        Val::List(v) => v.is_empty(),
        Val::Obj(m) => m.iter().all(|(_, v)| deep_empty(v)),
        _ => false,
    }
}

/// Ignition's validation of `config` for spec `3.<ign_minor>.0` (7 is
/// 3.7.0-experimental): duplicates first, then the types' checks.
pub fn validate(config: &Out, ign_minor: u8, report: &mut Report) {
    let mut v = Validator::new(config, ign_minor, report);
    v.dups = true;
    v.config(config, &KeyPath::root());
    v.dups = false;
    v.config(config, &KeyPath::root());
}

/// A step relative to the node being checked.
#[derive(Clone, Copy)]
pub(crate) enum Rel<'k> {
    /// An object member.
    K(&'k str),
    /// A list index.
    I(usize),
}

/// Walk state: spec minor, which pass, the report and where source keys are.
pub(crate) struct Validator<'r> {
    minor: u8,
    dups: bool,
    report: &'r mut Report,
    root: &'r Out,
    /// Source marks by path, built on the first finding that needs one
    /// (a clean config never pays for it).
    marks: OnceCell<HashMap<String, Option<Mark>>>,
}

fn collect_marks(n: &Out, marks: &mut HashMap<String, Option<Mark>>) {
    marks.entry(n.src.path.to_string()).or_insert(n.src.mark);
    match &n.val {
        Val::List(v) => v.iter().for_each(|c| collect_marks(c, marks)),
        Val::Obj(m) => m.iter().for_each(|(_, c)| collect_marks(c, marks)),
        _ => {}
    }
}

/// Butane's camelCase -> snake_case (`sizeMiB` -> `size_mib`).
fn snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("MiB") {
            out.push_str("_mib");
            rest = r;
        } else {
            if c.is_ascii_uppercase() {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

impl<'r> Validator<'r> {
    fn new(config: &'r Out, minor: u8, report: &'r mut Report) -> Self {
        Validator {
            minor,
            dups: false,
            report,
            root: config,
            marks: OnceCell::new(),
        }
    }

    /// Where a finding at `base` + `rel` lands in the Butane source.
    fn locate(&self, base: &Out, ipath: &KeyPath, rel: &[Rel]) -> (KeyPath, Option<Mark>) {
        let mut node = Some(base);
        for r in rel {
            node = node.and_then(|n| match (r, &n.val) {
                (Rel::K(k), _) => n.get(k),
                (Rel::I(i), Val::List(v)) => v.get(*i),
                _ => None,
            });
        }
        if let Some(n) = node {
            let mark = n.src.mark.or_else(|| self.deepest(&n.src.path));
            return (n.src.path.clone(), mark);
        }
        let mut full = ipath.clone();
        for r in rel {
            full = match r {
                Rel::K(k) => full.key(k),
                Rel::I(i) => full.index(*i),
            };
        }
        let snaked = KeyPath(
            full.0
                .iter()
                .map(|s| match s {
                    Step::Key(k) => Step::Key(snake(k)),
                    Step::Index(i) => Step::Index(*i),
                })
                .collect(),
        );
        let mark = self.deepest(&snaked);
        (snaked, mark)
    }

    fn deepest(&self, path: &KeyPath) -> Option<Mark> {
        let marks = self.marks.get_or_init(|| {
            let mut marks = HashMap::new();
            collect_marks(self.root, &mut marks);
            marks
        });
        let mut p = path.clone();
        loop {
            if let Some(m) = marks.get(&p.to_string()) {
                if m.is_some() {
                    return *m;
                }
            }
            p.0.pop()?;
        }
    }

    /// Reports Ignition's `validatePath` error for `value`, if any.
    fn check_path(&mut self, n: &Out, p: &KeyPath, rel: &[Rel], value: &str) {
        if let Some(e) = path_error(value) {
            self.error(n, p, rel, e);
        }
    }

    /// Reports an error about `base` + `rel` (at Ignition path `ipath`),
    /// placed in the Butane source by [`Self::locate`].
    pub(crate) fn error(&mut self, base: &Out, ipath: &KeyPath, rel: &[Rel], msg: &str) {
        let (p, m) = self.locate(base, ipath, rel);
        self.report.error(p, m, msg);
    }

    /// Reports a warning about `base` + `rel`, placed as [`Self::error`]
    /// places an error.
    pub(crate) fn warn(&mut self, base: &Out, ipath: &KeyPath, rel: &[Rel], msg: &str) {
        let (p, m) = self.locate(base, ipath, rel);
        self.report.warn(p, m, msg);
    }

    /// `ValidateDups` for one struct: `fields` are its slice fields in
    /// declaration order, each with the list it shares keys with and how
    /// an element is keyed.
    fn dup_lists(&mut self, n: &Out, p: &KeyPath, fields: &[DupField]) {
        if !self.dups {
            return;
        }
        let mut seen: HashMap<&str, HashSet<String>> = HashMap::new();
        for (field, group, key) in fields {
            let set = seen.entry(group).or_default();
            for (i, item) in n.items(field).iter().enumerate() {
                if !set.insert(key(item)) {
                    self.error(n, p, &[Rel::K(field), Rel::I(i)], "duplicate entry defined");
                }
            }
        }
    }
}

/// A struct's slice field for the duplicate check: its name, the list it
/// shares keys with, and how an element is keyed.
type DupField<'a> = (&'a str, &'a str, fn(&Out) -> String);

/// Key of a string list element.
fn key_str(n: &Out) -> String {
    match &n.val {
        Val::Str(s) => s.clone(),
        _ => String::new(),
    }
}

/// Key function reading one string member.
fn key_member(field: &'static str) -> impl Fn(&Out) -> String {
    move |n: &Out| n.get_str(field).unwrap_or_default().to_string()
}

fn key_name(n: &Out) -> String {
    key_member("name")(n)
}
fn key_path(n: &Out) -> String {
    key_member("path")(n)
}
fn key_device(n: &Out) -> String {
    key_member("device")(n)
}
fn key_source(n: &Out) -> String {
    key_member("source")(n)
}
fn key_url(n: &Out) -> String {
    key_member("url")(n)
}
fn key_partition(n: &Out) -> String {
    match (get_int(n, "number"), n.get_str("label")) {
        (Some(num), _) if num != 0 => format!("number:{num}"),
        (_, Some(l)) => format!("label:{l}"),
        _ => String::new(),
    }
}

/// An integer member.
fn get_int(n: &Out, key: &str) -> Option<i64> {
    match n.get(key).map(|o| &o.val) {
        Some(Val::Int(i)) => Some(*i),
        _ => None,
    }
}

/// A boolean member.
fn get_bool(n: &Out, key: &str) -> Option<bool> {
    match n.get(key).map(|o| &o.val) {
        Some(Val::Bool(b)) => Some(*b),
        _ => None,
    }
}

fn is_true(n: &Out, key: &str) -> bool {
    get_bool(n, key) == Some(true)
}

/// A string member that is present and non-empty (`util.NotEmpty`).
fn not_empty<'a>(n: &'a Out, key: &str) -> Option<&'a str> {
    n.get_str(key).filter(|s| !s.is_empty())
}

/// Whether a member is present and not null (a non-nil Go pointer).
fn present(n: &Out, key: &str) -> bool {
    n.get(key).is_some_and(|o| o.val != Val::Null)
}

/// Ignition's `validatePath`.
fn path_error(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        Some("path not specified")
    } else if !p.starts_with('/') {
        Some("path not absolute")
    } else if slash_clean(p) != p {
        Some("path is not fully simplified")
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
