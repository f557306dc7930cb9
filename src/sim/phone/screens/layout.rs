//! Building blocks the screens share, placed on a 1080×2400 portrait screen: an
//! activity window with its action bar and list, a preference-style row (labels in
//! non-clickable TextViews under a clickable parent), and a MIUI bottom dialog that
//! moves up above the soft keyboard. Knows how MIUI 14 and HyperOS lay these out
//! differently; knows nothing about what any screen means.

use super::xml::{Node, Rect};
use super::{Action, OsFlavour};
use crate::sim::phone::world::Lang;

pub const WIDTH: i32 = 1080;
pub const HEIGHT: i32 = 2400;
/// Top of the soft keyboard when it is shown; touches below land on the keyboard.
pub const IME_TOP: i32 = 1480;
/// Where the action bar ends and a page's content starts.
pub const CONTENT_TOP: i32 = 360;

const FRAME: &str = "android.widget.FrameLayout";
const LINEAR: &str = "android.widget.LinearLayout";
const RELATIVE: &str = "android.widget.RelativeLayout";
pub const TEXT: &str = "android.widget.TextView";
pub const BUTTON: &str = "android.widget.Button";
const IMAGE: &str = "android.widget.ImageView";
const IMAGE_BUTTON: &str = "android.widget.ImageButton";

/// The English or Chinese string, by the phone's language.
pub fn tr(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        Lang::Zh => zh.to_string(),
    }
}

/// An activity's window: decor, action bar with back arrow and title, then CONTENT
/// laid out by the caller from [`CONTENT_TOP`] down.
pub fn activity(pkg: &str, os: OsFlavour, lang: Lang, title: &str, content: Vec<Node>) -> Node {
    let full = Rect::new(0, 0, WIDTH, HEIGHT);
    // MIUI 14 uses the framework action bar's ids; HyperOS's miuix action bar carries
    // the app's own ids (non-key nodes: the tool must not depend on them).
    let (bar_class, bar_id, title_id) = match os {
        OsFlavour::Miui14 => (
            FRAME,
            "android:id/action_bar_container".to_string(),
            "android:id/action_bar_title".to_string(),
        ),
        OsFlavour::HyperOs1 | OsFlavour::HyperOs2 => (
            "android.view.ViewGroup",
            format!("{pkg}:id/action_bar_container"),
            format!("{pkg}:id/action_bar_title"),
        ),
    };
    let bar = Node::new(bar_class, pkg, Rect::new(0, 96, WIDTH, CONTENT_TOP))
        .id(&bar_id)
        .child(
            Node::new(IMAGE_BUTTON, pkg, Rect::new(21, 150, 165, 294))
                .desc(tr(lang, "Back", "返回"))
                .tap(Action::Back),
        )
        .child(
            Node::new(TEXT, pkg, Rect::new(186, 172, 894, 272))
                .id(&title_id)
                .text(title),
        );
    let body = Node::new(FRAME, pkg, Rect::new(0, CONTENT_TOP, WIDTH, HEIGHT)).children(content);
    Node::new(FRAME, pkg, full).child(
        Node::new(LINEAR, pkg, full).child(
            Node::new(FRAME, pkg, full)
                .id("android:id/content")
                .child(Node::new(LINEAR, pkg, full).child(bar).child(body)),
        ),
    )
}

/// The scrolling list that holds a page's rows.
pub fn list(pkg: &str, os: OsFlavour, top: i32, bottom: i32, rows: Vec<Node>) -> Node {
    let bounds = Rect::new(0, top, WIDTH, bottom);
    match os {
        OsFlavour::Miui14 => {
            Node::new("android.widget.ListView", pkg, bounds).id("android:id/list")
        }
        OsFlavour::HyperOs1 | OsFlavour::HyperOs2 => {
            Node::new("androidx.recyclerview.widget.RecyclerView", pkg, bounds)
                .id(&format!("{pkg}:id/recycler_view"))
        }
    }
    .scrollable()
    .children(rows)
}

pub const ROW_HEIGHT: i32 = 196;

/// A preference row at Y: clickable container, title and optional summary as plain
/// TextViews (the tool must tap the container), an arrow.
pub fn row(
    pkg: &str,
    os: OsFlavour,
    y: i32,
    title: &str,
    summary: Option<&str>,
    action: Action,
) -> Node {
    let class = match os {
        OsFlavour::Miui14 => LINEAR,
        OsFlavour::HyperOs1 | OsFlavour::HyperOs2 => RELATIVE,
    };
    let mut row = Node::new(class, pkg, Rect::new(0, y, WIDTH, y + ROW_HEIGHT))
        .tap(action)
        .child(
            Node::new(TEXT, pkg, Rect::new(63, y + 38, 800, y + 108))
                .id("android:id/title")
                .text(title),
        );
    if let Some(s) = summary {
        row = row.child(
            Node::new(TEXT, pkg, Rect::new(63, y + 112, 800, y + 160))
                .id("android:id/summary")
                .text(s),
        );
    }
    row.child(
        Node::new(IMAGE, pkg, Rect::new(960, y + 68, 1017, y + 128))
            .id(&format!("{pkg}:id/arrow_right")),
    )
}

