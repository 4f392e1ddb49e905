//! Structure-aware YAML for the fuzz targets: an arbitrary [`Shape`]
//! rendered as YAML text, so the fuzzer reaches deep nesting (flow and
//! block), anchors and aliases (also of aliases), long and duplicate keys
//! without having to discover YAML's syntax byte by byte.

use libfuzzer_sys::arbitrary::{self, Arbitrary};

/// A YAML value to write.
#[derive(Arbitrary, Debug)]
pub enum Shape {
    /// A plain scalar from a few words Butane and specs use.
    Word(u8),
    /// A double-quoted scalar of `len` copies of a character.
    Long { len: u16, ch: u8 },
    /// A flow list.
    List(Vec<Shape>),
    /// A flow mapping; keys are words, long keys or repeats.
    Map(Vec<(Key, Shape)>),
    /// `depth` levels of lists or mappings, in flow or block style,
    /// around a value (depths reach past the parser's bound).
    Deep {
        depth: u32,
        map: bool,
        flow: bool,
        inner: Box<Shape>,
    },
    /// `&aN value`.
    Anchor(u8, Box<Shape>),
    /// `*aN` (maybe undefined).
    Alias(u8),
    /// A list of `n` copies of one alias (amplification).
    Fan { n: u16, id: u8 },
}

/// A mapping key.
#[derive(Arbitrary, Debug)]
pub enum Key {
    /// A word from [`WORDS`].
    Word(u8),
    /// `k` then `len` characters.
    Long(u16),
    /// `kN`: small N repeats, for duplicate keys.
    Num(u8),
}

/// Text past this many bytes is not extended (the harness must not be
/// what runs out of memory).
const MAX_TEXT: usize = 4 << 20;

const WORDS: &[&str] = &[
    "name", "nodes", "path", "contents", "inline", "password_hash", "users", "files", "storage",
    "passwd", "count", "image", "pool", "volume", "networks", "x", "1", "~", "true", "<<", "0644",
];

fn word(i: u8) -> &'static str {
    WORDS[usize::from(i) % WORDS.len()]
}

impl Shape {
    /// This value as flow-style YAML (block styles are opened on their
    /// own lines at indentation `indent`).
    pub fn write(&self, out: &mut String, indent: usize, budget: &mut usize) {
        if *budget == 0 || out.len() > MAX_TEXT {
            out.push('x');
            return;
        }
        *budget -= 1;
        match self {
            Shape::Word(i) => out.push_str(word(*i)),
            Shape::Long { len, ch } => {
                let c = char::from(b'a' + ch % 26);
                out.push('"');
                out.extend(std::iter::repeat_n(c, usize::from(*len)));
                out.push('"');
            }
            Shape::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out, indent, budget);
                }
                out.push(']');
            }
            Shape::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write(out);
                    out.push_str(": ");
                    v.write(out, indent, budget);
                }
                out.push('}');
            }
            Shape::Deep {
                depth,
                map,
                flow,
                inner,
            } => deep(out, indent, (*depth % 150_000) as usize, *map, *flow, inner, budget),
            Shape::Anchor(id, inner) => {
                out.push_str(&format!("&a{} ", id % 8));
                inner.write(out, indent, budget);
            }
            Shape::Alias(id) => out.push_str(&format!("*a{}", id % 8)),
            Shape::Fan { n, id } => {
                out.push('[');
                for i in 0..*n % 4096 {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&format!("*a{}", id % 8));
                }
                out.push(']');
            }
        }
    }
}

impl Key {
    fn write(&self, out: &mut String) {
        match self {
            Key::Word(i) => out.push_str(word(*i)),
            Key::Long(n) => {
                out.push('k');
                out.extend(std::iter::repeat_n('q', usize::from(*n)));
            }
            Key::Num(n) => out.push_str(&format!("k{}", n % 16)),
        }
    }
}

fn deep(
    out: &mut String,
    indent: usize,
    depth: usize,
    map: bool,
    flow: bool,
    inner: &Shape,
    budget: &mut usize,
) {
    // whatever the nesting around it, stay within MAX_TEXT
    let room = MAX_TEXT.saturating_sub(out.len()) / 4;
    let depth = depth.min(room);
    if flow {
        let (open, close) = if map { ("{k: ", "}") } else { ("[", "]") };
        out.push_str(&open.repeat(depth));
        inner.write(out, indent, budget);
        out.push_str(&close.repeat(depth));
    } else if map {
        // one key a line, each indented one more: the text grows with
        // the square of the depth, so this style stops at 3000 levels
        for i in 0..depth.min(3000) {
            if out.len() > MAX_TEXT {
                break;
            }
            out.push('\n');
            out.push_str(&" ".repeat(indent + 1 + i));
            out.push_str("k:");
        }
        out.push(' ');
        inner.write(out, indent + depth + 1, budget);
    } else {
        out.push_str(&"- ".repeat(depth));
        inner.write(out, indent + 2 * depth, budget);
    }
}

/// `shape` as the value of `key` in `doc` (a YAML document whose last
/// line is `key:` at column 1).
pub fn render(doc: &str, shape: &Shape) -> String {
    let mut out = String::from(doc);
    out.push(' ');
    // bounds the text, not what aliases make of it
    let mut budget = 10_000;
    shape.write(&mut out, 0, &mut budget);
    out.push('\n');
    out
}
