//! Recipes: the screens of Xiaomi's Settings, the targets on them, and the steps of each
//! journey, as data (TOML). The defaults are embedded in the binary; a file given on the
//! command line (`--recipes FILE`) overrides them entry by entry, so a new firmware's
//! screen can be taught without a release.
//!
//! Knows the recipe format and how a screen or target is matched against a dump; knows
//! nothing about adb, passwords or what a journey means.

use std::collections::BTreeMap;
use std::path::Path;

use super::device::ACCOUNT_PAGE_STARTS;
use super::dump::Screen;

/// The recipes shipped with the tool.
pub const EMBEDDED: &str = include_str!("recipes/xiaomi.toml");

/// Labels of one thing in every language we know: `{ en = ["Sign out"], zh = ["退出登录"] }`.
/// A phone's language is not known in advance, so every language is tried.
pub type Texts = BTreeMap<String, Vec<String>>;

/// How to find one node: resource id first, then text in any language, then class and
/// position. What is tapped is the found node's nearest clickable ancestor.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// `package:id/name`. Most stable across languages and firmware.
    pub id: Option<String>,
    /// Labels (text or content-desc), matched exactly after trimming.
    #[serde(default)]
    pub text: Texts,
    /// Also accept a node whose text starts with a label: count-down buttons read
    /// "OK (5s)" / "确定(5)" until they become enabled.
    #[serde(default)]
    pub prefix: bool,
    /// Last resort: the node of this class…
    pub class: Option<String>,
    /// …at this position among the nodes of that class in document order (negative
    /// counts from the end: -1 is the last, which in Xiaomi dialogs is the confirm button).
    pub nth: Option<i32>,
}

/// What makes a dump a given screen.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenSpec {
    /// Any of these packages must be on screen (empty: any package).
    #[serde(default)]
    pub package: Vec<String>,
    /// Targets that must all be found (by id or text only: class fallbacks are too loose
    /// to recognise a screen).
    #[serde(default)]
    pub has: Vec<String>,
    /// Targets that must not be found (tells a dialog from the page under it).
    #[serde(default)]
    pub not: Vec<String>,
    /// A dialog: BACK closes it and leaves the page under it, where a person can continue.
    #[serde(default)]
    pub dialog: bool,
    /// Seeing this screen ends the journey with this outcome (e.g. `wrong_password`);
    /// the journey's code decides what that means.
    pub outcome: Option<String>,
    /// An interruption (system update prompt, …): whenever it shows, tap this target to
    /// dismiss it, then carry on.
    pub dismiss: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `am start ARGS` (alternatives in `fallbacks` when the first is refused).
    Start,
    /// Tap `target` on `screen`.
    Tap,
    /// Tap the field `target` on `screen` and type the account password into it.
    TypePassword,
    /// Press BACK.
    Back,
}

/// One step of a journey.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Said to the operator, and named when the step fails.
    pub name: String,
    #[serde(rename = "do")]
    pub action: Action,
    /// The screen the step acts on; verified from a dump before acting.
    pub screen: Option<String>,
    pub target: Option<String>,
    /// For `start`: the arguments after `am start`.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub fallbacks: Vec<Vec<String>>,
    /// Trust the previous dump: the last action (ticking a box, typing) did not move
    /// anything, so the target's position is already known. Saves a 1.5–3 s dump.
    #[serde(default)]
    pub reuse: bool,
    /// The step only applies when its screen shows (e.g. the password prompt that
    /// Xiaomi's reset screen adds only while Find Device is on); otherwise it is skipped.
    #[serde(default)]
    pub optional: bool,
    /// The target is a count-down button: wait (re-reading the screen) until enabled.
    #[serde(default)]
    pub wait_enabled: bool,
    /// How long the screen may take to appear (network steps take longer).
    pub timeout_secs: Option<u64>,
}

/// A whole recipe set.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recipes {
    #[serde(default)]
    pub screens: BTreeMap<String, ScreenSpec>,
    #[serde(default)]
    pub targets: BTreeMap<String, Selector>,
    #[serde(default)]
    pub flows: BTreeMap<String, Vec<Step>>,
}

