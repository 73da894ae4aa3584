//! Property tests of the renderer and its sanitiser: pages built from fragments of markdown and
//! HTML that people use to smuggle script, rendered as a page and as a comment; the output must
//! keep the invariant of ARCHITECTURE.md whatever the mix. 256 cases a property by default;
//! `PROPTEST_CASES=20000` for a longer run (see ARCHITECTURE.md, Testing).

use super::{Wiki, html_at};
use casebook_core::PagePath;
use casebook_markdown::{Context, LinkPrefixes, Pages, render, render_fragment, rewrite_links};
use proptest::prelude::*;
use std::sync::OnceLock;

/// A wiki holding a handbook imported from a static site, whose links go through prefixes.
struct Handbook;
impl Pages for Handbook {
    fn exists(&self, p: &str) -> bool {
        matches!(p, "hb/index" | "hb/sales/index" | "hb/sales/Pricing" | "site/x.html" | "Home")
    }
    fn find(&self, name: &str) -> Option<String> {
        (name.eq_ignore_ascii_case("pricing")).then(|| "hb/sales/Pricing".into())
    }
    fn link_prefixes(&self) -> Option<&LinkPrefixes> {
        static P: OnceLock<LinkPrefixes> = OnceLock::new();
        Some(P.get_or_init(|| {
            LinkPrefixes::new([
                ("/handbook/", "hb"),
                ("https://site.example/handbook/", "hb"),
                ("/", "site"),
            ])
            .unwrap()
        }))
    }
}

/// Tags the pages are built from besides every one of `FORBIDDEN_ELEMENTS`: allowed ones, an
/// odd spelling, and the MathML and SVG insides that parsers treat specially.
const MORE_TAGS: &[&str] = &[
    "SCRIPT",
    "img",
    "a",
    "input",
    "div",
    "p",
    "span",
    "table",
    "td",
    "details",
    "mglyph",
    "mtext",
    "foreignObject",
    "option",
    "annotation-xml",
    "h1",
    "pre",
    "code",
    "sup",
    "li",
];

const ATTRS: &[&str] = &[
    "onerror=alert(1)",
    "ONERROR=\"alert(1)\"",
    "onload='alert(1)'",
    "onmouseover=alert`1`",
    "on=x",
    "href=\"javascript:alert(1)\"",
    "href=JaVaScRiPt:alert(1)",
    "href=\"jav&#x09;ascript:alert(1)\"",
    "href=\"&#106;avascript:alert(1)\"",
    "href=\" javascript:alert(1)\"",
    "href=\"\u{1}javascript:alert(1)\"",
    "href=\"java\nscript:alert(1)\"",
    "href=\"javascript&colon;alert(1)\"",
    "href=\"vbscript:msgbox(1)\"",
    "href=\"data:text/html;base64,PHNjcmlwdD4=\"",
    "href=\"/wiki/Home\"",
    "href=#x",
    "src=x",
    "src=\"javascript:alert(1)\"",
    "src=\"data:text/html,<script>alert(1)</script>\"",
    "srcdoc=\"<script>alert(1)</script>\"",
    "action=javascript:alert(1)",
    "formaction=javascript:alert(1)",
    "xlink:href=javascript:alert(1)",
    "data=javascript:alert(1)",
    "style=\"background:url(javascript:alert(1))\"",
    "STYLE=color:red",
    "id=\"cb-search\"",
    "id=cb-theme",
    "id=\"ok\"",
    "name=\"cb-search\"",
    "class=\"cb-theme button hl-x language-rust missing\"",
    "class=footnote-reference",
    "title=\"casebook:missing-page\"",
    "title=\"</p><script>alert(1)</script>\"",
    "title='\" onclick=alert(1) x=\"'",
    "type=checkbox",
    "type=text",
    "checked",
    "autofocus",
    "open",
    "xmlns=\"http://www.w3.org/1999/xhtml\"",
    "encoding=\"text/html\"",
    "/",
    "\"",
    "'",
    "=",
];

