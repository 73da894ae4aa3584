//! How a link written in a page finds its target page. The rules, in order:
//!
//! * Wiki links `[[Name]]`, `[[Name|label]]`, `[[Name#section]]`: `Name` is looked up relative to
//!   the linking page's folder, then from the wiki's root, then as a page title or path without
//!   regard to case. A name that finds nothing points at the page that would be created: in the
//!   linking page's folder when the name has no `/`, else from the root.
//! * Markdown links `[text](target)`: a target with a scheme (`https:`, `mailto:`), a
//!   protocol-relative `//host` or only a `#fragment` is left alone. Otherwise it is
//!   percent-decoded and resolved like a file path: relative to the linking page's folder, or from
//!   the root when it starts with `/`. A target ending in `.md` is a page link whether the page
//!   exists or not; another target is a page link only when a page of that path exists, or when it
//!   names a folder holding an `index`, `README` or `index.html` page (as handbooks link to
//!   sections), or when `PATH.html` is a page (static sites serve `PATH.html.md` at `PATH/`);
//!   else it is a file (an attachment, an image), whose relative address the renderer makes
//!   absolute from the page's folder so that it works wherever the HTML is shown.
//! * Site-absolute links of an imported static site (`/handbook/sales/#anchor`, or its full
//!   address `https://example.com/handbook/sales/`) use the wiki's link prefixes
//!   ([`LinkPrefixes`], kept in `.casebook/links.toml`): a `/` link that finds no page from the
//!   root, and a full address, is tried under each matching prefix's folder, longest prefix
//!   first, with the rules above. A full address that finds no page stays a link to the site; a
//!   mapped `.md` link that finds none points at the missing page under the longest prefix.

use crate::Pages;
use crate::prefixes::LinkPrefixes;
use casebook_core::PagePath;

/// The page a link to a folder stands for, in order of preference.
const INDEX_PAGES: &[&str] = &["index", "README", "index.html"];

/// A resolved link target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTarget {
    pub path: String,
    pub fragment: Option<String>,
    pub exists: bool,
}

/// Resolves the destination of a link written on a page in `folder` (empty for the root).
/// Returns `None` for links that are not links to pages.
pub fn resolve_target(
    dest: &str,
    wiki: bool,
    folder: &str,
    pages: &dyn Pages,
) -> Option<LinkTarget> {
    if wiki { resolve_wiki(dest, folder, pages) } else { resolve_markdown(dest, folder, pages) }
}

fn split_fragment(s: &str) -> (&str, Option<String>) {
    match s.split_once('#') {
        Some((a, f)) if !f.is_empty() => (a, Some(f.to_string())),
        Some((a, _)) => (a, None),
        None => (s, None),
    }
}

fn resolve_wiki(dest: &str, folder: &str, pages: &dyn Pages) -> Option<LinkTarget> {
    let (name, fragment) = split_fragment(dest.trim());
    let name = name.trim();
    let name = name.strip_suffix(".md").unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    let explicit_relative = name.starts_with("./") || name.starts_with("../");
    let relative = if name.starts_with('/') { None } else { join(folder, name) };
    let absolute = if explicit_relative { None } else { normalize(name.trim_start_matches('/')) };
    let found = |path: String| LinkTarget { path, fragment: fragment.clone(), exists: true };
    if let Some(r) = relative.as_ref().filter(|r| pages.exists(r)) {
        return Some(found(r.clone()));
    }
    if let Some(a) = absolute.as_ref().filter(|a| pages.exists(a)) {
        return Some(found(a.clone()));
    }
    if let Some(p) = pages.find(name.trim_start_matches('/')) {
        return Some(found(p));
    }
    let missing = if name.contains('/') && !explicit_relative { absolute } else { relative }?;
    PagePath::parse(&missing).ok()?;
    Some(LinkTarget { path: missing, fragment, exists: false })
}

