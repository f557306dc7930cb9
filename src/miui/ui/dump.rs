//! `uiautomator dump` output → a flat list of nodes with parent links (FACTS.md §6).
//!
//! Pure parsing: knows the output format of uiautomator (the XML, the "UI hierchary
//! dumped to" trailer, its `ERROR:` lines, CRLF from some transports, truncation when a
//! phone drops mid-dump) and nothing about which screen it is or what to tap.

/// A rectangle in screen pixels, as uiautomator writes `bounds="[x1,y1][x2,y2]"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Bounds {
    pub left: i32,
    pub top: i32,
    pub right: i32,
    pub bottom: i32,
}

impl Bounds {
    /// Parses `[x1,y1][x2,y2]`; `None` on anything else.
    pub fn parse(s: &str) -> Option<Bounds> {
        let s = s.trim().strip_prefix('[')?.strip_suffix(']')?;
        let (a, b) = s.split_once("][")?;
        let pair = |p: &str| -> Option<(i32, i32)> {
            let (x, y) = p.split_once(',')?;
            Some((x.trim().parse().ok()?, y.trim().parse().ok()?))
        };
        let (left, top) = pair(a)?;
        let (right, bottom) = pair(b)?;
        Some(Bounds {
            left,
            top,
            right,
            bottom,
        })
    }

    /// The point a finger would press: the middle of the rectangle.
    pub fn centre(&self) -> (i32, i32) {
        (
            self.left + (self.right - self.left) / 2,
            self.top + (self.bottom - self.top) / 2,
        )
    }

    /// A zero-area node cannot be tapped (off-screen or collapsed).
    pub fn is_empty(&self) -> bool {
        self.right <= self.left || self.bottom <= self.top
    }
}

/// One `<node>` of the hierarchy, with the attributes the engine uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub text: String,
    pub resource_id: String,
    pub class: String,
    pub package: String,
    pub content_desc: String,
    pub clickable: bool,
    pub enabled: bool,
    pub checked: bool,
    pub focused: bool,
    /// An `EditText` marked as a password field: its text must never be saved.
    pub password: bool,
    pub bounds: Bounds,
    /// Index of the parent node in [`Screen::nodes`]; `None` for top-level nodes.
    pub parent: Option<usize>,
}

/// One dump: every node in document order (parents before children).
#[derive(Debug, Clone, Default)]
pub struct Screen {
    pub nodes: Vec<Node>,
    /// The XML as received (trailer removed), kept to save next to a report on failure.
    pub xml: String,
}

/// Why a dump could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    /// uiautomator said `ERROR: …` (no idle state, null root node, another UiAutomation
    /// client attached). Usually transient: retry.
    #[error("uiautomator failed: {0}")]
    Uiautomator(String),
    /// No XML in the output at all.
    #[error("uiautomator printed no hierarchy")]
    Empty,
    /// The XML stopped before `</hierarchy>` (phone dropped mid-dump) or is not XML.
    #[error("uiautomator output is truncated or malformed: {0}")]
    Malformed(String),
}

