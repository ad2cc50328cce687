//! A small, strict reader that turns an answer body into a tree of elements.
//!
//! The platform's answers are tiny and flat, so a tree is simpler to interpret than a stream
//! and easier to get right than serde mapping (see the quick-xml pitfalls in stack-notes).
//! It tolerates the bare `<!DOCTYPE Root>` the platform sends and refuses anything that is not
//! one complete, well-formed document.

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// The largest answer read, in bytes: the platform's largest (500 call records) is about
/// 150 KB. A longer body is cut off there and fails as truncated (outcome unknown).
pub const MAX_BODY: usize = 1 << 20;
/// How deep elements may nest: the platform's answers are 3 deep. The parser holds open
/// elements on a stack of its own, and this bound also keeps dropping the tree shallow.
pub const MAX_DEPTH: usize = 64;
/// Elements in one answer at most (500 call records are about 510).
pub const MAX_ELEMENTS: usize = 10_000;
/// Attributes of one element at most (a call record has 7).
pub const MAX_ATTRIBUTES: usize = 64;

/// One element: its name, attributes, direct text and children, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    fn new(name: String, attributes: Vec<(String, String)>) -> Self {
        Element {
            name,
            attributes,
            text: String::new(),
            children: Vec::new(),
        }
    }

    /// The first child with this exact name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this exact name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The value of an attribute with this exact name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a body is not a usable XML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("empty body")]
    Empty,
    #[error("body is not UTF-8")]
    NotUtf8,
    #[error("body is not XML (it starts with {start:?})")]
    NotXml { start: String },
    #[error("malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("XML ends before the root element is closed (truncated body)")]
    Truncated,
    /// An answer beyond what the platform ever sends: refused before it costs memory.
    #[error("answer too large: {0}")]
    TooLarge(String),
}

/// Parses a whole body into its root element.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    if body.len() > MAX_BODY {
        return Err(XmlError::TooLarge(format!(
            "{} bytes, more than {MAX_BODY}",
            body.len()
        )));
    }
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(XmlError::Empty);
    }
    if !trimmed.starts_with('<') {
        return Err(XmlError::NotXml {
            start: trimmed.chars().take(40).collect(),
        });
    }
    let mut reader = Reader::from_str(trimmed);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let malformed = |reader: &Reader<&[u8]>, message: String| XmlError::Malformed {
        position: reader.buffer_position(),
        message,
    };
    let mut elements = 0usize;
    let mut count = |reader: &Reader<&[u8]>, depth: usize| {
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(XmlError::TooLarge(format!(
                "more than {MAX_ELEMENTS} elements (at byte {})",
                reader.buffer_position()
            )));
        }
        if depth > MAX_DEPTH {
            return Err(XmlError::TooLarge(format!(
                "elements nested more than {MAX_DEPTH} deep (at byte {})",
                reader.buffer_position()
            )));
        }
        Ok(())
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(&reader, e.to_string()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(malformed(&reader, "content after the root element".into()));
                }
                count(&reader, stack.len() + 1)?;
                let element = open(&reader, &start)?;
                stack.push(element);
            }
            Event::Empty(start) => {
                count(&reader, stack.len() + 1)?;
                let element = open(&reader, &start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => {
                        return Err(malformed(&reader, "content after the root element".into()));
                    }
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start.
                let element = stack
                    .pop()
                    .ok_or_else(|| malformed(&reader, "unexpected closing tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(&reader, &mut stack, &content)?;
            }
            Event::CData(c) => {
                push_text(&reader, &mut stack, &c.into_inner())?;
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| malformed(&reader, e.to_string()))?
                        .map(String::from)
                } else {
                    quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .map(String::from)
                };
                let resolved = resolved.ok_or_else(|| {
                    malformed(&reader, format!("unknown entity &{};", r.xml10_content()))
                })?;
                push_text(&reader, &mut stack, &resolved)?;
            }
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Truncated);
    }
    root.ok_or(XmlError::Truncated)
}

fn open(
    reader: &Reader<&[u8]>,
    start: &quick_xml::events::BytesStart<'_>,
) -> Result<Element, XmlError> {
    let name = start.name().as_ref().to_string();
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError::Malformed {
            position: reader.buffer_position(),
            message: e.to_string(),
        })?;
        if attributes.len() == MAX_ATTRIBUTES {
            return Err(XmlError::TooLarge(format!(
                "an element with more than {MAX_ATTRIBUTES} attributes"
            )));
        }
        let key = attr.key.as_ref().to_string();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::Malformed {
                position: reader.buffer_position(),
                message: e.to_string(),
            })?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element::new(name, attributes))
}

fn push_text(reader: &Reader<&[u8]>, stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(e) => {
            e.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed {
            position: reader.buffer_position(),
            message: "text outside the root element".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_doctype_attributes_entities_and_empty_elements() {
        let root = parse(
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE X>\n<X>\n  <A k=\"a&amp;b\" />\n  <B>1 &lt; 2&#33;</B>\n</X>\n",
        )
        .unwrap();
        assert_eq!(root.name, "X");
        assert_eq!(root.child("A").unwrap().attribute("k"), Some("a&b"));
        assert_eq!(root.child("B").unwrap().text, "1 < 2!");
    }

    #[test]
    fn refuses_what_is_not_one_whole_document() {
        assert_eq!(parse(b""), Err(XmlError::Empty));
        assert_eq!(parse(b"  \n"), Err(XmlError::Empty));
        assert!(matches!(
            parse(b"Server Error"),
            Err(XmlError::NotXml { .. })
        ));
        assert_eq!(parse(b"<X><A>1</A>"), Err(XmlError::Truncated));
        assert!(matches!(
            parse(b"<X><A>1</B></X>"),
            Err(XmlError::Malformed { .. })
        ));
        assert!(matches!(
            parse(b"<X/><Y/>"),
            Err(XmlError::Malformed { .. })
        ));
        assert_eq!(parse(&[0xff, 0xfe]), Err(XmlError::NotUtf8));
    }

    #[test]
    fn hostile_answers_are_refused_within_bounds_never_a_crash() {
        // 45,000 levels deep (it overflowed the stack when the tree was dropped).
        let deep = format!("{}{}", "<a>".repeat(45_000), "</a>".repeat(45_000));
        assert!(
            matches!(parse(deep.as_bytes()), Err(XmlError::TooLarge(m)) if m.contains("64 deep"))
        );
        // 64 levels are fine, 65 are not.
        let ok = format!("{}{}", "<a>".repeat(64), "</a>".repeat(64));
        parse(ok.as_bytes()).unwrap();
        // A flood of elements, within the body cap.
        let flood = format!("<r>{}</r>", "<a/>".repeat(20_000));
        assert!(
            matches!(parse(flood.as_bytes()), Err(XmlError::TooLarge(m)) if m.contains("elements"))
        );
        // Attributes without end, and a body over the cap.
        let attrs: String = (0..100).map(|i| format!(" a{i}=\"1\"")).collect();
        assert!(matches!(
            parse(format!("<r{attrs}/>").as_bytes()),
            Err(XmlError::TooLarge(_))
        ));
        let huge = vec![b' '; MAX_BODY + 1];
        assert!(matches!(parse(&huge), Err(XmlError::TooLarge(_))));
    }
}