fn resolve_markdown(dest: &str, folder: &str, pages: &dyn Pages) -> Option<LinkTarget> {
    let dest = dest.trim();
    if dest.is_empty() || dest.starts_with('#') || dest.starts_with("//") {
        return None;
    }
    let (path, fragment) = split_fragment(dest);
    let path = path.split('?').next().unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    let prefixes = pages.link_prefixes().filter(|p| !p.is_empty());
    if has_scheme(dest) {
        // A full address is a page link only through a prefix naming its site.
        let prefixes = prefixes.filter(|p| p.has_addresses())?;
        let (path, exists) = mapped(&decoded, prefixes, pages)?;
        return exists.then_some(LinkTarget { path, fragment, exists });
    }
    let (is_md, stem) = split_md(&decoded);
    if stem.is_empty() && prefixes.is_none() {
        return None;
    }
    let plain = if stem.is_empty() {
        None
    } else if let Some(abs) = stem.strip_prefix('/') {
        normalize(abs).map(|p| lookup(p, is_md, pages))
    } else {
        join(folder, stem).map(|p| lookup(p, is_md, pages))
    };
    let (resolved, exists) = match (plain, prefixes) {
        (Some((p, true)), _) => (p, true),
        (plain, Some(prefixes)) if decoded.starts_with('/') => {
            match mapped(&decoded, prefixes, pages) {
                Some(found) => found,
                None => plain?,
            }
        }
        (plain, _) => plain?,
    };
    if !is_md && !exists {
        return None;
    }
    PagePath::parse(&resolved).ok()?;
    Some(LinkTarget { path: resolved, fragment, exists })
}

/// `(is a .md link, the path without .md or trailing slashes)`.
fn split_md(decoded: &str) -> (bool, &str) {
    match decoded.strip_suffix(".md") {
        Some(stem) => (true, stem),
        None => (false, decoded.trim_end_matches('/')),
    }
}

/// The page a root-relative path names: itself, by title, the folder's index page, or the page
/// with `.html` appended. `(path, exists)`; the path as given when nothing is found.
fn lookup(resolved: String, is_md: bool, pages: &dyn Pages) -> (String, bool) {
    if pages.exists(&resolved) {
        return (resolved, true);
    }
    if let Some(p) = pages.find(&resolved) {
        return (p, true);
    }
    if !is_md {
        let found = INDEX_PAGES
            .iter()
            .map(|i| format!("{resolved}/{i}"))
            .chain(std::iter::once(format!("{resolved}.html")))
            .find(|p| pages.exists(p));
        if let Some(p) = found {
            return (p, true);
        }
    }
    (resolved, false)
}

/// A site-absolute path (or full address) under the wiki's link prefixes: the first page found,
/// longest prefix first; else, for a `.md` link, the missing page under the longest prefix.
fn mapped(decoded: &str, prefixes: &LinkPrefixes, pages: &dyn Pages) -> Option<(String, bool)> {
    let (is_md, _) = split_md(decoded);
    let mut first_missing = None;
    for candidate in prefixes.candidates(decoded) {
        let (_, stem) = split_md(&candidate);
        let Some(path) = normalize(stem) else {
            continue;
        };
        let (path, exists) = lookup(path, is_md, pages);
        if exists {
            return Some((path, true));
        }
        if first_missing.is_none() {
            first_missing = Some(path);
        }
    }
    first_missing.filter(|_| is_md).map(|p| (p, false))
}

fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) => {
            let scheme = &s[..i];
            !scheme.is_empty()
                && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// Joins a relative path to a folder and removes `.` and `..`; `None` when it climbs above the root.
fn join(folder: &str, rel: &str) -> Option<String> {
    if folder.is_empty() { normalize(rel) } else { normalize(&format!("{folder}/{rel}")) }
}

fn normalize(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            s => out.push(s),
        }
    }
    if out.is_empty() { None } else { Some(out.join("/")) }
}

/// Percent-encodes a page path for a URL, segment by segment.
pub(crate) fn encode_path(path: &str) -> String {
    match PagePath::parse(path) {
        Ok(p) => p.url_encoded(),
        Err(_) => String::new(),
    }
}

