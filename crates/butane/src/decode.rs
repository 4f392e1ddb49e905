//! YAML nodes + schema -> a typed Butane document, the second step.
//!
//! Reads the node tree the way Go's yaml.v3 decodes into Butane's structs:
//! scalars are resolved by the field type that receives them (`0644` is
//! octal, `yes` is true for a boolean, any scalar's text fits a string),
//! null means unset, and keys the version does not know are warnings
//! ("unused key"), as in the real tool. Type mismatches are errors naming
//! the key path and position.

use crate::report::{KeyPath, Report};
use crate::schema::{Field, Spec, StructDef, Ty};
use crate::yaml::{Mark, Node, NodeKind};

/// A decoded value.
#[derive(Clone, Debug)]
pub enum Value {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A list of strings, each with its position.
    StrList(Vec<(String, Mark)>),
    /// A struct.
    Obj(Obj),
    /// A list of structs.
    List(Vec<Obj>),
}

/// A set field: which field, where its key and value are, and the value.
#[derive(Clone, Debug)]
pub struct Slot {
    /// The schema field.
    pub field: &'static Field,
    /// Position of the key.
    pub key_mark: Mark,
    /// Position of the value.
    pub mark: Mark,
    /// The value.
    pub value: Value,
}

/// A decoded struct: only the fields that were set (not null).
#[derive(Clone, Debug)]
pub struct Obj {
    /// Its schema.
    pub def: &'static StructDef,
    /// Its key path.
    pub path: KeyPath,
    /// Its position.
    pub mark: Mark,
    /// Set fields in source order.
    pub slots: Vec<Slot>,
}

