#![doc = include_str!("../README.md")]

mod front_matter;
mod highlight;
mod links;
mod prefixes;
mod sanitize;

pub use front_matter::{
    FrontMatter, display_value, front_matter_parts, is_blank, merge_front_matter, set_fields,
    split_front_matter,
};
pub use links::{LinkTarget, resolve_target, rewrite_links};
pub use prefixes::LinkPrefixes;

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use serde::Serialize;
use std::collections::HashMap;

/// What the renderer needs to know about the wiki: which pages exist. Implemented by the engine
/// over its page list; rendering itself does no IO.
pub trait Pages {
    /// True when a page with exactly this path exists.
    fn exists(&self, path: &str) -> bool;
    /// Finds a page by a name written in a wiki link: a path or a title, compared without regard
    /// to case. Returns the page's path.
    fn find(&self, name: &str) -> Option<String>;
    /// Site-absolute link prefixes and the folders they stand for (see [`LinkPrefixes`]).
    fn link_prefixes(&self) -> Option<&LinkPrefixes> {
        None
    }
}

/// No pages at all: every link is shown as missing. Handy for previews of detached text.
pub struct NoPages;

impl Pages for NoPages {
    fn exists(&self, _: &str) -> bool {
        false
    }
    fn find(&self, _: &str) -> Option<String> {
        None
    }
}

/// A heading of the page, for the table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heading {
    pub level: u8,
    pub id: String,
    pub text: String,
}

/// A link from the page to another page of the wiki.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The target page's path.
    pub path: String,
    /// Whether the target page exists.
    pub exists: bool,
}

/// The result of rendering one page: never an error, whatever the input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rendered {
    /// Sanitised HTML of the body (front matter excluded, and a leading `# Title` left out: the
    /// title is shown apart from the body).
    pub html: String,
    /// `title:` from the front matter, else the text of the first `# ` heading.
    pub title: Option<String>,
    pub front_matter: FrontMatter,
    /// Set when the page has a front matter block that could not be read; the block is then shown
    /// as text above the body.
    pub front_matter_error: Option<String>,
    pub tags: Vec<String>,
    pub headings: Vec<Heading>,
    /// Outgoing links to pages, each target once, in order of first appearance.
    pub links: Vec<Link>,
    /// The text without markup, for search and snippets.
    pub text: String,
    /// People mentioned as `@name` (comments only).
    pub mentions: Vec<String>,
}

/// Where the page being rendered lives and how its links become URLs.
pub struct Context<'a> {
    /// The path of the page being rendered (`sales/Discovery Call`); links are relative to its folder.
    pub page: &'a str,
    pub pages: &'a dyn Pages,
    /// URL prefix of page views, e.g. `/wiki/`.
    pub view_prefix: &'a str,
    /// URL prefix of the editor, for links to missing pages, e.g. `/edit/`.
    pub edit_prefix: &'a str,
}

pub(crate) fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_WIKILINKS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders a page's markdown, front matter included.
pub fn render(source: &str, cx: &Context<'_>) -> Rendered {
    let (fm, body) = split_front_matter(source);
    let mut out = Rendered::default();
    let mut prefix = String::new();
    if let Some(raw) = fm {
        match FrontMatter::parse(raw) {
            Ok(fm) => {
                out.tags = fm.tags();
                out.title = fm.title();
                out.front_matter = fm;
            }
            Err(e) => {
                out.front_matter_error = Some(e);
                prefix = format!(
                    "<pre class=\"front-matter-raw\"><code>{}</code></pre>\n",
                    casebook_core::escape_html(raw)
                );
            }
        }
    }
    let body_out = render_body(body, cx, true);
    out.html = prefix + &body_out.html;
    if out.title.is_none() {
        out.title = body_out.h1;
    }
    out.headings = body_out.headings;
    out.links = body_out.links;
    out.text = body_out.text;
    out
}

/// Renders a fragment of markdown that is not a page (a comment): no front matter is read and
/// nothing is left out; links resolve as they would on the page `cx.page`.
pub fn render_fragment(source: &str, cx: &Context<'_>) -> Rendered {
    let body = render_body(source, cx, false);
    Rendered {
        html: body.html,
        headings: body.headings,
        links: body.links,
        text: body.text,
        mentions: body.mentions,
        ..Rendered::default()
    }
}