/// Rewrites every link in `source` (a page at `page`) that points at the page `from` so that it
/// points at `to`, keeping anchors and labels. Links inside code are not links and stay as they
/// are. Returns `None` when nothing pointed at `from`.
pub fn rewrite_links(
    source: &str,
    page: &str,
    pages: &dyn Pages,
    from: &str,
    to: &str,
) -> Option<String> {
    use pulldown_cmark::{Event, LinkType, Parser, Tag};
    let folder = page.rfind('/').map(|i| &page[..i]).unwrap_or("");
    let (fm, body) = crate::split_front_matter(source);
    let body_start = source.len() - body.len();
    let _ = fm;
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for (ev, range) in Parser::new_ext(body, crate::options()).into_offset_iter() {
        let Event::Start(Tag::Link { link_type, dest_url, .. }) = ev else {
            continue;
        };
        let wiki = matches!(link_type, LinkType::WikiLink { .. });
        let Some(target) = resolve_target(&dest_url, wiki, folder, pages) else {
            continue;
        };
        if target.path != from {
            continue;
        }
        let text = &body[range.clone()];
        let replacement = if wiki {
            rewrite_wiki(text, &dest_url, folder, to)
        } else {
            rewrite_markdown(text, &dest_url, folder, to)
        };
        if let Some((sub, new)) = replacement {
            let start = body_start + range.start + sub.start;
            edits.push((start..start + sub.len(), new));
        }
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = source.to_string();
    for (r, new) in edits.into_iter().rev() {
        out.replace_range(r, &new);
    }
    Some(out)
}

/// `[[Old|label]]` → `[[New|label]]`: the range of the target inside the link text, and its
/// new value (the name alone when the page stays in the linking page's folder).
fn rewrite_wiki(
    text: &str,
    dest: &str,
    folder: &str,
    to: &str,
) -> Option<(std::ops::Range<usize>, String)> {
    let target = dest.split('#').next().unwrap_or(dest);
    let at = text.find(target)?;
    let new_folder = to.rfind('/').map(|i| &to[..i]).unwrap_or("");
    let name = to.rsplit('/').next().unwrap_or(to);
    let new = if new_folder == folder { name.to_string() } else { to.to_string() };
    Some((at..at + target.len(), new))
}

/// `[text](Old.md#x)` → `[text](../new/New.md#x)`: a relative path from the linking page's folder.
fn rewrite_markdown(
    text: &str,
    dest: &str,
    folder: &str,
    to: &str,
) -> Option<(std::ops::Range<usize>, String)> {
    let path_part = dest.split(['#', '?']).next().unwrap_or(dest);
    let at = text.rfind(path_part)?;
    let from_segs: Vec<&str> = folder.split('/').filter(|s| !s.is_empty()).collect();
    let to_segs: Vec<&str> = to.split('/').collect();
    let common = from_segs.iter().zip(&to_segs).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> =
        std::iter::repeat_n("..".to_string(), from_segs.len() - common).collect();
    parts.extend(to_segs[common..].iter().map(|s| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
            .replace("%2D", "-")
            .replace("%5F", "_")
            .replace("%2E", ".")
    }));
    let mut new = parts.join("/");
    new.push_str(".md");
    Some((at..at + path_part.len(), new))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Some3;
    impl Pages for Some3 {
        fn exists(&self, p: &str) -> bool {
            matches!(p, "Home" | "sales/Discovery Call" | "sales/deep/Notes")
        }
        fn find(&self, name: &str) -> Option<String> {
            match name.to_lowercase().as_str() {
                "discovery call" | "sales/discovery call" => Some("sales/Discovery Call".into()),
                "the home page" | "home" => Some("Home".into()),
                _ => None,
            }
        }
    }

    fn wiki(d: &str, folder: &str) -> Option<(String, bool)> {
        resolve_target(d, true, folder, &Some3).map(|t| (t.path, t.exists))
    }
    fn md(d: &str, folder: &str) -> Option<(String, bool)> {
        resolve_target(d, false, folder, &Some3).map(|t| (t.path, t.exists))
    }

    #[test]
    fn wiki_links_resolve_relative_absolute_then_by_title() {
        assert_eq!(wiki("Discovery Call", "sales"), Some(("sales/Discovery Call".into(), true)));
        assert_eq!(wiki("Home", "sales"), Some(("Home".into(), true)));
        assert_eq!(wiki("the home page", "x/y"), Some(("Home".into(), true)));
        assert_eq!(wiki("DISCOVERY CALL", ""), Some(("sales/Discovery Call".into(), true)));
        assert_eq!(wiki("Nope", "sales"), Some(("sales/Nope".into(), false)));
        assert_eq!(wiki("other/Nope", "sales"), Some(("other/Nope".into(), false)));
        assert_eq!(wiki("../Home", "sales"), Some(("Home".into(), true)));
        assert_eq!(wiki("../../x", "sales"), None);
        let t = resolve_target("Home#Big Heading", true, "", &Some3).unwrap();
        assert_eq!(t.fragment.as_deref(), Some("Big Heading"));
    }

    #[test]
    fn markdown_links() {
        assert_eq!(md("Discovery%20Call.md", "sales"), Some(("sales/Discovery Call".into(), true)));
        assert_eq!(md("deep/Notes.md#x", "sales"), Some(("sales/deep/Notes".into(), true)));
        assert_eq!(md("../Home.md", "sales"), Some(("Home".into(), true)));
        assert_eq!(md("/Home.md", "sales/deep"), Some(("Home".into(), true)));
        assert_eq!(md("New.md", "sales"), Some(("sales/New".into(), false)));
        assert_eq!(md("picture.png", "sales"), None);
        assert_eq!(md("https://example.com/a.md", ""), None);
        assert_eq!(md("mailto:a@b.c", ""), None);
        assert_eq!(md("#top", ""), None);
        assert_eq!(md("../../../etc/passwd.md", "a"), None);
    }

    /// A static site imported under `hb/`: `a/index.html.md` and `a/b.html.md`.
    struct Site(LinkPrefixes);
    impl Pages for Site {
        fn exists(&self, p: &str) -> bool {
            matches!(p, "hb/a/index.html" | "hb/a/b.html" | "handbook/x" | "jobs/j/index")
        }
        fn find(&self, _: &str) -> Option<String> {
            None
        }
        fn link_prefixes(&self) -> Option<&LinkPrefixes> {
            Some(&self.0)
        }
    }

    #[test]
    fn site_absolute_links_use_the_prefixes() {
        let site = Site(
            LinkPrefixes::new([
                ("/handbook/", "hb"),
                ("https://site.example/handbook/", "hb"),
                ("/job-families/", "jobs"),
            ])
            .unwrap(),
        );
        let at = |d: &str| resolve_target(d, false, "hb/a", &site).map(|t| (t.path, t.exists));
        let found = |p: &str| Some((p.to_string(), true));
        assert_eq!(at("/handbook/a/"), found("hb/a/index.html"));
        assert_eq!(at("/handbook/a"), found("hb/a/index.html"));
        assert_eq!(at("/handbook/a/b/"), found("hb/a/b.html"));
        assert_eq!(at("/handbook/a/b.html"), found("hb/a/b.html"));
        assert_eq!(at("/job-families/j/#duties"), found("jobs/j/index"));
        assert_eq!(at("https://site.example/handbook/a/#x"), found("hb/a/index.html"));
        // A page at the plain root path wins over the prefix.
        assert_eq!(at("/handbook/x"), found("handbook/x"));
        // Nothing there: a link to the site, left alone; a `.md` link is a missing page.
        assert_eq!(at("/handbook/elsewhere/"), None);
        assert_eq!(at("https://site.example/handbook/elsewhere/"), None);
        assert_eq!(at("https://other.example/handbook/a/"), None);
        assert_eq!(at("/handbook/new.md"), Some(("hb/new".into(), false)));
        assert_eq!(at("/handbook/../../x/"), None);
        let t = resolve_target("/handbook/a/#Some%20Part", false, "", &site).unwrap();
        assert_eq!(t.fragment.as_deref(), Some("Some%20Part"));
        // Without prefixes the same links are not page links.
        assert_eq!(md("/handbook/a/", ""), None);
    }
}