impl Obj {
    /// The slot of field `yaml`, if set.
    pub fn slot(&self, yaml: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.field.yaml == yaml)
    }

    /// String field `yaml`, if set.
    pub fn str(&self, yaml: &str) -> Option<&str> {
        match self.slot(yaml).map(|s| &s.value) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Integer field `yaml`, if set.
    pub fn int(&self, yaml: &str) -> Option<i64> {
        match self.slot(yaml).map(|s| &s.value) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// Boolean field `yaml`, if set.
    pub fn bool(&self, yaml: &str) -> Option<bool> {
        match self.slot(yaml).map(|s| &s.value) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// Whether boolean field `yaml` is set to true.
    pub fn is_true(&self, yaml: &str) -> bool {
        self.bool(yaml) == Some(true)
    }

    /// Struct field `yaml`, if set.
    pub fn obj(&self, yaml: &str) -> Option<&Obj> {
        match self.slot(yaml).map(|s| &s.value) {
            Some(Value::Obj(o)) => Some(o),
            _ => None,
        }
    }

    /// List-of-structs field `yaml` (empty when unset).
    pub fn list(&self, yaml: &str) -> &[Obj] {
        match self.slot(yaml).map(|s| &s.value) {
            Some(Value::List(v)) => v,
            _ => &[],
        }
    }

    /// List-of-strings field `yaml` (empty when unset).
    pub fn strs(&self, yaml: &str) -> &[(String, Mark)] {
        match self.slot(yaml).map(|s| &s.value) {
            Some(Value::StrList(v)) => v,
            _ => &[],
        }
    }

    /// Path of field `yaml`.
    pub fn path_of(&self, yaml: &str) -> KeyPath {
        self.path.key(yaml)
    }

    /// Value position of field `yaml`, or of this struct when unset.
    pub fn mark_of(&self, yaml: &str) -> Mark {
        self.slot(yaml).map_or(self.mark, |s| s.mark)
    }
}

/// Decode the document root against the root schema for `spec`.
pub fn decode_root(node: &Node, root: &'static StructDef, spec: Spec, report: &mut Report) -> Obj {
    let mut d = Decoder {
        spec,
        report,
        quiet: 0,
    };
    match &node.kind {
        NodeKind::Map(_) => d.object(node, root, &KeyPath::root()),
        _ => {
            d.type_error(node, &KeyPath::root(), "a mapping of Butane fields");
            empty(root, KeyPath::root(), node.mark)
        }
    }
}

fn empty(def: &'static StructDef, path: KeyPath, mark: Mark) -> Obj {
    Obj {
        def,
        path,
        mark,
        slots: Vec::new(),
    }
}

struct Decoder<'r> {
    spec: Spec,
    report: &'r mut Report,
    /// Inside an alias expansion: unused keys are not reported there.
    quiet: usize,
}

impl Decoder<'_> {
    fn object(&mut self, node: &Node, def: &'static StructDef, path: &KeyPath) -> Obj {
        let mut obj = empty(def, path.clone(), node.mark);
        let NodeKind::Map(entries) = &node.kind else {
            if !is_null(node) {
                self.type_error(node, path, "a mapping");
            }
            return obj;
        };
        for (key, value) in with_merged_keys(entries).iter() {
            let NodeKind::Scalar { value: name, .. } = &key.kind else {
                self.report.error(
                    path.clone(),
                    Some(key.mark),
                    "mapping keys must be strings, not lists or mappings",
                );
                continue;
            };
            let name = name.as_str();
            let Some(field) = def.field(name, self.spec) else {
                self.unused(def, name, path, key.mark);
                continue;
            };
            let fpath = path.key(name);
            if let Some(decoded) = self.value(value, field.ty, &fpath) {
                obj.slots.push(Slot {
                    field,
                    key_mark: key.mark,
                    mark: value.mark,
                    value: decoded,
                });
            }
        }
        obj
    }

    fn unused(&mut self, def: &'static StructDef, name: &str, path: &KeyPath, mark: Mark) {
        if self.quiet > 0 {
            return;
        }
        let mut msg = format!("unused key {name}");
        if !def.versions_with(name).is_empty() {
            msg.push_str(" (not in this spec version; see the Butane spec of a newer version)");
        } else if let Some(near) = closest(name, def.names(self.spec)) {
            msg.push_str(&format!(" (did you mean {near}?)"));
        }
        self.report.warn(path.key(name), Some(mark), msg);
    }

    fn value(&mut self, node: &Node, ty: Ty, path: &KeyPath) -> Option<Value> {
        if is_null(node) {
            return None;
        }
        // Butane's position tree has no children under an alias: unused
        // keys inside one are not reported
        self.quiet += usize::from(node.aliased);
        let v = self.typed(node, ty, path);
        self.quiet -= usize::from(node.aliased);
        v
    }

    /// A struct, warning (as Butane does) when it is read from an alias.
    fn structure(&mut self, node: &Node, def: &'static StructDef, path: &KeyPath) -> Obj {
        if !node.aliased {
            return self.object(node, def, path);
        }
        self.report.warn(
            path.clone(),
            Some(node.mark),
            format!("context tree does not match content tree at {path}. Line and column reporting may be inconsistent. Unused keys may not be reported"),
        );
        self.quiet += 1;
        let obj = self.object(node, def, path);
        self.quiet -= 1;
        obj
    }

    fn typed(&mut self, node: &Node, ty: Ty, path: &KeyPath) -> Option<Value> {
        match ty {
            Ty::Str => self.string(node, path).map(Value::Str),
            Ty::Int => self.int(node, path).map(Value::Int),
            Ty::Bool => self.boolean(node, path).map(Value::Bool),
            Ty::StrList => self.str_list(node, path).map(Value::StrList),
            Ty::Struct(def) => Some(Value::Obj(self.structure(node, def, path))),
            Ty::List(def) => self.obj_list(node, def, path).map(Value::List),
        }
    }

    fn string(&mut self, node: &Node, path: &KeyPath) -> Option<String> {
        match &node.kind {
            NodeKind::Scalar {
                value,
                tag: Some(tag),
                ..
            } if tag == "!!binary" => {
                use base64::Engine;
                let compact: String = value.split_whitespace().collect();
                match base64::engine::general_purpose::STANDARD.decode(compact) {
                    Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                    Err(_) => {
                        let msg = "!!binary value contains invalid base64 data";
                        self.report.error(path.clone(), Some(node.mark), msg);
                        None
                    }
                }
            }
            NodeKind::Scalar { value, .. } => Some(value.clone()),
            _ => {
                self.type_error(node, path, "a string");
                None
            }
        }
    }

    fn int(&mut self, node: &Node, path: &KeyPath) -> Option<i64> {
        let parsed = match &node.kind {
            NodeKind::Scalar { value, plain, tag } => {
                match resolve(value, *plain, tag.as_deref()) {
                    Resolved::Int(i) => i64::try_from(i).ok(),
                    Resolved::Float(f) if f <= i64::MAX as f64 && f >= i64::MIN as f64 => {
                        // yaml.v3 truncates a float read into an int field
                        Some(f as i64)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if parsed.is_none() {
            self.type_error(node, path, "an integer");
        }
        parsed
    }

    fn boolean(&mut self, node: &Node, path: &KeyPath) -> Option<bool> {
        let parsed = match &node.kind {
            NodeKind::Scalar { value, plain, tag } => {
                match resolve(value, *plain, tag.as_deref()) {
                    Resolved::Bool(b) => Some(b),
                    // yaml.v3 accepts YAML 1.1 words for typed booleans
                    Resolved::Str => match value.as_str() {
                        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
                        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        };
        if parsed.is_none() {
            self.type_error(node, path, "a boolean (true or false)");
        }
        parsed
    }

    fn str_list(&mut self, node: &Node, path: &KeyPath) -> Option<Vec<(String, Mark)>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.type_error(node, path, "a list of strings");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            // yaml.v3 drops null items from a list
            if is_null(item) {
                continue;
            }
            if let Some(s) = self.string(item, &path.index(i)) {
                out.push((s, item.mark));
            }
        }
        Some(out)
    }

    fn obj_list(
        &mut self,
        node: &Node,
        def: &'static StructDef,
        path: &KeyPath,
    ) -> Option<Vec<Obj>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.type_error(node, path, "a list");
            return None;
        };
        // yaml.v3 drops null items; indexes stay those of the source
        let objs = items
            .iter()
            .enumerate()
            .filter(|(_, item)| !is_null(item))
            .map(|(i, item)| self.structure(item, def, &path.index(i)))
            .collect();
        Some(objs)
    }

    fn type_error(&mut self, node: &Node, path: &KeyPath, want: &str) {
        let found = match &node.kind {
            NodeKind::Scalar {
                value, plain: true, ..
            } => format!("`{}`", clip(value)),
            NodeKind::Scalar { value, .. } => format!("the string {:?}", clip(value)),
            NodeKind::Seq(_) => "a list".to_string(),
            NodeKind::Map(_) => "a mapping".to_string(),
        };
        self.report.error(
            path.clone(),
            Some(node.mark),
            format!("cannot unmarshal {found} into {want}"),
        );
    }
}

/// A mapping's entries with YAML merge keys (`<<: *anchor`, or a list of
/// anchors) expanded as yaml.v3 does: merged keys fill in what the mapping
/// does not set itself, and carry the position of the `<<` key. The `<<`
/// entry itself stays (Butane reports it as an unused key).
fn with_merged_keys(entries: &[(Node, Node)]) -> std::borrow::Cow<'_, [(Node, Node)]> {
    let is_merge =
        |k: &Node| matches!(&k.kind, NodeKind::Scalar { value, plain: true, .. } if value == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return std::borrow::Cow::Borrowed(entries);
    }
    let mut out: Vec<(Node, Node)> = entries.to_vec();
    // the keys set so far, so that each merged key is looked up in
    // constant time (merging n keys into m stays O(n + m))
    let mut taken: std::collections::HashSet<String> = entries
        .iter()
        .filter_map(|(k, _)| match &k.kind {
            NodeKind::Scalar { value, .. } => Some(value.clone()),
            _ => None,
        })
        .collect();
    for (key, value) in entries.iter().filter(|(k, _)| is_merge(k)) {
        let sources: Vec<&Node> = match &value.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            _ => vec![value],
        };
        for source in sources {
            let NodeKind::Map(merged) = &source.kind else {
                continue;
            };
            for (mk, mv) in merged {
                let fresh = match &mk.kind {
                    NodeKind::Scalar { value, .. } => taken.insert(value.clone()),
                    _ => true,
                };
                if fresh {
                    let mut mk = mk.clone();
                    let mut mv = mv.clone();
                    mk.mark = key.mark;
                    mv.mark = key.mark;
                    out.push((mk, mv));
                }
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        let head: String = s.chars().take(40).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

/// Whether a node is YAML null (plain `~`, `null`, empty).
pub fn is_null(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Scalar { value, plain, tag } => {
            *plain
                && tag.as_deref().is_none_or(|t| t == "!!null")
                && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL")
        }
        _ => false,
    }
}

/// What a scalar resolves to under yaml.v3's rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Resolved {
    /// null
    Null,
    /// a boolean
    Bool(bool),
    /// an integer (wider than i64 to tell overflow)
    Int(i128),
    /// a float
    Float(f64),
    /// anything else, including every quoted scalar
    Str,
}

/// Resolve a scalar as yaml.v3's `resolve()` does.
pub fn resolve(value: &str, plain: bool, tag: Option<&str>) -> Resolved {
    // an explicit core tag makes even a quoted scalar resolve by content
    let explicit = matches!(tag, Some("!!int" | "!!bool" | "!!float" | "!!null"));
    if (!plain && !explicit) || tag == Some("!!str") {
        return Resolved::Str;
    }
    match value {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = value.as_bytes()[0];
    if first == b'.' {
        return value.parse::<f64>().map_or(Resolved::Str, Resolved::Float);
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return Resolved::Str;
    }
    let plain_num: String = value.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&plain_num) {
        return Resolved::Int(i);
    }
    if yaml_style_float(&plain_num) {
        if let Ok(f) = plain_num.parse::<f64>() {
            return Resolved::Float(f);
        }
    }
    Resolved::Str
}

/// Go's `strconv.ParseInt(s, 0, 64)` (or ParseUint for large positives):
/// sign, then `0x`/`0o`/`0b` prefixes or a leading `0` for octal.
fn go_parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = u64::from_str_radix(digits, radix).ok()?;
    let v = i128::from(v);
    if neg {
        (v <= i128::from(i64::MAX) + 1).then_some(-v)
    } else {
        Some(v)
    }
}

/// yaml.v3's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// The candidate closest to `name` by edit distance, if close enough to
/// be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let len = name.chars().count();
    candidates
        // the distance is at least the difference in length: a long
        // (hostile) key costs no quadratic edit-distance table
        .filter(|c| len.abs_diff(c.chars().count()) <= 2.max(c.len() / 4))
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_resolve_like_yaml_v3() {
        let cases: &[(&str, Option<i128>)] = &[
            ("0644", Some(420)),
            ("0o644", Some(420)),
            ("420", Some(420)),
            ("0x1A4", Some(420)),
            ("0b110100100", Some(420)),
            ("1_000", Some(1000)),
            ("-0644", Some(-420)),
            ("+7", Some(7)),
            ("0", Some(0)),
            ("abc", None),
            ("08", None),
        ];
        for (input, want) in cases {
            let got = match resolve(input, true, None) {
                Resolved::Int(i) => Some(i),
                _ => None,
            };
            assert_eq!(got, *want, "{input}");
        }
        assert_eq!(resolve("08", true, None), Resolved::Float(8.0));
        assert_eq!(resolve("'0644'", false, None), Resolved::Str);
        assert_eq!(resolve("1.5", true, None), Resolved::Float(1.5));
        assert_eq!(resolve("yes", true, None), Resolved::Str);
        assert_eq!(resolve("True", true, None), Resolved::Bool(true));
    }

    #[test]
    fn typos_get_suggestions() {
        let names = ["path", "mode", "contents", "overwrite"];
        assert_eq!(closest("contnets", names.into_iter()), Some("contents"));
        assert_eq!(closest("zzzzzz", names.into_iter()), None);
    }
}