/// A recipe file that cannot be used. Names the file, never guesses.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    #[error("cannot read recipes {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("recipes {origin} are not valid TOML for this version: {message}")]
    Parse { origin: String, message: String },
    #[error("recipes {origin}: {problem}")]
    Invalid { origin: String, problem: String },
}

impl crate::exit::HasExit for RecipeError {
    fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::Usage
    }
}

impl Recipes {
    /// The embedded recipes.
    pub fn embedded() -> Result<Recipes, RecipeError> {
        Recipes::parse(EMBEDDED, "embedded")
    }

    /// The embedded recipes with FILE's entries laid over them (a screen, target or
    /// whole flow of the same name replaces the embedded one).
    pub fn load(file: Option<&Path>) -> Result<Recipes, RecipeError> {
        let mut r = Recipes::embedded()?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let over = Recipes::parse_unchecked(&text, &path.display().to_string())?;
            // Seeing Xiaomi's "erasing" screen is what lets a reset be called done; a
            // file must not be able to loosen that evidence (teach it in a release).
            if over.screens.contains_key("erasing") {
                return Err(RecipeError::Invalid {
                    origin: path.display().to_string(),
                    problem: "the `erasing` screen is evidence that a reset happened and \
                              cannot be redefined by a recipe file"
                        .into(),
                });
            }
            r.screens.extend(over.screens);
            r.targets.extend(over.targets);
            r.flows.extend(over.flows);
            r.validate(&path.display().to_string())?;
        }
        Ok(r)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Recipes, RecipeError> {
        let r = Recipes::parse_unchecked(text, origin)?;
        r.validate(origin)?;
        Ok(r)
    }