/// People mentioned as `@name` in a text (outside code and links), each once, in order.
/// A name is letters, digits, `.`, `_` and `-`, and does not end in a dot; an `@` inside a word
/// (an e-mail address) is no mention.
pub fn mentions(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let boundary =
            prev.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '.' || p == '@'));
        prev = Some(c);
        if c != '@' || !boundary {
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some(&(j, d)) = iter.peek() {
            if d.is_alphanumeric() || d == '_' || d == '-' || d == '.' {
                end = j + d.len_utf8();
                prev = Some(d);
                iter.next();
            } else {
                break;
            }
        }
        while end > start && text[start..end].ends_with(['.', '-']) {
            end -= 1;
        }
        if end > start {
            out.push((i, end));
        }
    }
    out
}

/// Turns `@name` in text events into links to the person's page (`/people/name`).
fn link_mentions<'a>(events: Vec<Event<'a>>, found: &mut Vec<String>) -> Vec<Event<'a>> {
    let mut out = Vec::with_capacity(events.len());
    let mut inside = 0usize;
    for ev in events {
        match &ev {
            Event::Start(Tag::Link { .. } | Tag::CodeBlock(_) | Tag::Image { .. }) => inside += 1,
            Event::End(TagEnd::Link | TagEnd::CodeBlock | TagEnd::Image) => {
                inside = inside.saturating_sub(1)
            }
            _ => {}
        }
        let Event::Text(t) = &ev else {
            out.push(ev);
            continue;
        };
        let spans = if inside == 0 { mentions(t) } else { Vec::new() };
        if spans.is_empty() {
            out.push(ev);
            continue;
        }
        let text = t.to_string();
        let mut at = 0;
        for (s, e) in spans {
            let name = &text[s + 1..e];
            if !found.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                found.push(name.to_string());
            }
            if s > at {
                out.push(Event::Text(CowStr::from(text[at..s].to_string())));
            }
            let url: String =
                percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            out.push(Event::Start(Tag::Link {
                link_type: LinkType::Inline,
                dest_url: CowStr::from(format!("/people/{url}")),
                title: CowStr::from(""),
                id: CowStr::from(""),
            }));
            out.push(Event::Text(CowStr::from(text[s..e].to_string())));
            out.push(Event::End(TagEnd::Link));
            at = e;
        }
        if at < text.len() {
            out.push(Event::Text(CowStr::from(text[at..].to_string())));
        }
    }
    out
}

struct Body {
    html: String,
    h1: Option<String>,
    headings: Vec<Heading>,
    links: Vec<Link>,
    text: String,
    mentions: Vec<String>,
}

fn render_body(body: &str, cx: &Context<'_>, drop_title: bool) -> Body {
    let mut events: Vec<Event<'_>> = Parser::new_ext(body, options()).collect();
    let headings = anchor_headings(&mut events);
    let h1 = headings.iter().find(|h| h.level == 1).map(|h| h.text.clone());
    let links = resolve_links(&mut events, cx);
    let text = plain_text(&events);
    // The page shows its title above the body; a body that opens with the same `# Title` would
    // say it twice.
    if drop_title
        && matches!(
            events.first(),
            Some(Event::Start(Tag::Heading { level: HeadingLevel::H1, .. }))
        )
        && let Some(end) =
            events.iter().position(|e| matches!(e, Event::End(TagEnd::Heading(HeadingLevel::H1))))
    {
        events.drain(..=end);
    }
    // Pages are written for everyone; mentions call people into a discussion.
    let mut mentioned = Vec::new();
    if !drop_title {
        events = link_mentions(events, &mut mentioned);
    }
    let events = highlight::highlight_code_blocks(events).into_iter().map(|ev| match ev {
        // A task's box, named for screen readers (an unnamed form control is an audit failure).
        Event::TaskListMarker(done) => Event::InlineHtml(CowStr::from(if done {
            "<input type=\"checkbox\" disabled checked aria-label=\"Done\"> "
        } else {
            "<input type=\"checkbox\" disabled aria-label=\"Not done\"> "
        })),
        other => other,
    });
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    Body { html: sanitize::clean(&html), h1, headings, links, text, mentions: mentioned }
}

