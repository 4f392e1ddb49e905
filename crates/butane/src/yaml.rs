//! YAML text to a positioned node tree: the first step of Butane -> Ignition.
//!
//! Butane reads YAML with Go's `gopkg.in/yaml.v3`; this module keeps what
//! that decoder sees (raw scalar text, whether it was quoted, tags, anchors)
//! plus the 1-based line and column of every node, so later steps can name
//! the exact spot of every warning and error. Scalars are resolved later, by
//! the field type that reads them, as yaml.v3 does.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A 1-based line and column in the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    /// Line, counting from 1.
    pub line: usize,
    /// Column, counting from 1, in characters.
    pub col: usize,
}

impl Mark {
    fn from_span(span: Span) -> Self {
        Mark {
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }
}

/// One YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// Where it starts.
    pub mark: Mark,
    /// The node is the expansion of an alias (`*name`); every mark inside
    /// it is the alias's position, as Butane reports them.
    pub aliased: bool,
}

/// The three kinds of YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A scalar: its text, whether it was plain (unquoted, not a block),
    /// and its tag (`!!str`, `!!int`, ...) when one was written.
    Scalar {
        /// The scalar's text after YAML unescaping and folding.
        value: String,
        /// `true` for plain scalars, which are resolved by content.
        plain: bool,
        /// Explicit short tag such as `!!str`, if any.
        tag: Option<String>,
    },
    /// A sequence of nodes.
    Seq(Vec<Node>),
    /// A mapping, in source order; keys are unique (checked on load).
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error, or a structure Butane refuses (duplicate keys).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// What is wrong, without position.
    pub message: String,
    /// Where.
    pub mark: Mark,
}

/// Expanding aliases may not make a tree larger than this many nodes
/// ("billion laughs" inputs are refused, not expanded).
const MAX_NODES: usize = 1_000_000;

/// Lists and mappings may nest this deep, counting the root as level 1
/// and aliases at their expanded depth. Real Butane configs and cluster
/// specs nest fewer than 20 levels; 256 leaves room for generated ones
/// while keeping every recursive walk over the tree (building, reading,
/// dropping) far from the end of a thread's stack (a level costs a few
/// hundred bytes of stack in the deepest walk; 256 of them stay under
/// 256 KiB, and the smallest stack a Rust thread gets by default is 2 MiB).
pub const MAX_DEPTH: usize = 256;

/// What anchors and aliases may copy, in bytes of the tree in memory:
/// every alias expands to a copy of its anchor's tree, and every anchor
/// keeps one. 32 MiB is far more than any config shares through aliases
/// (snippets of units and users), and bounds what a "billion laughs" file
/// of a few KB can make this process allocate.
pub const MAX_ALIAS_BYTES: usize = 32 << 20;

/// Below this many entries a mapping's duplicate-key check is a scan;
/// from it on, a hash index (both are linear over the mapping).
const SMALL_MAP: usize = 16;

/// Parse the first YAML document of `src`. `Ok(None)` is an empty stream.
pub fn parse(src: &str) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder {
        src,
        parser: Parser::new_from_str(src),
        anchors: HashMap::new(),
        nodes: 0,
        bytes: 0,
        copied: 0,
        depth: 0,
    };
    builder.document()
}

/// A node as built, with what the limits need to know about it.
struct Built {
    node: Node,
    /// Levels of lists and mappings in it, the node itself included
    /// (0 for a scalar).
    height: usize,
}

/// An anchored node kept for its aliases.
struct Anchor {
    node: Node,
    height: usize,
    /// Its size in memory, as [`cost`] counts it.
    bytes: usize,
    /// Its number of nodes.
    nodes: usize,
}

