//! Rendering, as data: markdown in, expected HTML fragments out; and hostile input made inert.

use casebook_markdown::{Context, Pages, render};

struct Wiki;
impl Pages for Wiki {
    fn exists(&self, p: &str) -> bool {
        matches!(p, "Home" | "cases/Acme Renewal" | "cases/Bolt Deal" | "guide/Writing Pages")
    }
    fn find(&self, name: &str) -> Option<String> {
        match name.to_lowercase().as_str() {
            "acme renewal" | "the acme story" => Some("cases/Acme Renewal".into()),
            "home" => Some("Home".into()),
            _ => None,
        }
    }
}

fn html(md: &str) -> String {
    html_at("cases/Current", md)
}

fn html_at(page: &str, md: &str) -> String {
    let cx = Context { page, pages: &Wiki, view_prefix: "/wiki/", edit_prefix: "/edit/" };
    render(md, &cx).html
}

/// Checks that the rendering of `md` contains every expected fragment.
fn check(md: &str, expected: &[&str]) {
    let out = html(md);
    for e in expected {
        assert!(out.contains(e), "rendering {md:?}\nexpected {e:?} in\n{out}");
    }
}

#[test]
fn gfm() {
    check("| a | b |\n|---|---|\n| 1 | 2 |\n", &["<table>", "<th>a</th>", "<td>2</td>"]);
    check(
        "- [ ] open\n- [x] done\n",
        &[
            "<input disabled=\"\" type=\"checkbox\">",
            "<input disabled=\"\" type=\"checkbox\" checked=\"\">",
        ],
    );
    check("~~gone~~", &["<del>gone</del>"]);
    check(
        "Claim.[^1]\n\n[^1]: Source.\n",
        &["class=\"footnote-reference\"", "class=\"footnote-definition\""],
    );
    check(
        "# Title\n\n## Next Steps\n\n## Next Steps\n",
        &["<h2 id=\"next-steps\">", "<h2 id=\"next-steps-1\">"],
    );
}

#[test]
fn the_leading_title_is_not_repeated_in_the_body() {
    let out = html("# Title\n\nBody.\n\n# Later\n");
    assert!(!out.contains(">Title</h1>") && out.contains(">Later</h1>"), "{out}");
}

#[test]
fn wiki_links_and_relative_links() {
    check(
        "[[Acme Renewal]]",
        &["<a href=\"/wiki/cases/Acme%20Renewal\" rel=\"noopener noreferrer\">Acme Renewal</a>"],
    );
    check(
        "[[the acme story|the story]]",
        &["href=\"/wiki/cases/Acme%20Renewal\"", ">the story</a>"],
    );
    check("[[Home#Big Picture]]", &["href=\"/wiki/Home#big-picture\""]);
    check("[[Missing Page]]", &["href=\"/edit/cases/Missing%20Page\"", "class=\"missing\""]);
    check("[it](Bolt%20Deal.md)", &["href=\"/wiki/cases/Bolt%20Deal\""]);
    check(
        "[g](../guide/Writing%20Pages.md#tables)",
        &["href=\"/wiki/guide/Writing%20Pages#tables\""],
    );
    check("[ext](https://example.com/x.md)", &["href=\"https://example.com/x.md\""]);
    check("`[[Acme Renewal]]`", &["<code>[[Acme Renewal]]</code>"]);
    check("```\n[[Acme Renewal]]\n```", &["[[Acme Renewal]]"]);
}

#[test]
fn front_matter_is_data_not_text() {
    let cx =
        Context { page: "cases/X", pages: &Wiki, view_prefix: "/wiki/", edit_prefix: "/edit/" };
    let r = render(
        "---\ntitle: Acme\ntags: [retail, renewal]\noutcome: won\ndeal_size: 120000\n---\n\nBody.\n",
        &cx,
    );
    assert_eq!(r.title.as_deref(), Some("Acme"));
    assert_eq!(r.tags, ["retail", "renewal"]);
    assert_eq!(r.front_matter.text("deal_size").as_deref(), Some("120000"));
    assert!(!r.html.contains("outcome"), "{}", r.html);
    let bad = render("---\ntitle: [unclosed\n---\n\nStill here.\n", &cx);
    assert!(bad.front_matter_error.is_some());
    assert!(bad.html.contains("Still here."));
    assert!(bad.html.contains("front-matter-raw"));
}

#[test]
fn title_comes_from_the_first_h1() {
    let cx = Context { page: "X", pages: &Wiki, view_prefix: "/wiki/", edit_prefix: "/edit/" };
    assert_eq!(
        render("intro\n\n# The *Real* Title\n", &cx).title.as_deref(),
        Some("The Real Title")
    );
    assert_eq!(
        casebook_markdown::summary("```\n# not\n```\n# Yes\n").title.as_deref(),
        Some("Yes")
    );
}