/// Gives every heading an id (its slug, made unique) unless the author set one with `{#id}`.
fn anchor_headings(events: &mut [Event<'_>]) -> Vec<Heading> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, .. }) = &events[i] {
            let level = *level;
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j] {
                    text.push_str(t);
                }
                j += 1;
            }
            let text = text.trim().to_string();
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                let base = match id {
                    Some(given) => sanitize::safe_id(given),
                    None => slugify(&text),
                };
                let n = seen.entry(base.clone()).or_insert(0);
                let unique = if *n == 0 { base.clone() } else { format!("{base}-{n}") };
                *n += 1;
                *id = Some(CowStr::from(unique.clone()));
                out.push(Heading { level: level_number(level), id: unique, text });
            }
            i = j;
        }
        i += 1;
    }
    out
}

fn level_number(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// A heading's anchor: lowercase letters and digits joined by dashes; never empty.
pub fn slugify(text: &str) -> String {
    let mut s = String::new();
    let mut dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if dash && !s.is_empty() {
                s.push('-');
            }
            dash = false;
            s.extend(c.to_lowercase());
        } else {
            dash = true;
        }
    }
    if s.is_empty() {
        s.push_str("section");
    }
    s
}

/// Rewrites wiki links and relative `.md` links into page URLs and records the targets.
fn resolve_links(events: &mut [Event<'_>], cx: &Context<'_>) -> Vec<Link> {
    let mut found: Vec<Link> = Vec::new();
    let folder = match cx.page.rfind('/') {
        Some(i) => &cx.page[..i],
        None => "",
    };
    for ev in events.iter_mut() {
        if let Event::Start(Tag::Image { dest_url, .. }) = ev {
            if let Some(url) = file_url(dest_url, folder, cx.view_prefix) {
                *dest_url = CowStr::from(url);
            }
            continue;
        }
        let Event::Start(Tag::Link { link_type, dest_url, title, .. }) = ev else {
            continue;
        };
        let wiki = matches!(link_type, LinkType::WikiLink { .. });
        let Some(target) = resolve_target(dest_url, wiki, folder, cx.pages) else {
            if !wiki && let Some(url) = file_url(dest_url, folder, cx.view_prefix) {
                *dest_url = CowStr::from(url);
            }
            continue;
        };
        let fragment = target
            .fragment
            .as_deref()
            .map(|f| format!("#{}", slugify_fragment(f)))
            .unwrap_or_default();
        let encoded = links::encode_path(&target.path);
        if target.exists {
            *dest_url = CowStr::from(format!("{}{encoded}{fragment}", cx.view_prefix));
        } else {
            *dest_url = CowStr::from(format!("{}{encoded}", cx.edit_prefix));
            // The class cannot be set through pulldown-cmark; the title marks it and the
            // sanitiser turns the marker into the `missing` class.
            *title = CowStr::from(sanitize::MISSING_MARKER);
        }
        // An inline link whose destination was rewritten is rendered as a plain link now.
        *link_type = LinkType::Inline;
        if !found.iter().any(|l| l.path == target.path) {
            found.push(Link { path: target.path, exists: target.exists });
        }
    }
    found
}

/// The address of a file (an attachment, an image) named by a relative link on a page in
/// `folder`: the same file wherever the HTML is shown (the page, the editor's preview, a feed),
/// not only at the page's own address. `None` for anything not relative: a scheme, `/…`, `#…`.
/// `.` and `..` are resolved; a `..` above the root stays at the root. What the author wrote
/// (encoded or not) is kept; the folder is encoded.
fn file_url(dest: &str, folder: &str, view_prefix: &str) -> Option<String> {
    let scheme = dest.find(':').is_some_and(|c| !dest[..c].contains(['/', '?', '#']));
    if dest.is_empty() || scheme || dest.starts_with(['/', '#', '?', '\\']) {
        return None;
    }
    let end = dest.find(['?', '#']).unwrap_or(dest.len());
    let (path, rest) = dest.split_at(end);
    let mut parts: Vec<String> = if folder.is_empty() {
        Vec::new()
    } else {
        folder.split('/').map(links::encode_path).collect()
    };
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s.to_string()),
        }
    }
    Some(format!("{view_prefix}{}{rest}", parts.join("/")))
}