struct Builder<'a> {
    src: &'a str,
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// By the parser's anchor id (unique per `&name` written).
    anchors: HashMap<usize, Anchor>,
    nodes: usize,
    /// Size of every node built so far, as [`cost`] counts it.
    bytes: usize,
    /// Bytes copied for anchors and aliases, against [`MAX_ALIAS_BYTES`].
    copied: usize,
    /// Lists and mappings open around the current node.
    depth: usize,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event<'_>, Span), YamlError> {
        match self.parser.next() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => {
                let (line, mut col) = (e.marker().line(), e.marker().col() + 1);
                // the scanner stands just past an offending tab; name the tab
                let at = |c: usize| {
                    self.src
                        .lines()
                        .nth(line.wrapping_sub(1))
                        .and_then(|l| l.chars().nth(c))
                };
                if e.info().contains("tab") && col > 1 && at(col - 2) == Some('\t') {
                    col -= 1;
                }
                // the scanner counts flow levels in a u8: the same limit
                // as ours, met first by flow-only nesting
                if e.info() == "recursion limit exceeded" {
                    return Err(too_deep(Mark { line, col }));
                }
                Err(YamlError {
                    message: e.info().to_string(),
                    mark: Mark { line, col },
                })
            }
            None => Err(YamlError {
                message: "unexpected end of input".into(),
                mark: Mark::default(),
            }),
        }
    }

    fn document(&mut self) -> Result<Option<Node>, YamlError> {
        loop {
            let (ev, _) = self.next()?;
            match ev {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => return Ok(None),
                Event::DocumentStart(_) => break,
                _ => return Err(self.unexpected()),
            }
        }
        let (ev, span) = self.next()?;
        let ev = owned(ev);
        let built = self.node(ev, span)?;
        Ok(Some(built.node))
    }

    fn unexpected(&self) -> YamlError {
        YamlError {
            message: "unexpected YAML event".into(),
            mark: Mark::default(),
        }
    }

    fn count(&mut self, mark: Mark) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(YamlError {
                message: format!(
                    "document is too large (over {MAX_NODES} nodes after expanding aliases)"
                ),
                mark,
            });
        }
        Ok(())
    }

    fn node(&mut self, ev: OwnedEvent, span: Span) -> Result<Built, YamlError> {
        let mark = Mark::from_span(span);
        let (bytes_before, nodes_before) = (self.bytes, self.nodes);
        self.count(mark)?;
        let (built, anchor) = match ev {
            OwnedEvent::Scalar(value, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let kind = NodeKind::Scalar { value, plain, tag };
                let node = Node {
                    kind,
                    mark,
                    aliased: false,
                };
                self.bytes += cost(&node);
                (Built { node, height: 0 }, anchor)
            }
            OwnedEvent::SeqStart(anchor) => (self.nested(mark, Self::sequence)?, anchor),
            OwnedEvent::MapStart(anchor) => (self.nested(mark, Self::mapping)?, anchor),
            OwnedEvent::Alias(id) => return self.alias(id, mark),
            OwnedEvent::Other => return Err(self.unexpected()),
        };
        if anchor != 0 {
            let bytes = self.bytes - bytes_before;
            self.copy(bytes, mark)?;
            let kept = Anchor {
                node: built.node.clone(),
                height: built.height,
                bytes,
                nodes: self.nodes - nodes_before,
            };
            self.anchors.insert(anchor, kept);
        }
        Ok(built)
    }

    /// A list or mapping one level below the current one, refused past
    /// [`MAX_DEPTH`] before anything deeper is read.
    fn nested(
        &mut self,
        mark: Mark,
        read: fn(&mut Self, Mark) -> Result<Built, YamlError>,
    ) -> Result<Built, YamlError> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep(mark));
        }
        self.depth += 1;
        let built = read(self, mark);
        self.depth -= 1;
        let mut built = built?;
        built.height += 1;
        self.bytes += std::mem::size_of::<Node>();
        Ok(built)
    }

    /// A copy of the anchored node `id`, at the alias's position, within
    /// the depth and copy limits.
    fn alias(&mut self, id: usize, mark: Mark) -> Result<Built, YamlError> {
        let Some(target) = self.anchors.get(&id) else {
            return Err(YamlError {
                message: "unknown anchor".into(),
                mark,
            });
        };
        let (height, bytes, nodes) = (target.height, target.bytes, target.nodes);
        if self.depth + height > MAX_DEPTH {
            return Err(too_deep(mark));
        }
        // the alias event itself was counted as one node
        self.nodes += nodes - 1;
        self.count(mark)?;
        self.copy(bytes, mark)?;
        self.bytes += bytes;
        let mut node = self.anchors[&id].node.clone();
        remark(&mut node, mark);
        node.aliased = true;
        Ok(Built { node, height })
    }

    /// Account for `bytes` more copied for anchors and aliases.
    fn copy(&mut self, bytes: usize, mark: Mark) -> Result<(), YamlError> {
        self.copied = self.copied.saturating_add(bytes);
        if self.copied > MAX_ALIAS_BYTES {
            return Err(YamlError {
                message: format!(
                    "anchors and aliases expand to more than {} MiB (the limit on what they may copy)",
                    MAX_ALIAS_BYTES >> 20
                ),
                mark,
            });
        }
        Ok(())
    }

    fn sequence(&mut self, mark: Mark) -> Result<Built, YamlError> {
        let mut items = Vec::new();
        let mut height = 0;
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::SequenceEnd) {
                break;
            }
            let ev = owned(ev);
            let item = self.node(ev, span)?;
            height = height.max(item.height);
            items.push(item.node);
        }
        let node = Node {
            kind: NodeKind::Seq(items),
            mark,
            aliased: false,
        };
        Ok(Built { node, height })
    }

    fn mapping(&mut self, mark: Mark) -> Result<Built, YamlError> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut keys = KeyIndex::default();
        let mut height = 0;
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let ev = owned(ev);
            let key = self.node(ev, span)?;
            let (ev, span) = self.next()?;
            let ev = owned(ev);
            let value = self.node(ev, span)?;
            height = height.max(key.height).max(value.height);
            let key = key.node;
            if let Some(first) = keys.earlier(&entries, &key) {
                return Err(YamlError {
                    message: format!(
                        "mapping key {} already defined at line {}",
                        describe_key(&key),
                        first.line
                    ),
                    mark: key.mark,
                });
            }
            keys.add(&entries, &key);
            entries.push((key, value.node));
        }
        let node = Node {
            kind: NodeKind::Map(entries),
            mark,
            aliased: false,
        };
        Ok(Built { node, height })
    }
}