const MARKDOWN: &[&str] = &[
    "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))",
    "[a](  javascript:alert(1))",
    "[a](java\tscript:alert(1))",
    "[a](&#106;avascript:alert(1))",
    "[a](javascript&#58;alert(1))",
    "[a](data:text/html;base64,PHNjcmlwdD4=)",
    "[a](vbscript:msgbox(1))",
    "[a](<javascript:alert(1)>)",
    "[a](/x \"t\" onclick=alert(1))",
    "[a](x.md \"casebook:missing-page\")",
    "![x](javascript:alert(1))",
    "![x\" onerror=\"alert(1)](x.png)",
    "<javascript:alert(1)>",
    "<https://example.com/?a=<script>>",
    "[ref]: javascript:alert(1)\n\n[ref]",
    "[ref]",
    "[[javascript:alert(1)]]",
    "[[x\" onmouseover=\"alert(1)]]",
    "[[Acme Renewal]]",
    "[[Acme Renewal|the <b>story</b>]]",
    "[[cases/Acme Renewal#Pricing]]",
    "[[../../x]]",
    "[[/Home]]",
    "[[#cb-search]]",
    "[[x|]]",
    "[md](Acme%20Renewal.md#x)",
    "[up](../Home.md)",
    "[md](%2e%2e/%2e%2e/etc/passwd.md)",
    "[hb](/handbook/sales/)",
    "[hb](/handbook/sales/#Pricing)",
    "[hb](/handbook/sales/Pricing.md?x=1#a)",
    "[hb](https://site.example/handbook/)",
    "[hb](https://site.example/handbook/new.md)",
    "[hb](https://site.example/handbook/../../x.md)",
    "[hb](/handbook/%2e%2e/%2e%2e/x.md)",
    "[hb](/handbook/.git/config.md)",
    "[hb](/handbook)",
    "[hb](/x)",
    "[hb](/x.html)",
    "[hb](/)",
    "[hb](//site.example/handbook/)",
    "[hb](/handbook/a%00b.md)",
    "[hb](/handbook/a%5Cb.md)",
    "[hb](/handbook/%ff.md)",
    "# Title",
    "# x {#cb-search}",
    "## y {#cb-x .cb-theme .hl-x style=color:red onclick=alert(1)}",
    "### z {id=cb-z}",
    "```html\n<script>alert(1)</script>\n```",
    "```\"><script>alert(1)</script>\nx\n```",
    "```rust\nfn main() { let s = \"</code><script>\"; }\n```",
    "~~~js onload=alert(1)\nalert(1)\n~~~",
    "    <script>alert(1)</script>",
    "`<script>alert(1)</script>`",
    "| a | b |\n|:--|--:|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
    "[^cb-search]\n\n[^cb-search]: note",
    "[^1]: <script>alert(1)</script>",
    "- [ ] <input type=text onfocus=alert(1) autofocus>",
    "- [x] done",
    "> <svg><script>alert(1)</script></svg>",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?xml x?>",
    "&lt;script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "@anna",
    "@cb-search",
    "***",
    "---",
    "\n",
    "\n\n",
    "<",
    ">",
    "\"",
    "'",
    "*",
    "_",
    "\\",
    "\u{0}",
];

/// One HTML tag built from a name and attributes, opened, closed or both.
fn tag() -> impl Strategy<Value = String> {
    (
        prop::sample::select(
            FORBIDDEN_ELEMENTS.iter().chain(MORE_TAGS).copied().collect::<Vec<_>>(),
        ),
        prop::collection::vec(prop::sample::select(ATTRS), 0..4),
        0u8..4,
        "[a-z() ]{0,8}",
    )
        .prop_map(|(name, attrs, form, inner)| {
            let attrs: String = attrs.iter().map(|a| format!(" {a}")).collect();
            match form {
                0 => format!("<{name}{attrs}>"),
                1 => format!("<{name}{attrs}/>"),
                2 => format!("</{name}>"),
                _ => format!("<{name}{attrs}>{inner}</{name}>"),
            }
        })
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => tag(),
        4 => prop::sample::select(MARKDOWN).prop_map(String::from),
        2 => "[a-zA-Z0-9 .,:;!?#@*_`~|<>/=\"'&()\\[\\]{}-]{0,16}",
        1 => "\\PC{0,16}",
        1 => any::<String>(),
    ]
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", " ", "\n", "\n\n", "\r\n", "\t", "  \n", "\n    "])
}

