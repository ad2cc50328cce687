//! The sandbox's own XML writer, in the platform's layout: declaration without encoding, a bare
//! DOCTYPE, two-space indentation, `<Empty />`. Deliberately shares nothing with the client's
//! parser, so a misreading of the protocol cannot hide behind common code.

/// One answer document, built line by line.
pub struct Doc {
    root: &'static str,
    body: String,
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

impl Doc {
    pub fn new(root: &'static str) -> Self {
        Doc {
            root,
            body: String::new(),
        }
    }

    /// `<name>text</name>`, or `<name />` when the text is empty.
    pub fn element(mut self, name: &str, text: &str) -> Self {
        if text.is_empty() {
            self.body.push_str(&format!("  <{name} />\n"));
        } else {
            self.body
                .push_str(&format!("  <{name}>{}</{name}>\n", escape(text)));
        }
        self
    }

    /// A `<Result>`/`<Reason>` pair.
    pub fn result(self, success: bool, reason: &str) -> Self {
        self.element("Result", if success { "Success" } else { "Failed" })
            .element("Reason", reason)
    }

    /// A nested element whose children are attribute-only elements (`<Calls><Call .../></Calls>`).
    pub fn attribute_list(
        mut self,
        name: &str,
        attributes: &[(&str, String)],
        child: &str,
        rows: &[Vec<(&str, String)>],
    ) -> Self {
        let attrs = render_attributes(attributes);
        if rows.is_empty() {
            self.body.push_str(&format!("  <{name}{attrs} />\n"));
            return self;
        }
        self.body.push_str(&format!("  <{name}{attrs}>\n"));
        for row in rows {
            self.body
                .push_str(&format!("    <{child}{} />\n", render_attributes(row)));
        }
        self.body.push_str(&format!("  </{name}>\n"));
        self
    }

    pub fn finish(self) -> String {
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE {root}>\n<{root}>\n{body}</{root}>\n",
            root = self.root,
            body = self.body
        )
    }
}

fn render_attributes(attributes: &[(&str, String)]) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!(" {k}=\"{}\"", escape(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_platform_layout() {
        let xml = Doc::new("GetUserInfo")
            .element("Customer", "a*r")
            .element("EmailAddress", "")
            .finish();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\"?>\n<!DOCTYPE GetUserInfo>\n<GetUserInfo>\n  <Customer>a*r</Customer>\n  <EmailAddress />\n</GetUserInfo>\n"
        );
    }
}
