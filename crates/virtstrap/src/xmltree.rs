//! Reading the XML a libvirt host returns (domains, networks, pools,
//! volumes) into a small element tree, with quick-xml's namespace-aware
//! reader. Used where virtstrap looks at what a host has: the owner record
//! ([`crate::render::owner`]), the snapshot the planner diffs against
//! ([`crate::plan::actual`]) and the backends. Writing goes through the
//! renderers' own writer, never through this.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// One element: its local name, namespace, attributes, text and children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (`owner` for `<vs:owner>`).
    pub name: String,
    /// The namespace URI the element's prefix is bound to, if any.
    pub namespace: Option<String>,
    /// Attributes by qualified name, unescaped, in document order
    /// (namespace declarations left out).
    pub attrs: Vec<(String, String)>,
    /// Text directly inside the element, unescaped and trimmed.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

/// XML a host returned that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML: {0}")]
pub struct XmlError(String);

impl Element {
    /// Parse a whole document; its root element.
    pub fn parse(xml: &str) -> Result<Element, XmlError> {
        let mut reader = NsReader::from_str(xml);
        // a stack of open elements; the root is popped last
        let mut open: Vec<Element> = Vec::new();
        loop {
            let (ns, event) = reader
                .read_resolved_event()
                .map_err(|e| XmlError(e.to_string()))?;
            let namespace = match ns {
                ResolveResult::Bound(n) => Some(String::from_utf8_lossy(n.0).into_owned()),
                _ => None,
            };
            match event {
                Event::Start(e) => open.push(element(&e, namespace)?),
                Event::Empty(e) => {
                    let done = element(&e, namespace)?;
                    match open.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Text(t) => {
                    let text = t.decode().map_err(|e| XmlError(e.to_string()))?;
                    if let Some(top) = open.last_mut() {
                        top.text.push_str(&unescape(&text)?);
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r.decode().map_err(|e| XmlError(e.to_string()))?;
                    if let Some(top) = open.last_mut() {
                        top.text.push_str(&unescape(&format!("&{name};"))?);
                    }
                }
                Event::End(_) => {
                    let mut done = open.pop().ok_or_else(|| XmlError("stray end tag".into()))?;
                    done.text = done.text.trim().to_string();
                    match open.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Eof => return Err(XmlError("no root element".into())),
                _ => {}
            }
        }
    }

    /// The first child named `name` (any namespace).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at the end of a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// The text of the element at `path`.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(|e| e.text.as_str())
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first element, this one or below it, named `name` in the
    /// namespace `namespace`, depth first.
    pub fn find_ns(&self, namespace: &str, name: &str) -> Option<&Element> {
        if self.name == name && self.namespace.as_deref() == Some(namespace) {
            return Some(self);
        }
        self.children
            .iter()
            .find_map(|c| c.find_ns(namespace, name))
    }
}

fn element(start: &BytesStart<'_>, namespace: Option<String>) -> Result<Element, XmlError> {
    let local = start.local_name();
    let mut attrs = Vec::new();
    for a in start.attributes() {
        let a = a.map_err(|e| XmlError(e.to_string()))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError(e.to_string()))?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name: String::from_utf8_lossy(local.as_ref()).into_owned(),
        namespace,
        attrs,
        ..Element::default()
    })
}

fn unescape(text: &str) -> Result<String, XmlError> {
    quick_xml::escape::unescape(text)
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| XmlError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_elements_are_found_whatever_their_prefix() {
        let xml = "<domain><name>a&amp;b</name><metadata>\
                   <x:owner xmlns:x='urn:t' cluster='c&quot;1'><x:volume pool='p' name='v'/></x:owner>\
                   </metadata></domain>";
        let root = Element::parse(xml).expect("parses");
        assert_eq!(root.text_at(&["name"]), Some("a&b"));
        let owner = root.find_ns("urn:t", "owner").expect("owner");
        assert_eq!(owner.attr("cluster"), Some("c\"1"));
        assert_eq!(owner.children("volume").count(), 1);
        assert!(root.find_ns("urn:other", "owner").is_none());
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(Element::parse("<a><b></a>").is_err());
        assert!(Element::parse("").is_err());
    }
}