/// A page: maybe a front matter block, then fragments.
fn page() -> impl Strategy<Value = String> {
    let front = prop_oneof![
        4 => Just(String::new()),
        1 => Just("---\ntitle: <script>alert(1)</script>\ntags: [\"<img src=x onerror=alert(1)>\"]\n---\n".to_string()),
        1 => Just("---\ntitle: [unclosed\n---\n".to_string()),
        1 => Just("---\n<script>alert(1)</script>: x\n---\n".to_string()),
        1 => "\\PC{0,30}".prop_map(|s| format!("---\n{s}\n---\n")),
    ];
    (front, prop::collection::vec((fragment(), separator()), 0..16)).prop_map(|(front, parts)| {
        let mut s = front;
        for (f, sep) in parts {
            s.push_str(&f);
            s.push_str(sep);
        }
        s
    })
}

/// Classes the sanitiser lets through (see `sanitize.rs`), and `missing` for links to
/// missing pages.
fn class_allowed(c: &str) -> bool {
    matches!(
        c,
        "hl" | "footnote-definition"
            | "footnote-definition-label"
            | "footnote-reference"
            | "task-list-item"
            | "contains-task-list"
            | "front-matter-raw"
            | "missing"
    ) || c.starts_with("hl-")
        || c.starts_with("language-")
}

const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "style",
    "link",
    "meta",
    "base",
    "form",
    "svg",
    "math",
    "body",
    "html",
    "head",
    "noscript",
    "template",
    "textarea",
    "xmp",
    "plaintext",
    "noembed",
    "noframes",
    "title",
    "select",
    "button",
    "image",
    "isindex",
    "marquee",
    "video",
    "audio",
    "source",
];

const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "cite",
    "poster",
    "background",
    "longdesc",
    "srcset",
    "xlink:href",
];

/// Decodes the character references the HTML serialiser writes, and numeric ones.
fn decode(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|&e| e <= 10);
        let Some(end) = end else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let c = match name {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "nbsp" => Some('\u{a0}'),
            "colon" => Some(':'),
            "Tab" => Some('\t'),
            "NewLine" => Some('\n'),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A tag of the output: its name and attributes (values decoded).
#[derive(Debug)]
struct OutTag {
    name: String,
    attrs: Vec<(String, String)>,
}

/// Reads the tags of sanitised output. The serialiser escapes `<` in text and `"` in
/// attribute values, so outside a tag every `<` opens one.
fn read_tags(html: &str) -> Result<Vec<OutTag>, String> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = html[i..].find('<') {
        i += at + 1;
        if b.get(i) == Some(&b'/') {
            let end = html[i..].find('>').ok_or("unclosed end tag")?;
            i += end + 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        if i == start {
            return Err(format!("a '<' that opens no tag at {start}"));
        }
        let mut tag = OutTag { name: html[start..i].to_ascii_lowercase(), attrs: Vec::new() };
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                None => return Err("unclosed tag".into()),
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(b'/') if b.get(i + 1) == Some(&b'>') => {
                    i += 2;
                    break;
                }
                _ => {}
            }
            let n = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            if i == n {
                return Err(format!("odd attribute at {n}"));
            }
            let name = html[n..i].to_ascii_lowercase();
            let mut value = String::new();
            if b.get(i) == Some(&b'=') {
                i += 1;
                if b.get(i) != Some(&b'"') {
                    return Err(format!("unquoted attribute value at {i}"));
                }
                let end = html[i + 1..].find('"').ok_or("unclosed attribute value")?;
                value = decode(&html[i + 1..i + 1 + end]);
                i += end + 2;
            }
            tag.attrs.push((name, value));
        }
        out.push(tag);
    }
    Ok(out)
}

