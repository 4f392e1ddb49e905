//! The one XML writer every libvirt renderer uses: a thin layer over
//! `quick_xml::Writer` that keeps tags balanced (children are written in a
//! closure) and, in `--explain` mode, puts a one-line comment saying why
//! before every element. Pure: text is built in memory.

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

/// Attributes of one element, in the order they are written.
pub(crate) type Attrs<'a> = &'a [(&'a str, &'a str)];

/// An XML document being written, indented by two spaces.
pub(crate) struct Xml {
    w: Writer<Vec<u8>>,
    explain: bool,
}

impl Xml {
    /// A new, empty document; `explain` turns the `why` texts into comments.
    pub(crate) fn new(explain: bool) -> Self {
        Xml {
            w: Writer::new_with_indent(Vec::new(), b' ', 2),
            explain,
        }
    }

    /// `<name attrs>` + whatever `body` writes + `</name>`.
    pub(crate) fn elem(
        &mut self,
        name: &str,
        attrs: Attrs,
        why: &str,
        body: impl FnOnce(&mut Xml),
    ) {
        self.why(why);
        self.event(Event::Start(start(name, attrs)));
        body(self);
        self.event(Event::End(BytesEnd::new(name)));
    }

    /// `<name attrs/>`.
    pub(crate) fn empty(&mut self, name: &str, attrs: Attrs, why: &str) {
        self.why(why);
        self.event(Event::Empty(start(name, attrs)));
    }

    /// `<name attrs>text</name>`, `text` escaped.
    pub(crate) fn text(&mut self, name: &str, attrs: Attrs, text: &str, why: &str) {
        self.why(why);
        self.event(Event::Start(start(name, attrs)));
        self.event(Event::Text(BytesText::new(text)));
        self.event(Event::End(BytesEnd::new(name)));
    }

    /// The document, ending with a newline.
    pub(crate) fn finish(self) -> String {
        let mut text = String::from_utf8(self.w.into_inner())
            .expect("quick-xml writes back the UTF-8 it is given");
        text.push('\n');
        text
    }

    fn why(&mut self, why: &str) {
        if self.explain {
            // the texts are ours (some say `>=`), but may quote a name
            let text = format!(" {} ", no_double_dash(why));
            self.event(Event::Comment(BytesText::from_escaped(text)));
        }
    }

    fn event(&mut self, event: Event) {
        self.w
            .write_event(event)
            .expect("writing XML into a Vec<u8> cannot fail");
    }
}

/// `text` with a space between any two dashes: an XML comment may not
/// hold `--` (XML 1.0, section 2.5), so no run of dashes can end it early
/// and turn what follows into live markup.
fn no_double_dash(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '-' && out.ends_with('-') {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `text` made safe inside an XML comment that quotes names: no `--`,
/// and `>` written `&gt;` so that no `-->` can be read into it by a
/// looser parser either.
pub(crate) fn comment_text(text: &str) -> String {
    no_double_dash(text).replace('>', "&gt;")
}

/// `<!-- text -->` and a newline, `text` made safe by [`comment_text`].
pub(crate) fn comment_line(text: &str) -> String {
    format!("<!-- {} -->\n", comment_text(text))
}

fn start<'a>(name: &'a str, attrs: Attrs<'a>) -> BytesStart<'a> {
    BytesStart::new(name).with_attributes(attrs.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let mut x = Xml::new(false);
        x.elem("a", &[("q", "x'\"<&")], "", |x| {
            x.text("b", &[], "1 < 2 & 3", "");
        });
        let out = x.finish();
        assert!(out.contains("1 &lt; 2 &amp; 3"), "{out}");
        assert!(!out.contains("x'\"<&"), "{out}");
    }

    #[test]
    fn explain_comments_before_each_element() {
        let mut x = Xml::new(true);
        x.elem("a", &[], "why a", |x| x.empty("b", &[], "why -- b"));
        assert_eq!(
            x.finish(),
            "<!-- why a -->\n<a>\n  <!-- why - - b -->\n  <b/>\n</a>\n"
        );
    }

    #[test]
    fn no_name_can_end_a_comment() {
        for (text, want) in [
            ("volume a in pool b", "volume a in pool b"),
            (
                "x --><disk type='file'><!-- ",
                "x - -&gt;<disk type='file'&gt;<!- - ",
            ),
            ("---", "- - -"),
            ("a->b", "a-&gt;b"),
        ] {
            assert_eq!(comment_text(text), want);
        }
        assert_eq!(comment_line("pool a--b"), "<!-- pool a- -b -->\n");
    }
}
