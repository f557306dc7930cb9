//! The view tree of one window and its uiautomator rendering. Knows how uiautomator's
//! `AccessibilityNodeInfoDumper` writes a node (attribute order, `NAF`, escaping, the
//! single line with ` />` self-closing tags) and how a touch finds its target; it knows
//! nothing about which screens exist or what a tap means beyond the [`Action`] it carries.

use super::Action;

/// Screen rectangle in pixels, `[x1,y1][x2,y2]` with x2/y2 exclusive as Android's `Rect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x1: i32,
    pub y1: i32,
    pub x2: i32,
    pub y2: i32,
}

impl Rect {
    pub const fn new(x1: i32, y1: i32, x2: i32, y2: i32) -> Rect {
        Rect { x1, y1, x2, y2 }
    }

    pub fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x1 && x < self.x2 && y >= self.y1 && y < self.y2
    }
}

/// One accessibility node as uiautomator sees it, plus what a tap on it does.
#[derive(Debug, Clone)]
pub struct Node {
    pub text: String,
    pub id: String,
    pub class: &'static str,
    pub package: String,
    pub desc: String,
    pub checkable: bool,
    pub checked: bool,
    pub clickable: bool,
    pub enabled: bool,
    pub focusable: bool,
    pub focused: bool,
    pub scrollable: bool,
    pub long_clickable: bool,
    pub password: bool,
    pub selected: bool,
    pub bounds: Rect,
    pub children: Vec<Node>,
    /// What a tap on this node does (only for clickable nodes).
    pub action: Option<Action>,
}

impl Node {
    pub fn new(class: &'static str, package: &str, bounds: Rect) -> Node {
        Node {
            text: String::new(),
            id: String::new(),
            class,
            package: package.to_string(),
            desc: String::new(),
            checkable: false,
            checked: false,
            clickable: false,
            enabled: true,
            focusable: false,
            focused: false,
            scrollable: false,
            long_clickable: false,
            password: false,
            selected: false,
            bounds,
            children: Vec::new(),
            action: None,
        }
    }

    pub fn text(mut self, text: impl Into<String>) -> Node {
        self.text = text.into();
        self
    }

    pub fn id(mut self, id: &str) -> Node {
        self.id = id.to_string();
        self
    }

    pub fn desc(mut self, desc: impl Into<String>) -> Node {
        self.desc = desc.into();
        self
    }

    /// Clickable (and focusable, as Android makes clickable views) with this effect.
    pub fn tap(mut self, action: Action) -> Node {
        self.clickable = true;
        self.focusable = true;
        self.action = Some(action);
        self
    }

    pub fn enabled(mut self, enabled: bool) -> Node {
        self.enabled = enabled;
        self
    }

    pub fn scrollable(mut self) -> Node {
        self.scrollable = true;
        self.focusable = true;
        self
    }

    pub fn child(mut self, child: Node) -> Node {
        self.children.push(child);
        self
    }

    pub fn children(mut self, children: impl IntoIterator<Item = Node>) -> Node {
        self.children.extend(children);
        self
    }
}

/// The deepest clickable node under (x, y), as Android's touch dispatch ends at the
/// innermost view that handles clicks. Non-clickable labels let the touch fall to
/// their clickable parent. Disabled nodes still take the touch (and do nothing).
pub fn hit(node: &Node, x: i32, y: i32) -> Option<&Node> {
    if !node.bounds.contains(x, y) {
        return None;
    }
    // Later siblings are drawn on top, so they get the touch first.
    for child in node.children.iter().rev() {
        if let Some(found) = hit(child, x, y) {
            return Some(found);
        }
    }
    node.clickable.then_some(node)
}

/// The whole dump as `uiautomator dump` writes it: one line, no trailing newline.
pub fn render(root: &Node) -> String {
    let mut out = String::with_capacity(8192);
    out.push_str("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>");
    out.push_str("<hierarchy rotation=\"0\">");
    write_node(&mut out, root, 0);
    out.push_str("</hierarchy>");
    out
}

