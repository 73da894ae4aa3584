//! Fenced code blocks with a known language become highlighted HTML: `<span>`s with `hl-` classes
//! that the theme colours (light and dark), never inline styles.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Tag, TagEnd};
use std::sync::OnceLock;
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// Blocks longer than this are shown plain: highlighting is a nicety, not worth seconds of CPU.
const MAX_HIGHLIGHT: usize = 64 * 1024;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

pub(crate) fn highlight_code_blocks(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut out = Vec::with_capacity(events.len());
    let mut iter = events.into_iter();
    while let Some(ev) = iter.next() {
        let Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) = &ev else {
            out.push(ev);
            continue;
        };
        let lang = info.split([' ', ',', '{']).next().unwrap_or("").to_string();
        let mut code = String::new();
        let mut inner = Vec::new();
        for e in iter.by_ref() {
            if matches!(e, Event::End(TagEnd::CodeBlock)) {
                break;
            }
            if let Event::Text(t) = &e {
                code.push_str(t);
            }
            inner.push(e);
        }
        match highlight(&code, &lang) {
            Some(html) => out.push(Event::Html(CowStr::from(html))),
            None => {
                out.push(ev);
                out.extend(inner);
                out.push(Event::End(TagEnd::CodeBlock));
            }
        }
    }
    out
}

fn highlight(code: &str, lang: &str) -> Option<String> {
    if lang.is_empty() || code.len() > MAX_HIGHLIGHT {
        return None;
    }
    let set = syntaxes();
    let syntax = set
        .find_syntax_by_token(lang)
        .or_else(|| set.find_syntax_by_extension(&lang.to_ascii_lowercase()))?;
    let mut generator = ClassedHTMLGenerator::new_with_class_style(
        syntax,
        set,
        ClassStyle::SpacedPrefixed { prefix: "hl-" },
    );
    for line in LinesWithEndings::from(code) {
        generator.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    let lang_class: String = lang
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
        .collect();
    Some(format!(
        "<pre class=\"hl\"><code class=\"language-{lang_class}\">{}</code></pre>\n",
        generator.finalize()
    ))
}
