//! The last pass: whatever HTML the markdown produced, and whatever raw HTML the author wrote,
//! goes through one allow-list. No script, no event handlers, no `javascript:` URLs, no frames,
//! no inline styles; classes only from the small set the theme knows.

use std::sync::OnceLock;

/// Put in a link's title by the link pass to mark a link to a missing page; turned into the
/// `missing` class after sanitising (the title survives the allow-list untouched).
pub(crate) const MISSING_MARKER: &str = "casebook:missing-page";

const CLASS_PREFIXES: &[&str] = &["hl-", "language-"];
const CLASSES: &[&str] = &[
    "hl",
    "footnote-definition",
    "footnote-definition-label",
    "footnote-reference",
    "task-list-item",
    "contains-task-list",
    "front-matter-raw",
];

fn builder() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.add_tags(["input"])
            .add_tag_attributes("input", ["type", "checked", "disabled", "aria-label"])
            .add_generic_attributes(["class", "id"])
            .add_tag_attributes("a", ["title"])
            .add_tag_attributes("img", ["title"])
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                (_, "class") => {
                    let kept: Vec<&str> = value
                        .split_ascii_whitespace()
                        .filter(|c| {
                            CLASSES.contains(c) || CLASS_PREFIXES.iter().any(|p| c.starts_with(p))
                        })
                        .collect();
                    (!kept.is_empty()).then(|| kept.join(" ").into())
                }
                (_, "id") => Some(safe_id(value).into()),
                ("input", "type") => (value == "checkbox").then(|| value.into()),
                _ => Some(value.into()),
            });
        b
    })
}

/// An element id an author may set: never one of the theme's own (`cb-…`), no odd characters.
pub(crate) fn safe_id(id: &str) -> String {
    let cleaned: String =
        id.chars().filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')).collect();
    if cleaned.is_empty() {
        "section".into()
    } else if cleaned.starts_with("cb-") {
        format!("h-{cleaned}")
    } else {
        cleaned
    }
}

pub(crate) fn clean(html: &str) -> String {
    let safe = builder().clean(html).to_string();
    safe.replace(
        &format!("title=\"{MISSING_MARKER}\""),
        "class=\"missing\" title=\"This page does not exist yet: create it\"",
    )
}

#[cfg(test)]
mod proptests;