    fn parse_unchecked(text: &str, origin: &str) -> Result<Recipes, RecipeError> {
        toml::from_str(text).map_err(|e| RecipeError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })
    }

    /// Every name a recipe mentions must exist, and each action has what it needs.
    fn validate(&self, origin: &str) -> Result<(), RecipeError> {
        let bad = |problem: String| RecipeError::Invalid {
            origin: origin.to_string(),
            problem,
        };
        for (name, s) in &self.screens {
            for t in s.has.iter().chain(&s.not).chain(s.dismiss.iter()) {
                if !self.targets.contains_key(t) {
                    return Err(bad(format!("screen {name} names unknown target {t}")));
                }
            }
            if s.has.is_empty() {
                return Err(bad(format!("screen {name} has no `has` targets")));
            }
        }
        for (flow, steps) in &self.flows {
            for st in steps {
                let at = format!("flow {flow}, step {:?}", st.name);
                if let Some(s) = &st.screen {
                    if !self.screens.contains_key(s) {
                        return Err(bad(format!("{at} names unknown screen {s}")));
                    }
                }
                if let Some(t) = &st.target {
                    if !self.targets.contains_key(t) {
                        return Err(bad(format!("{at} names unknown target {t}")));
                    }
                }
                match st.action {
                    Action::Start if st.args.is_empty() => {
                        return Err(bad(format!("{at}: `start` needs args")));
                    }
                    // Recipes teach screens and targets, not where a journey starts: the
                    // reset's entry point is code, and `am start` may open nothing else.
                    Action::Start
                        if std::iter::once(&st.args).chain(&st.fallbacks).any(|a| {
                            let a: Vec<&str> = a.iter().map(String::as_str).collect();
                            !ACCOUNT_PAGE_STARTS.contains(&a.as_slice())
                        }) =>
                    {
                        return Err(bad(format!(
                            "{at}: `start` may open only the Mi account page; Xiaomi's reset screen is opened by the tool itself"
                        )));
                    }
                    Action::Tap | Action::TypePassword
                        if st.screen.is_none() || st.target.is_none() =>
                    {
                        return Err(bad(format!("{at}: needs a screen and a target")));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    pub fn flow(&self, name: &str) -> Option<&[Step]> {
        self.flows.get(name).map(Vec::as_slice)
    }

    /// Finds TARGET on the screen: resource id, then text in any language, then class and
    /// position. Returns the matched node's index.
    pub fn find(&self, screen: &Screen, target: &str) -> Option<usize> {
        let sel = self.targets.get(target)?;
        find_by_id_or_text(screen, sel).or_else(|| find_by_class(screen, sel))
    }

    /// Whether the dump shows SCREEN.
    pub fn is_screen(&self, screen: &Screen, name: &str) -> bool {
        let Some(spec) = self.screens.get(name) else {
            return false;
        };
        if !spec.package.is_empty() && !spec.package.iter().any(|p| screen.has_package(p)) {
            return false;
        }
        let found = |t: &String| {
            self.targets
                .get(t)
                .is_some_and(|sel| find_by_id_or_text(screen, sel).is_some())
        };
        spec.has.iter().all(found) && !spec.not.iter().any(found)
    }

    /// Screens whose sight ends a journey with an outcome, and interruptions.
    pub fn outcome_screens(&self) -> impl Iterator<Item = (&str, &ScreenSpec)> {
        self.screens
            .iter()
            .filter(|(_, s)| s.outcome.is_some())
            .map(|(n, s)| (n.as_str(), s))
    }

    pub fn interruptions(&self) -> impl Iterator<Item = (&str, &ScreenSpec)> {
        self.screens
            .iter()
            .filter(|(_, s)| s.dismiss.is_some())
            .map(|(n, s)| (n.as_str(), s))
    }
}

fn find_by_id_or_text(screen: &Screen, sel: &Selector) -> Option<usize> {
    let visible = |i: &usize| !screen.nodes[*i].bounds.is_empty();
    if let Some(id) = &sel.id {
        if let Some(i) = (0..screen.nodes.len())
            .filter(visible)
            .find(|&i| &screen.nodes[i].resource_id == id)
        {
            return Some(i);
        }
    }
    let labels: Vec<&str> = sel.text.values().flatten().map(|s| s.trim()).collect();
    if labels.is_empty() {
        return None;
    }
    let exact = (0..screen.nodes.len()).filter(visible).find(|&i| {
        let n = &screen.nodes[i];
        labels
            .iter()
            .any(|l| n.text.trim() == *l || n.content_desc.trim() == *l)
    });
    if exact.is_some() || !sel.prefix {
        return exact;
    }
    (0..screen.nodes.len()).filter(visible).find(|&i| {
        labels
            .iter()
            .any(|l| screen.nodes[i].text.trim().starts_with(l))
    })
}

fn find_by_class(screen: &Screen, sel: &Selector) -> Option<usize> {
    let class = sel.class.as_deref()?;
    let of_class: Vec<usize> = (0..screen.nodes.len())
        .filter(|&i| screen.nodes[i].class == class && !screen.nodes[i].bounds.is_empty())
        .collect();
    let nth = sel.nth.unwrap_or(0);
    let at = if nth < 0 {
        of_class.len().checked_sub(nth.unsigned_abs() as usize)?
    } else {
        nth as usize
    };
    of_class.get(at).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::miui::ui::dump::parse;

    fn node(id: &str, text: &str, class: &str, clickable: bool, bounds: &str) -> String {
        format!(
            "<node text=\"{text}\" resource-id=\"{id}\" class=\"{class}\" package=\"com.android.settings\" clickable=\"{clickable}\" enabled=\"true\" bounds=\"{bounds}\">"
        )
    }

    fn dialog() -> Screen {
        let xml = format!(
            "<hierarchy>{}{}</node>{}</node>{}</node></node></hierarchy>",
            node(
                "",
                "",
                "android.widget.FrameLayout",
                false,
                "[0,0][1080,2400]"
            ),
            node(
                "",
                "取消",
                "android.widget.Button",
                true,
                "[60,2000][520,2100]"
            ),
            node(
                "",
                "确定(5)",
                "android.widget.Button",
                true,
                "[560,2000][1020,2100]"
            ),
            node(
                "android:id/message",
                "Erase?",
                "android.widget.TextView",
                false,
                "[60,1500][1020,1600]"
            ),
        );
        parse(&xml).unwrap()
    }

    const RECIPE: &str = r#"
[targets.ok]
text = { en = ["OK"], zh = ["确定"] }
prefix = true
[targets.ok_exact]
text = { en = ["OK"], zh = ["确定"] }
[targets.last_button]
class = "android.widget.Button"
nth = -1
[targets.message]
id = "android:id/message"
[targets.cancel]
id = "android:id/button2"
text = { zh = ["取消"] }
[screens.confirm]
has = ["message", "ok"]
dialog = true
"#;

    #[test]
    fn selectors_try_id_then_text_in_any_language_then_class() {
        let r = Recipes::parse(RECIPE, "test").unwrap();
        let s = dialog();
        assert_eq!(
            r.find(&s, "cancel"),
            Some(1),
            "id missing: falls back to zh text"
        );
        assert_eq!(
            r.find(&s, "ok"),
            Some(2),
            "prefix matches the count-down label"
        );
        assert_eq!(r.find(&s, "ok_exact"), None, "exact does not");
        assert_eq!(r.find(&s, "last_button"), Some(2));
        assert_eq!(r.find(&s, "message"), Some(3));
        assert!(r.is_screen(&s, "confirm"));
    }

    #[test]
    fn embedded_recipes_are_valid() {
        let r = Recipes::embedded().unwrap();
        assert!(r.flow("signout").is_some());
        assert!(r.flow("reset").is_some());
    }

    /// A recipe "for a new firmware" cannot choose where the reset starts, nor open any
    /// other screen with `am start`.
    #[test]
    fn recipes_cannot_start_the_reset_or_any_other_screen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.toml");
        for args in [
            r#"["-a", "com.android.settings.action.FACTORY_RESET"]"#,
            r#"["-n", "com.android.settings/.SubSettings", "--es", ":android:show_fragment", "com.android.settings.MiuiMasterClear"]"#,
            r#"["-n", "com.android.settings/.Settings"]"#,
        ] {
            for flow in ["reset", "reset_password", "signout"] {
                std::fs::write(
                    &p,
                    format!("[[flows.{flow}]]\nname = \"open\"\ndo = \"start\"\nargs = {args}\n"),
                )
                .unwrap();
                let e = Recipes::load(Some(&p)).unwrap_err();
                assert!(
                    e.to_string().contains("may open only the Mi account page"),
                    "{flow} {args}: {e}"
                );
            }
        }
        // Nor hide it in a fallback.
        std::fs::write(
            &p,
            "[[flows.signout]]\nname = \"open\"\ndo = \"start\"\nargs = [\"-n\", \"com.xiaomi.account/.ui.AccountSettingsActivity\"]\nfallbacks = [[\"-a\", \"android.intent.action.MAIN_CLEAR\"]]\n",
        )
        .unwrap();
        assert!(Recipes::load(Some(&p)).is_err());
        // The embedded reset flow has no start of its own: the tool opens the screen.
        let r = Recipes::embedded().unwrap();
        assert!(
            r.flow("reset")
                .unwrap()
                .iter()
                .all(|s| s.action != Action::Start)
        );
    }

    #[test]
    fn a_file_overrides_entries_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.toml");
        std::fs::write(
            &p,
            "[targets.logout]\nid = \"com.xiaomi.account:id/new_logout\"\n",
        )
        .unwrap();
        let r = Recipes::load(Some(&p)).unwrap();
        assert_eq!(
            r.targets["logout"].id.as_deref(),
            Some("com.xiaomi.account:id/new_logout")
        );
        std::fs::write(&p, "[screens.x]\nhas = [\"nope\"]\n").unwrap();
        assert!(matches!(
            Recipes::load(Some(&p)),
            Err(RecipeError::Invalid { .. })
        ));
        std::fs::write(&p, "[screens.x]\nhaz = 1\n").unwrap();
        assert!(matches!(
            Recipes::load(Some(&p)),
            Err(RecipeError::Parse { .. })
        ));
    }

    #[test]
    fn a_file_cannot_redefine_the_erasing_screen_that_proves_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.toml");
        let embedded = Recipes::embedded().unwrap();
        assert!(embedded.screens.contains_key("erasing"));
        std::fs::write(&p, "[screens.erasing]\nhas = [\"reset_erase\"]\n").unwrap();
        let e = Recipes::load(Some(&p)).unwrap_err();
        assert!(e.to_string().contains("erasing"), "{e}");
    }
}
