//! Property test of the allow-list alone: its output, cleaned again, holds the same text and no
//! element or attribute it did not hold. A browser parses the output as the second pass does, so
//! text turning into markup there (or markup into text) would mean the browser builds markup
//! that was never checked: the root of mutation XSS.
//!
//! The output is not always byte for byte the same when cleaned again: removing an element that
//! is not allowed keeps its children, which can leave a nesting the parser never builds (`<p/>
//! <select/><h1/>` becomes `<p><h1></h1></p>`, which parses as `<p></p><h1></h1><p></p>`). Such
//! a reshuffle moves allowed elements and adds empty paragraphs; it makes nothing new. 256 cases
//! by default; `PROPTEST_CASES=20000` for a longer run (see ARCHITECTURE.md, Testing).

use super::*;
use proptest::prelude::*;

const TAGS: &[&str] = &[
    "a",
    "p",
    "div",
    "span",
    "table",
    "tr",
    "td",
    "th",
    "tbody",
    "li",
    "ul",
    "ol",
    "pre",
    "code",
    "b",
    "i",
    "h1",
    "h2",
    "blockquote",
    "img",
    "br",
    "hr",
    "input",
    "form",
    "math",
    "svg",
    "mtext",
    "mglyph",
    "style",
    "script",
    "noscript",
    "template",
    "textarea",
    "title",
    "select",
    "option",
    "xmp",
    "iframe",
    "object",
    "details",
    "summary",
    "sup",
    "dl",
    "dt",
    "dd",
    "caption",
    "colgroup",
    "col",
];

const ATTRS: &[&str] = &[
    "href=\"/wiki/x\"",
    "href=\"javascript:alert(1)\"",
    "href=\"https://example.com/?a=1&b=<2>\"",
    "src=\"x.png\"",
    "title=\"</p><img src=x onerror=alert(1)>\"",
    "title=\"a&quot;b\"",
    "alt=\"<script>\"",
    "id=\"cb-x\"",
    "id=\"ok\"",
    "class=\"hl hl-x button\"",
    "type=\"checkbox\"",
    "checked",
    "onerror=\"alert(1)\"",
    "style=\"color:red\"",
];

fn tag() -> impl Strategy<Value = String> {
    (prop::sample::select(TAGS), prop::collection::vec(prop::sample::select(ATTRS), 0..3), 0u8..3)
        .prop_map(|(name, attrs, form)| {
            let attrs: String = attrs.iter().map(|a| format!(" {a}")).collect();
            match form {
                0 => format!("<{name}{attrs}>"),
                1 => format!("</{name}>"),
                _ => format!("<{name}{attrs}/>"),
            }
        })
}

fn html() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => tag(),
            2 => "[a-z <>&\"'=/!-]{0,8}",
            1 => prop::sample::select(vec!["<!--", "-->", "<![CDATA[", "]]>", "&lt;", "&amp;", "&#0;", "\u{0}"]).prop_map(String::from),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

/// The text of serialised HTML (tags left out, character references as written) and its start
/// tags with their attributes.
fn text_and_tags(html: &str) -> (String, std::collections::BTreeSet<String>) {
    let tag = regex::Regex::new(r"<[^>]*>").unwrap();
    let text = tag.replace_all(html, "").into_owned();
    let tags = tag
        .find_iter(html)
        .map(|m| m.as_str().to_string())
        .filter(|t| !t.starts_with("</"))
        .collect();
    (text, tags)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cleaning_again_makes_nothing_new(src in html()) {
        let once = builder().clean(&src).to_string();
        let twice = builder().clean(&once).to_string();
        let (text1, tags1) = text_and_tags(&once);
        let (text2, tags2) = text_and_tags(&twice);
        prop_assert_eq!(&text1, &text2, "from {:?}: {:?} then {:?}", src, once, twice);
        for t in tags2.difference(&tags1) {
            prop_assert!(t == "<p>", "{} appeared from {:?}: {:?} then {:?}", t, src, once, twice);
        }
    }
}

/// The reshuffle above, for the record: the same elements, and empty paragraphs.
#[test]
fn a_removed_element_can_leave_a_nesting_the_parser_reshuffles() {
    let once = builder().clean("<p/><select/><h1/>").to_string();
    assert_eq!(once, "<p><h1></h1></p>");
    assert_eq!(builder().clean(&once).to_string(), "<p></p><h1></h1><p></p>");
}