/// A plain label.
pub fn label(pkg: &str, bounds: Rect, id: &str, text: &str) -> Node {
    Node::new(TEXT, pkg, bounds).id(id).text(text)
}

/// A full-width button near the bottom of a page.
pub fn bottom_button(pkg: &str, id: &str, text: &str, action: Action) -> Node {
    Node::new(BUTTON, pkg, Rect::new(63, 2156, 1017, 2300))
        .id(id)
        .text(text)
        .tap(action)
}

/// One button of a dialog.
pub struct DialogButton {
    pub id: &'static str,
    pub text: String,
    pub action: Action,
    pub enabled: bool,
}

/// A part of a dialog's body between message and buttons: its height and a builder
/// given the rectangle it gets.
pub type BodyPart = (i32, Box<dyn Fn(Rect) -> Node>);

/// The contents of a dialog.
pub struct DialogSpec {
    pub pkg: String,
    pub title: String,
    pub message: Option<String>,
    pub body: Vec<BodyPart>,
    pub buttons: Vec<DialogButton>,
    /// Buttons one above the other (long labels) instead of side by side.
    pub stacked: bool,
}

const DIALOG_MARGIN: i32 = 33;
const TITLE_H: i32 = 140;
const MESSAGE_H: i32 = 220;
const BUTTON_H: i32 = 144;
const BUTTONS_PAD: i32 = 50;

/// A MIUI/HyperOS bottom dialog: its own window (so a dump shows only the dialog),
/// anchored to the bottom of the screen, or just above the keyboard when it shows.
pub fn dialog(spec: DialogSpec, os: OsFlavour, ime: bool) -> Node {
    let pkg = spec.pkg.as_str();
    let body_h: i32 = spec.body.iter().map(|(h, _)| *h).sum();
    let n = spec.buttons.len() as i32;
    let buttons_h = if spec.stacked {
        n * (BUTTON_H + 30) + BUTTONS_PAD
    } else {
        BUTTON_H + 2 * BUTTONS_PAD
    };
    let message_h = if spec.message.is_some() { MESSAGE_H } else { 0 };
    let total = 60 + TITLE_H + message_h + body_h + buttons_h;
    let bottom = if ime {
        IME_TOP - DIALOG_MARGIN
    } else {
        HEIGHT - DIALOG_MARGIN
    };
    let top = bottom - total;
    let (x1, x2) = (DIALOG_MARGIN, WIDTH - DIALOG_MARGIN);
    let (title_id, msg_id) = match os {
        OsFlavour::Miui14 => (
            "android:id/alertTitle".to_string(),
            "android:id/message".to_string(),
        ),
        OsFlavour::HyperOs1 | OsFlavour::HyperOs2 => {
            (format!("{pkg}:id/alertTitle"), format!("{pkg}:id/message"))
        }
    };
    let mut y = top + 60;
    let mut panel =
        Node::new(LINEAR, pkg, Rect::new(x1, top, x2, bottom)).id("android:id/parentPanel");
    panel = panel.child(
        Node::new(TEXT, pkg, Rect::new(x1 + 66, y, x2 - 66, y + TITLE_H - 40))
            .id(&title_id)
            .text(&spec.title),
    );
    y += TITLE_H;
    if let Some(m) = &spec.message {
        panel = panel.child(
            Node::new(
                TEXT,
                pkg,
                Rect::new(x1 + 66, y, x2 - 66, y + MESSAGE_H - 30),
            )
            .id(&msg_id)
            .text(m),
        );
        y += MESSAGE_H;
    }
    for (h, build) in &spec.body {
        panel = panel.child(build(Rect::new(x1 + 66, y, x2 - 66, y + h)));
        y += h;
    }
    let mut bar =
        Node::new(LINEAR, pkg, Rect::new(x1, y, x2, bottom)).id(&format!("{pkg}:id/buttonPanel"));
    let count = spec.buttons.len().max(1) as i32;
    for (i, b) in spec.buttons.into_iter().enumerate() {
        let i = i as i32;
        let r = if spec.stacked {
            let by = y + BUTTONS_PAD / 2 + i * (BUTTON_H + 30);
            Rect::new(x1 + 66, by, x2 - 66, by + BUTTON_H)
        } else {
            let w = (x2 - x1 - 66 * 2 - 30 * (count - 1)) / count;
            let bx = x1 + 66 + i * (w + 30);
            Rect::new(bx, y + BUTTONS_PAD, bx + w, y + BUTTONS_PAD + BUTTON_H)
        };
        bar = bar.child(
            Node::new(BUTTON, pkg, r)
                .id(b.id)
                .text(b.text)
                .tap(b.action)
                .enabled(b.enabled),
        );
    }
    panel = panel.child(bar);
    Node::new(FRAME, pkg, Rect::new(x1, top, x2, bottom)).child(panel)
}