fn slugify_fragment(f: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(f).decode_utf8_lossy();
    slugify(&decoded)
}

fn plain_text(events: &[Event<'_>]) -> String {
    let mut s = String::new();
    for ev in events {
        match ev {
            Event::Text(t) | Event::Code(t) => s.push_str(t),
            Event::SoftBreak | Event::HardBreak => s.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_),
            ) => s.push('\n'),
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_where_people_write_them() {
        let names = |t: &str| -> Vec<String> {
            mentions(t).into_iter().map(|(s, e)| t[s..e].to_string()).collect()
        };
        assert_eq!(names("@anna and @marcus.l, see."), ["@anna", "@marcus.l"]);
        assert_eq!(names("ask @bo."), ["@bo"]);
        assert_eq!(names("mail ann@example.com or @ or @@x"), Vec::<String>::new());
        assert_eq!(names("(@zoë)"), ["@zoë"]);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("  Über  Größe "), "über-größe");
        assert_eq!(slugify("!!!"), "section");
    }
}

/// What a page list needs to know about a page, read cheaply without rendering it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub title: Option<String>,
    pub tags: Vec<String>,
    /// The page's `type:` from its front matter, if any.
    pub page_type: Option<String>,
    /// The whole front matter (empty when there is none or it cannot be read).
    pub fields: FrontMatter,
}

/// Reads title, tags and type from the front matter, else the title from the first `# ` heading
/// outside code fences. Much cheaper than [`render`]; agrees with it for ordinary pages.
pub fn summary(source: &str) -> Summary {
    let (fm, body) = split_front_matter(source);
    let mut out = Summary::default();
    if let Some(Ok(fm)) = fm.map(FrontMatter::parse) {
        out.title = fm.title();
        out.tags = fm.tags();
        out.page_type = fm.text("type");
        out.fields = fm;
    }
    if out.title.is_none() {
        let mut fence: Option<&str> = None;
        for line in body.lines() {
            let t = line.trim_start();
            if let Some(f) = fence {
                if t.starts_with(f) {
                    fence = None;
                }
                continue;
            }
            if t.starts_with("```") {
                fence = Some("```");
            } else if t.starts_with("~~~") {
                fence = Some("~~~");
            } else if let Some(h) = line.strip_prefix("# ") {
                let h = h.trim().trim_end_matches('#').trim();
                if !h.is_empty() {
                    out.title = Some(strip_inline_markup(h));
                }
                break;
            }
        }
    }
    out
}

fn strip_inline_markup(s: &str) -> String {
    let mut text = String::new();
    for ev in Parser::new_ext(s, options()) {
        if let Event::Text(t) | Event::Code(t) = ev {
            text.push_str(&t);
        }
    }
    if text.is_empty() { s.to_string() } else { text }
}

/// What the search index needs from a page: everything of [`Rendered`] but the HTML, which is
/// the costly part (sanitising) and is not needed there.
pub fn analyze(source: &str, cx: &Context<'_>) -> Rendered {
    let (fm, body) = split_front_matter(source);
    let mut out = Rendered::default();
    if let Some(Ok(fm)) = fm.map(FrontMatter::parse) {
        out.tags = fm.tags();
        out.title = fm.title();
        out.front_matter = fm;
    }
    let mut events: Vec<Event<'_>> = Parser::new_ext(body, options()).collect();
    let headings = anchor_headings(&mut events);
    if out.title.is_none() {
        out.title = headings.iter().find(|h| h.level == 1).map(|h| h.text.clone());
    }
    out.links = resolve_links(&mut events, cx);
    out.text = plain_text(&events);
    out.headings = headings;
    out
}
