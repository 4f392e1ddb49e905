//! The Ignition output tree and its JSON writer.
//!
//! Translation builds an [`Out`] tree rather than JSON text: every node
//! remembers which Butane key it came from, so that Ignition's checks of the
//! output (duplicate paths, relative paths, bad URLs) report the user's
//! line and key. The writer marshals it the way Go's `encoding/json` does
//! (same key order, same escaping, same `--pretty` layout), so the bytes
//! match the real Butane's.

use crate::report::KeyPath;
use crate::yaml::Mark;

/// Where an output node came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Src {
    /// Butane key path.
    pub path: KeyPath,
    /// Source position, when the node came from a YAML node.
    pub mark: Option<Mark>,
}

impl Src {
    /// A source at `path` and `mark`.
    pub fn new(path: KeyPath, mark: Option<Mark>) -> Self {
        Src { path, mark }
    }
}

/// An output value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// JSON `null` (a Go nil pointer or slice without `omitempty`).
    Null,
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// An array.
    List(Vec<Out>),
    /// An object, keys in output order.
    Obj(Vec<(String, Out)>),
}

/// An output node: value plus origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Out {
    /// The value.
    pub val: Val,
    /// Where it came from.
    pub src: Src,
}

impl Out {
    /// A node.
    pub fn new(val: Val, src: Src) -> Self {
        Out { val, src }
    }

    /// An empty object from `src`.
    pub fn obj(src: Src) -> Self {
        Out::new(Val::Obj(Vec::new()), src)
    }

    /// A string node.
    pub fn str(s: impl Into<String>, src: Src) -> Self {
        Out::new(Val::Str(s.into()), src)
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Out> {
        match &self.val {
            Val::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The member `key` of an object, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Out> {
        match &mut self.val {
            Val::Obj(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string member `key`, if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key).map(|o| &o.val) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The items of a list member `key` (empty when absent).
    pub fn items(&self, key: &str) -> &[Out] {
        match self.get(key).map(|o| &o.val) {
            Some(Val::List(v)) => v,
            _ => &[],
        }
    }

    /// Set member `key` (replacing, or appending in place).
    pub fn set(&mut self, key: &str, value: Out) {
        if let Val::Obj(m) = &mut self.val {
            if let Some(slot) = m.iter_mut().find(|(k, _)| k == key) {
                slot.1 = value;
            } else {
                m.push((key.to_string(), value));
            }
        }
    }

    /// The list member `key`, created empty when absent (or replacing a
    /// non-list value).
    pub fn list_mut(&mut self, key: &str, src: &Src) -> &mut Vec<Out> {
        if !matches!(self.get(key).map(|o| &o.val), Some(Val::List(_))) {
            self.set(key, Out::new(Val::List(Vec::new()), src.clone()));
        }
        match self.get_mut(key) {
            Some(Out {
                val: Val::List(v), ..
            }) => v,
            _ => unreachable!("member {key} was just set to a list"),
        }
    }

    /// The object member `key`, created empty when absent.
    pub fn obj_mut(&mut self, key: &str, src: &Src) -> &mut Out {
        if self.get(key).is_none() {
            self.set(key, Out::obj(src.clone()));
        }
        self.get_mut(key).expect("member was just set")
    }

    /// Whether Go's `omitempty` (as the clarketm/json fork Butane uses
    /// applies it) drops this value: empty lists and objects whose members
    /// are all dropped. Strings, numbers and booleans here are pointers
    /// or required fields, so they stay.
    pub fn is_empty(&self) -> bool {
        match &self.val {
            Val::List(v) => v.is_empty(),
            Val::Obj(m) => m.is_empty(),
            _ => false,
        }
    }

    /// Serialize as Go's `json.Marshal` (compact) or
    /// `json.MarshalIndent(v, "", "  ")` (pretty) would.
    pub fn to_json(&self, pretty: bool) -> String {
        let mut out = String::with_capacity(1024);
        write_val(&mut out, self, pretty, 0);
        out
    }
}

fn newline(out: &mut String, pretty: bool, depth: usize) {
    if pretty {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn write_val(out: &mut String, node: &Out, pretty: bool, depth: usize) {
    match &node.val {
        Val::Null => out.push_str("null"),
        Val::Str(s) => write_str(out, s),
        Val::Int(i) => out.push_str(&i.to_string()),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, pretty, depth + 1);
                write_val(out, item, pretty, depth + 1);
            }
            newline(out, pretty, depth);
            out.push(']');
        }
        Val::Obj(members) => {
            if members.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, pretty, depth + 1);
                write_str(out, k);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_val(out, v, pretty, depth + 1);
            }
            newline(out, pretty, depth);
            out.push('}');
        }
    }
}

/// Write a JSON string escaped as Go's encoder does (HTML-safe: `<`, `>`,
/// `&`, U+2028 and U+2029 as `\u` escapes).
pub fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let v = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((v >> shift) & 0xf) as usize] as char);
                }
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Out {
        Out::str(v, Src::default())
    }

    #[test]
    fn strings_escape_like_go() {
        let mut o = String::new();
        write_str(&mut o, "a<b>&\"\\\n\u{1}\u{2028}é");
        assert_eq!(o, r#""a\u003cb\u003e\u0026\"\\\n\u0001\u2028é""#);
    }

    #[test]
    fn pretty_layout_matches_marshal_indent() {
        let mut root = Out::obj(Src::default());
        root.set("a", s("x"));
        root.set("b", Out::new(Val::List(vec![s("y")]), Src::default()));
        assert_eq!(root.to_json(false), r#"{"a":"x","b":["y"]}"#);
        assert_eq!(
            root.to_json(true),
            "{\n  \"a\": \"x\",\n  \"b\": [\n    \"y\"\n  ]\n}"
        );
    }
}