fn write_node(out: &mut String, n: &Node, index: usize) {
    out.push_str("<node ");
    // uiautomator flags clickable nodes with no text anywhere below them as not
    // accessibility-friendly, before every other attribute.
    if !naf_ok(n) {
        out.push_str("NAF=\"true\" ");
    }
    out.push_str(&format!("index=\"{index}\" "));
    attr(out, "text", &n.text);
    attr(out, "resource-id", &n.id);
    attr(out, "class", n.class);
    attr(out, "package", &n.package);
    attr(out, "content-desc", &n.desc);
    for (name, v) in [
        ("checkable", n.checkable),
        ("checked", n.checked),
        ("clickable", n.clickable),
        ("enabled", n.enabled),
        ("focusable", n.focusable),
        ("focused", n.focused),
        ("scrollable", n.scrollable),
        ("long-clickable", n.long_clickable),
        ("password", n.password),
        ("selected", n.selected),
    ] {
        out.push_str(&format!("{name}=\"{v}\" "));
    }
    let b = n.bounds;
    out.push_str(&format!(
        "bounds=\"[{},{}][{},{}]\"",
        b.x1, b.y1, b.x2, b.y2
    ));
    if n.children.is_empty() {
        out.push_str(" />");
        return;
    }
    out.push('>');
    for (i, c) in n.children.iter().enumerate() {
        write_node(out, c, i);
    }
    out.push_str("</node>");
}

fn naf_ok(n: &Node) -> bool {
    const EXCLUDED: [&str; 4] = [
        "android.widget.GridView",
        "android.widget.GridLayout",
        "android.widget.ListView",
        "android.widget.TableLayout",
    ];
    if EXCLUDED.contains(&n.class) || !n.clickable || !n.enabled {
        return true;
    }
    has_label(n)
}

fn has_label(n: &Node) -> bool {
    !n.text.is_empty() || !n.desc.is_empty() || n.children.iter().any(has_label)
}

fn attr(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    escape_into(out, value);
    out.push_str("\" ");
}

/// Escapes as Android's XML serializer does for a double-quoted attribute; characters
/// XML cannot carry become `?`, as uiautomator's `safeCharSeqToString` makes them.
pub fn escape_into(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('?'),
        }
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c as u32, 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_and_parses() {
        let root = Node::new("android.widget.FrameLayout", "p", Rect::new(0, 0, 10, 10)).child(
            Node::new("android.widget.TextView", "p", Rect::new(0, 0, 5, 5))
                .text("a<b>&\"c'\n\u{1}d"),
        );
        let xml = render(&root);
        assert!(!xml.contains('\n'));
        let doc = roxmltree::Document::parse(&xml).expect("parses");
        let t = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("android.widget.TextView"))
            .and_then(|n| n.attribute("text"));
        assert_eq!(t, Some("a<b>&\"c'\n?d"));
    }

    #[test]
    fn unlabelled_clickable_is_naf_and_a_tap_lands_on_the_labels_parent() {
        let root = Node::new("android.widget.FrameLayout", "p", Rect::new(0, 0, 100, 100))
            .child(
                Node::new("android.widget.ImageView", "p", Rect::new(0, 0, 10, 10))
                    .tap(Action::Back),
            )
            .child(
                Node::new(
                    "android.widget.LinearLayout",
                    "p",
                    Rect::new(0, 20, 100, 60),
                )
                .tap(Action::Home)
                .child(
                    Node::new("android.widget.TextView", "p", Rect::new(10, 30, 90, 50)).text("x"),
                ),
            );
        let xml = render(&root);
        assert!(xml.contains("<node NAF=\"true\" index=\"0\" text=\"\""));
        assert_eq!(
            hit(&root, 50, 40).and_then(|n| n.action),
            Some(Action::Home)
        );
        assert!(hit(&root, 50, 80).is_none());
        assert!(hit(&root, 500, 40).is_none());
    }
}