/// Parses what `uiautomator dump /dev/tty` printed.
pub fn parse(output: &str) -> Result<Screen, DumpError> {
    let start = output.find("<?xml").or_else(|| output.find("<hierarchy"));
    let Some(start) = start else {
        // The error line is the useful part; uiautomator may print it after a preamble.
        if let Some(line) = output
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("ERROR"))
        {
            return Err(DumpError::Uiautomator(line.to_string()));
        }
        return Err(DumpError::Empty);
    };
    let rest = &output[start..];
    let Some(end) = rest.rfind("</hierarchy>") else {
        return Err(DumpError::Malformed("no </hierarchy>".into()));
    };
    let xml = &rest[..end + "</hierarchy>".len()];
    let doc = roxmltree::Document::parse(xml).map_err(|e| DumpError::Malformed(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "hierarchy" {
        return Err(DumpError::Malformed(format!(
            "root element is <{}>",
            root.tag_name().name()
        )));
    }
    let mut nodes = Vec::new();
    collect(root, None, &mut nodes);
    Ok(Screen {
        nodes,
        xml: xml.to_string(),
    })
}

fn collect(parent_el: roxmltree::Node<'_, '_>, parent: Option<usize>, out: &mut Vec<Node>) {
    for el in parent_el.children().filter(|c| c.has_tag_name("node")) {
        let attr = |k: &str| el.attribute(k).unwrap_or("").to_string();
        let flag = |k: &str| el.attribute(k) == Some("true");
        let node = Node {
            text: attr("text"),
            resource_id: attr("resource-id"),
            class: attr("class"),
            package: attr("package"),
            content_desc: attr("content-desc"),
            clickable: flag("clickable"),
            // A node without the attribute is treated as enabled (older dumps omit it).
            enabled: el.attribute("enabled") != Some("false"),
            checked: flag("checked"),
            focused: flag("focused"),
            password: flag("password"),
            bounds: el
                .attribute("bounds")
                .and_then(Bounds::parse)
                .unwrap_or_default(),
            parent,
        };
        out.push(node);
        let me = out.len() - 1;
        collect(el, Some(me), out);
    }
}

impl Screen {
    /// The nearest clickable node at or above `index` — what a finger on a label
    /// actually presses (labels sit in non-clickable TextViews inside clickable rows).
    pub fn clickable_ancestor(&self, index: usize) -> usize {
        let mut at = Some(index);
        while let Some(i) = at {
            let Some(n) = self.nodes.get(i) else { break };
            if n.clickable {
                return i;
            }
            at = n.parent;
        }
        index
    }

    /// The packages on screen, most frequent first is not needed: any match counts.
    pub fn has_package(&self, package: &str) -> bool {
        self.nodes.iter().any(|n| n.package == package)
    }

    /// The XML for saving next to a report: the text of every text field (any
    /// `EditText`) and of every node marked `password="true"` blanked. Blanking by field
    /// rather than by searching for the secret also covers a half-typed password, a
    /// shown one (MIUI's eye), and any escaping uiautomator's serializer chose.
    pub fn redacted_xml(&self) -> String {
        let Ok(doc) = roxmltree::Document::parse(&self.xml) else {
            // Parsed once already; if that somehow fails, save nothing readable.
            return String::new();
        };
        let mut out = String::from("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>");
        write_redacted(doc.root_element(), &mut out);
        out
    }
}

fn write_redacted(el: roxmltree::Node<'_, '_>, out: &mut String) {
    let secret = el.attribute("class").is_some_and(is_text_field_class)
        || el.attribute("password") == Some("true");
    out.push('<');
    out.push_str(el.tag_name().name());
    for a in el.attributes() {
        let blank = secret && matches!(a.name(), "text" | "content-desc" | "hint");
        let value = if blank { "" } else { a.value() };
        out.push_str(&format!(" {}=\"{}\"", a.name(), xml_escape(value)));
    }
    let children: Vec<_> = el.children().filter(|c| c.is_element()).collect();
    if children.is_empty() {
        out.push_str(" />");
        return;
    }
    out.push('>');
    for c in children {
        write_redacted(c, out);
    }
    out.push_str(&format!("</{}>", el.tag_name().name()));
}

/// Android's text fields: `EditText` and its subclasses (`AutoCompleteTextView` is one
/// too, but accessibility reports such views under their own names only on some builds).
fn is_text_field_class(class: &str) -> bool {
    class.contains("EditText") || class.contains("AutoCompleteTextView")
}

impl Node {
    /// A text field: whatever is typed into it may be secret.
    pub fn is_text_field(&self) -> bool {
        is_text_field_class(&self.class)
    }
}

/// Attribute escaping as Android's XML serializer does it, plus the control characters
/// an attribute cannot carry raw.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured shape: one line of XML then the trailer, as `exec-out uiautomator dump
    // /dev/tty` prints it on MIUI 14.
    const ONE_LINE: &str = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\"><node index=\"0\" text=\"\" resource-id=\"\" class=\"android.widget.FrameLayout\" package=\"com.xiaomi.account\" content-desc=\"\" checkable=\"false\" checked=\"false\" clickable=\"false\" enabled=\"true\" focusable=\"false\" focused=\"false\" scrollable=\"false\" long-clickable=\"false\" password=\"false\" selected=\"false\" bounds=\"[0,0][1080,2400]\"><node index=\"0\" text=\"\" resource-id=\"com.xiaomi.account:id/logout_btn\" class=\"android.widget.LinearLayout\" package=\"com.xiaomi.account\" content-desc=\"\" checkable=\"false\" checked=\"false\" clickable=\"true\" enabled=\"true\" focusable=\"true\" focused=\"false\" scrollable=\"false\" long-clickable=\"false\" password=\"false\" selected=\"false\" bounds=\"[48,2100][1032,2244]\"><node index=\"0\" text=\"Sign out\" resource-id=\"\" class=\"android.widget.TextView\" package=\"com.xiaomi.account\" content-desc=\"\" checkable=\"false\" checked=\"false\" clickable=\"false\" enabled=\"true\" focusable=\"false\" focused=\"false\" scrollable=\"false\" long-clickable=\"false\" password=\"false\" selected=\"false\" bounds=\"[460,2150][620,2194]\" /></node></node></hierarchy>UI hierchary dumped to: /dev/tty\n";

    #[test]
    fn one_line_dump_with_trailer_parses_with_parents() {
        let s = parse(ONE_LINE).unwrap();
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(s.nodes[2].text, "Sign out");
        assert_eq!(s.nodes[2].parent, Some(1));
        assert_eq!(s.clickable_ancestor(2), 1);
        assert_eq!(s.nodes[1].bounds.centre(), (540, 2172));
        assert!(!s.xml.contains("hierchary"));
    }

    #[test]
    fn crlf_output_parses() {
        let crlf = ONE_LINE.replace("><", ">\r\n<").replace('\n', "\r\n");
        let s = parse(&crlf).unwrap();
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(s.nodes[1].resource_id, "com.xiaomi.account:id/logout_btn");
    }

    #[test]
    fn truncated_dump_is_malformed_not_a_panic() {
        for cut in [10, 60, ONE_LINE.len() / 2, ONE_LINE.len() - 40] {
            let r = parse(&ONE_LINE[..cut]);
            assert!(
                matches!(r, Err(DumpError::Malformed(_))),
                "cut {cut}: {r:?}"
            );
        }
    }

    #[test]
    fn error_lines_are_recognised() {
        for line in [
            "ERROR: could not get idle state.\n",
            "ERROR: null root node returned by UiTestAutomationBridge.\r\n",
            "Killed\nERROR: could not get idle state.",
        ] {
            assert!(
                matches!(parse(line), Err(DumpError::Uiautomator(m)) if m.starts_with("ERROR")),
                "{line}"
            );
        }
        assert_eq!(parse("").map(|_| ()), Err(DumpError::Empty));
    }

    #[test]
    fn garbage_and_hostile_xml_are_errors() {
        assert!(parse("<hierarchy><node bounds=\"[a,b][c,d]\"></hierarchy>").is_err());
        assert!(
            parse("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><hierarchy>&a;</hierarchy>")
                .is_err()
        );
        let odd =
            parse("<hierarchy rotation=\"1\"><node bounds=\"[1,2]\" text=\"x\"/></hierarchy>")
                .unwrap();
        assert_eq!(odd.nodes[0].bounds, Bounds::default());
        assert!(odd.nodes[0].enabled);
    }

    #[test]
    fn bounds_parse_and_centre() {
        let b = Bounds::parse("[0,1800][1080,2400]").unwrap();
        assert_eq!(b.centre(), (540, 2100));
        assert!(Bounds::parse("[0,0]").is_none());
        assert!(Bounds::parse("0,0,1,1").is_none());
        assert!(Bounds::default().is_empty());
    }

    #[test]
    fn redaction_blanks_every_text_field_whatever_its_escaping() {
        // A shown password (password="false": MIUI's eye), a half-typed one, quotes of
        // both kinds written raw and escaped, and a non-field label that must stay.
        let xml = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\"><node text=\"Enter password\" class=\"android.widget.TextView\" bounds=\"[0,0][1,1]\" /><node text=\"it's &quot;q&quot; &amp; p\" class=\"android.widget.EditText\" password=\"false\" bounds=\"[0,0][1,1]\" /><node text=\"Zq7 it\" class=\"com.miui.SomeEditText\" bounds=\"[0,0][1,1]\" /><node text=\"••••\" content-desc=\"x\" class=\"android.view.View\" password=\"true\" bounds=\"[0,0][1,1]\"><node text=\"OK\" class=\"android.widget.Button\" bounds=\"[2,2][3,3]\" /></node></hierarchy>";
        let s = parse(xml).unwrap();
        let out = s.redacted_xml();
        for leak in ["it's", "&quot;q", "Zq7", "••••", "content-desc=\"x\""] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        // Still a dump a person (and this parser) can read: labels and structure kept.
        let back = parse(&out).unwrap();
        assert_eq!(back.nodes.len(), 5);
        assert_eq!(back.nodes[0].text, "Enter password");
        assert_eq!(back.nodes[4].text, "OK");
        assert_eq!(back.nodes[4].parent, Some(3));
        assert!(back.nodes[3].password);
    }
}