#[test]
fn code_is_highlighted_with_classes_only() {
    let out = html("```rust\nfn main() { let x = \"s\"; }\n```\n");
    assert!(out.contains("<pre class=\"hl\"><code class=\"language-rust\">"), "{out}");
    assert!(out.contains("hl-keyword") || out.contains("hl-storage"), "{out}");
    assert!(!out.contains("style="), "{out}");
    let plain = html("```unknown-lang\n<b>x</b>\n```\n");
    assert!(plain.contains("&lt;b&gt;"), "{plain}");
}

/// At least 30 ways people smuggle script into markdown and HTML.
const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"x\" ONERROR=\"alert(1)\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))",
    "[a](  javascript:alert(1))",
    "[a](java\tscript:alert(1))",
    "[a](&#106;avascript:alert(1))",
    "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[a](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<style>body{background:red}</style>",
    "<link rel=stylesheet href=//evil/x.css>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<a href=\"#\" onclick=\"alert(1)\">x</a>",
    "<video><source onerror=\"alert(1)\"></video>",
    "<base href=\"javascript:alert(1)//\">",
    "[[javascript:alert(1)]]",
    "[[x\" onmouseover=\"alert(1)]]",
    "<p id=\"cb-search\">clobber</p>",
    "<span class=\"button primary\">fake</span>",
    "---\ntitle: <script>alert(1)</script>\n---\n\n# ok",
    "```html\n<script>alert(1)</script>\n```",
];

#[test]
fn hostile_markup_comes_out_inert() {
    let live = [
        regex::Regex::new(
            r"(?i)<\s*(script|iframe|object|embed|style|link|meta|base|form|svg|math|body)\b",
        )
        .unwrap(),
        regex::Regex::new(r#"(?i)<[a-z][^>]*\son[a-z]+\s*="#).unwrap(),
        regex::Regex::new(
            r#"(?i)<[a-z][^>]*(href|src|action|data)\s*=\s*["']?\s*(javascript|vbscript|data):"#,
        )
        .unwrap(),
        regex::Regex::new(r#"(?i)<[a-z][^>]*\sstyle\s*="#).unwrap(),
        regex::Regex::new(r#"(?i)\sid="cb-"#).unwrap(),
        regex::Regex::new(r#"(?i)class="[^"]*button"#).unwrap(),
    ];
    assert!(XSS.len() >= 30);
    for payload in XSS {
        for page in ["cases/Current", "Top"] {
            let out = html_at(page, payload);
            for re in &live {
                assert!(!re.is_match(&out), "payload {payload:?} came out live:\n{out}");
            }
        }
    }
}

#[test]
fn never_panics_on_odd_input() {
    for md in [
        "",
        "\0",
        "---",
        "---\n---",
        "[[",
        "]]",
        "[[|]]",
        "[[#]]",
        "# ",
        "\u{feff}---\na: 1\n---\n",
        &"[".repeat(10_000),
        &"> ".repeat(2000),
    ] {
        let _ = html(md);
    }
}

#[test]
fn rewriting_links_for_a_move() {
    use casebook_markdown::rewrite_links;
    let src = "See [[Acme Renewal]], [[Acme Renewal|the story]], [[cases/Acme Renewal#Pricing]] and [md](Acme%20Renewal.md#x).\n\n`[[Acme Renewal]]` stays.\n\n```\n[[Acme Renewal]]\n```\n\nNot [[Bolt Deal]].\n";
    let out = rewrite_links(src, "cases/Current", &Wiki, "cases/Acme Renewal", "archive/Acme Win")
        .unwrap();
    assert_eq!(
        out,
        "See [[archive/Acme Win]], [[archive/Acme Win|the story]], [[archive/Acme Win#Pricing]] and [md](../archive/Acme%20Win.md#x).\n\n`[[Acme Renewal]]` stays.\n\n```\n[[Acme Renewal]]\n```\n\nNot [[Bolt Deal]].\n"
    );
    let same_folder = rewrite_links(
        "[[Acme Renewal]]",
        "cases/Current",
        &Wiki,
        "cases/Acme Renewal",
        "cases/Acme Won",
    )
    .unwrap();
    assert_eq!(same_folder, "[[Acme Won]]");
    assert_eq!(
        rewrite_links("nothing here", "cases/Current", &Wiki, "cases/Acme Renewal", "x"),
        None
    );
}

#[path = "integration/properties.rs"]
mod properties;

/// A page's attachments sit beside it in `<page>.files/`; a relative image link written on the
/// page, as `/wiki/cases/Bolt%20Deal` serves it, resolves in the browser to the served file.
#[test]
fn images_of_a_page_s_attachments_keep_their_relative_address() {
    for md in ["![shot](Bolt%20Deal.files/pic.png)", "![shot](<Bolt Deal.files/pic.png>)"] {
        let out = html_at("cases/Bolt Deal", md);
        assert!(out.contains("<img src=\"Bolt%20Deal.files/pic.png\" alt=\"shot\""), "{md}: {out}");
    }
}