/// The invariant of the markdown crate, checked on one output.
fn check_inert(source: &str, html: &str) -> Result<(), TestCaseError> {
    let lower = html.to_ascii_lowercase();
    for live in ["<script", "<iframe", "<style", "<svg", "<math", "<object", "<embed"] {
        prop_assert!(!lower.contains(live), "{live} in the rendering of {source:?}:\n{html}");
    }
    let tags = read_tags(html)
        .map_err(|e| TestCaseError::fail(format!("{e} in the rendering of {source:?}:\n{html}")))?;
    for tag in &tags {
        prop_assert!(
            !FORBIDDEN_ELEMENTS.contains(&tag.name.as_str()),
            "<{}> in the rendering of {source:?}:\n{html}",
            tag.name
        );
        for (name, value) in &tag.attrs {
            prop_assert!(
                !name.starts_with("on") && name != "style" && name != "srcdoc",
                "{name}= on <{}> in the rendering of {source:?}:\n{html}",
                tag.name
            );
            if URL_ATTRIBUTES.contains(&name.as_str()) {
                let url: String = value
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .collect::<String>()
                    .trim_start_matches(|c: char| c <= ' ')
                    .to_ascii_lowercase();
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    prop_assert!(
                        !url.starts_with(scheme),
                        "{name}={value:?} in the rendering of {source:?}:\n{html}"
                    );
                }
            }
            if name == "id" {
                prop_assert!(
                    !value.starts_with("cb-") && !value.is_empty(),
                    "id={value:?} in the rendering of {source:?}:\n{html}"
                );
                prop_assert!(
                    value
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')),
                    "id={value:?} in the rendering of {source:?}:\n{html}"
                );
            }
            if name == "class" {
                for c in value.split_ascii_whitespace() {
                    prop_assert!(
                        class_allowed(c),
                        "class {c:?} in the rendering of {source:?}:\n{html}"
                    );
                }
            }
        }
    }
    Ok(())
}

fn json(r: &casebook_markdown::Rendered) -> serde_json::Value {
    serde_json::to_value(r).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the mix, a page comes out inert, the same each time; and its own output, taken
    /// as a page again, comes out inert too.
    #[test]
    fn hostile_mixes_come_out_inert_and_stable(src in page()) {
        let wikis: [(&str, &dyn Pages); 3] =
            [("cases/Current", &Wiki), ("Top", &Wiki), ("hb/sales/Discovery", &Handbook)];
        for (at, pages) in wikis {
            let cx = Context { page: at, pages, view_prefix: "/wiki/", edit_prefix: "/edit/" };
            let once = render(&src, &cx);
            check_inert(&src, &once.html)?;
            for link in &once.links {
                prop_assert!(
                    PagePath::parse(&link.path).is_ok(),
                    "link to {:?} from {:?}", link.path, src
                );
            }
            let twice = render(&src, &cx);
            prop_assert_eq!(json(&once), json(&twice));
            let again = render(&once.html, &cx).html;
            check_inert(&once.html, &again)?;
            let comment = render_fragment(&src, &cx);
            check_inert(&src, &comment.html)?;
            prop_assert_eq!(json(&comment), json(&render_fragment(&src, &cx)));
        }
    }

    /// Anything at all: no panic, and still inert.
    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        check_inert(&src, &html_at("cases/Current", &src))?;
        let _ = rewrite_links(&src, "cases/Current", &Wiki, "cases/Acme Renewal", "archive/Acme Win");
    }
}

/// The checks above catch what they look for (a check that passes everything proves nothing).
#[test]
fn the_checks_catch_live_markup() {
    for live in [
        "<script>alert(1)</script>",
        "<p><IFRAME></IFRAME></p>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\" JAVA&#x53;CRIPT&colon;alert(1)\">x</a>",
        "<img src=\"data:text/html,x\">",
        "<img src=\"x\" onerror=\"alert(1)\">",
        "<p style=\"color: red\">x</p>",
        "<p id=\"cb-search\">x</p>",
        "<p class=\"hl button\">x</p>",
        "<details open=\"\"><summary>x</summary></details><form></form>",
        "<img src=x>",
    ] {
        assert!(check_inert("", live).is_err(), "{live:?} passed the checks");
    }
    let inert = "<p class=\"hl\" id=\"x\">on=1 style=x javascript:alert(1) \
                 <a href=\"/wiki/Home\" title=\"a > b\" rel=\"noopener noreferrer\">Home</a></p>";
    assert!(check_inert("", inert).is_ok());
}
