//! YAML text to a positioned node tree: the first step of Butane -> Ignition.
//!
//! Butane reads YAML with Go's `gopkg.in/yaml.v3`; this module keeps what
//! that decoder sees (raw scalar text, whether it was quoted, tags, anchors)
//! plus the 1-based line and column of every node, so later steps can name
//! the exact spot of every warning and error. Scalars are resolved later, by
//! the field type that reads them, as yaml.v3 does.

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

/// Parse the first YAML document of `src`. `Ok(None)` is an empty stream.
pub fn parse(src: &str) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder {
        src,
        parser: Parser::new_from_str(src),
        anchors: Vec::new(),
        nodes: 0,
    };
    builder.document()
}

struct Builder<'a> {
    src: &'a str,
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: Vec<(usize, Node)>,
    nodes: usize,
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
        let node = self.node(ev, span)?;
        Ok(Some(node))
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

    fn node(&mut self, ev: OwnedEvent, span: Span) -> Result<Node, YamlError> {
        let mark = Mark::from_span(span);
        self.count(mark)?;
        let (node, anchor) = match ev {
            OwnedEvent::Scalar(value, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let kind = NodeKind::Scalar { value, plain, tag };
                (
                    Node {
                        kind,
                        mark,
                        aliased: false,
                    },
                    anchor,
                )
            }
            OwnedEvent::SeqStart(anchor) => (self.sequence(mark)?, anchor),
            OwnedEvent::MapStart(anchor) => (self.mapping(mark)?, anchor),
            OwnedEvent::Alias(id) => {
                let found = self.anchors.iter().rev().find(|(a, _)| *a == id);
                let Some((_, target)) = found else {
                    return Err(YamlError {
                        message: "unknown anchor".into(),
                        mark,
                    });
                };
                let mut node = target.clone();
                self.nodes += size(&node);
                if self.nodes > MAX_NODES {
                    return self.count(mark).map(|()| node);
                }
                remark(&mut node, mark);
                node.aliased = true;
                return Ok(node);
            }
            OwnedEvent::Other => return Err(self.unexpected()),
        };
        if anchor != 0 {
            self.anchors.push((anchor, node.clone()));
        }
        Ok(node)
    }

    fn sequence(&mut self, mark: Mark) -> Result<Node, YamlError> {
        let mut items = Vec::new();
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::SequenceEnd) {
                break;
            }
            let ev = owned(ev);
            items.push(self.node(ev, span)?);
        }
        Ok(Node {
            kind: NodeKind::Seq(items),
            mark,
            aliased: false,
        })
    }

    fn mapping(&mut self, mark: Mark) -> Result<Node, YamlError> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
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
            if let Some((first, _)) = entries.iter().find(|(k, _)| same_key(k, &key)) {
                return Err(YamlError {
                    message: format!(
                        "mapping key {} already defined at line {}",
                        describe_key(&key),
                        first.mark.line
                    ),
                    mark: key.mark,
                });
            }
            entries.push((key, value));
        }
        Ok(Node {
            kind: NodeKind::Map(entries),
            mark,
            aliased: false,
        })
    }
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

fn size(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
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
mod tests {
    use super::*;

    fn scalar(n: &Node) -> &str {
        match &n.kind {
            NodeKind::Scalar { value, .. } => value,
            _ => panic!("not a scalar: {n:?}"),
        }
    }

    #[test]
    fn marks_are_one_based() {
        let n = parse("a: 1\nbb:\n  - x\n")
            .expect("valid")
            .expect("non-empty");
        let NodeKind::Map(entries) = &n.kind else {
            panic!("map")
        };
        assert_eq!(entries[0].0.mark, Mark { line: 1, col: 1 });
        assert_eq!(entries[0].1.mark, Mark { line: 1, col: 4 });
        let NodeKind::Seq(items) = &entries[1].1.kind else {
            panic!("seq")
        };
        assert_eq!(scalar(&items[0]), "x");
        assert_eq!(items[0].mark, Mark { line: 3, col: 5 });
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert_eq!(e.mark.line, 3);
        assert!(e.message.contains("already defined at line 1"), "{e}");
    }

    #[test]
    fn tabs_in_indentation_are_errors() {
        assert!(parse("a:\n\tb: 1\n").is_err());
    }

    #[test]
    fn empty_input_is_none() {
        assert_eq!(parse("").expect("ok"), None);
        assert_eq!(parse("# only a comment\n").expect("ok"), None);
    }

    #[test]
    fn aliases_expand() {
        let n = parse("a: &x {k: v}\nb: *x\n").expect("ok").expect("doc");
        let NodeKind::Map(entries) = &n.kind else {
            panic!("map")
        };
        assert!(matches!(entries[1].1.kind, NodeKind::Map(_)));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&src).is_err());
    }

    #[test]
    fn quoted_scalars_are_not_plain() {
        let n = parse("a: '0644'\n").expect("ok").expect("doc");
        let NodeKind::Map(entries) = &n.kind else {
            panic!("map")
        };
        assert!(matches!(
            entries[0].1.kind,
            NodeKind::Scalar { plain: false, .. }
        ));
    }
}