/// Where a mapping's scalar keys are, so that the duplicate-key check of
/// a mapping of n keys takes O(n) time, not O(n^2): small mappings are
/// scanned, larger ones hashed.
#[derive(Default)]
struct KeyIndex {
    /// Key text to the index of its entry; filled once the mapping has
    /// [`SMALL_MAP`] entries.
    index: HashMap<String, usize>,
}

impl KeyIndex {
    /// The position of an earlier key equal to `key`, if any.
    fn earlier(&self, entries: &[(Node, Node)], key: &Node) -> Option<Mark> {
        if entries.len() < SMALL_MAP {
            return entries
                .iter()
                .find(|(k, _)| same_key(k, key))
                .map(|(k, _)| k.mark);
        }
        let NodeKind::Scalar { value, .. } = &key.kind else {
            return None;
        };
        self.index.get(value).map(|&i| entries[i].0.mark)
    }

    /// Note `key`, about to become entry `entries.len()`.
    fn add(&mut self, entries: &[(Node, Node)], key: &Node) {
        if entries.len() + 1 < SMALL_MAP {
            return;
        }
        if self.index.is_empty() {
            for (i, (k, _)) in entries.iter().enumerate() {
                if let NodeKind::Scalar { value, .. } = &k.kind {
                    self.index.insert(value.clone(), i);
                }
            }
        }
        if let NodeKind::Scalar { value, .. } = &key.kind {
            self.index.insert(value.clone(), entries.len());
        }
    }
}

fn too_deep(mark: Mark) -> YamlError {
    YamlError {
        message: format!("nested too deeply (more than {MAX_DEPTH} levels of lists and mappings)"),
        mark,
    }
}

/// What one node holds in memory beyond its children.
fn cost(node: &Node) -> usize {
    let text = match &node.kind {
        NodeKind::Scalar { value, tag, .. } => value.len() + tag.as_ref().map_or(0, String::len),
        _ => 0,
    };
    std::mem::size_of::<Node>() + text
}

fn remark(node: &mut Node, mark: Mark) {
    node.mark = mark;
    match &mut node.kind {
        NodeKind::Scalar { .. } => {}
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| remark(n, mark)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            remark(k, mark);
            remark(v, mark);
        }),
    }
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Scalar { value: x, .. }, NodeKind::Scalar { value: y, .. }) => x == y,
        _ => false,
    }
}

fn describe_key(key: &Node) -> String {
    match &key.kind {
        NodeKind::Scalar { value, .. } => format!("{value:?}"),
        _ => "(complex key)".into(),
    }
}

/// The parts of a parser event this module keeps, detached from the input.
enum OwnedEvent {
    Scalar(String, ScalarStyle, usize, Option<String>),
    SeqStart(usize),
    MapStart(usize),
    Alias(usize),
    Other,
}

fn owned(ev: Event<'_>) -> OwnedEvent {
    match ev {
        Event::Scalar(v, style, anchor, tag) => {
            let tag = tag.map(|t| short_tag(&t.handle, &t.suffix));
            OwnedEvent::Scalar(v.into_owned(), style, anchor, tag)
        }
        Event::SequenceStart(anchor, _) => OwnedEvent::SeqStart(anchor),
        Event::MappingStart(anchor, _) => OwnedEvent::MapStart(anchor),
        Event::Alias(id) => OwnedEvent::Alias(id),
        _ => OwnedEvent::Other,
    }
}

fn short_tag(handle: &str, suffix: &str) -> String {
    const LONG: &str = "tag:yaml.org,2002:";
    if handle == "!!" {
        format!("!!{suffix}")
    } else if let Some(rest) = format!("{handle}{suffix}").strip_prefix(LONG) {
        format!("!!{rest}")
    } else {
        format!("{handle}{suffix}")
    }
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
