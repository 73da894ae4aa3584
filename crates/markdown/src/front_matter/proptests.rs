//! Property tests of the front matter split and its YAML. 256 cases a property by default;
//! `PROPTEST_CASES=20000` for a longer run (see ARCHITECTURE.md, Testing).

use super::*;
use proptest::prelude::*;

/// Lines that matter to the split (fences, near-fences, line ends) and to the YAML reader
/// (anchors, aliases, tags, merge keys, deep nesting, odd scalars).
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "---", "...", "--- ", " ---", "----", "-- -", "---\r", "...\r", "\u{feff}---",
            "title: Hello", "title: <script>alert(1)</script>", "tags: [a, b, a]", "tags: a, #b",
            "tag: 7", "tags:", "tags: [[1], {a: b}]", "type: case-story", "a: &x [1, 2]",
            "b: *x", "c: *missing", "<<: *x", "<<: [*x, *x]", "- item", "? complex", ": value",
            "key: |", "  indented", "\tkey: tab", "{", "[", "}", "]", "'", "\"", "a: 'unclosed",
            "!!binary aGk=", "x: !!float nan", "y: !custom {a: 1}", "%YAML 1.2", "%TAG ! tag:x:",
            "n: 1e999", "m: -0x1F", "z: ~", "t: 2026-12-04T10:00:00Z", "k: .inf", "a: b: c",
            "null", "[1, 2]", "plain text", "#comment", "",
        ])
        .prop_map(String::from),
        1 => (1usize..300).prop_map(|n| format!("a: {}", "[".repeat(n))),
        1 => (1usize..300).prop_map(|n| format!("a: {}1{}", "[".repeat(n), "]".repeat(n))),
        1 => (1usize..200).prop_map(|n| format!("a: {}", "{b: ".repeat(n))),
        1 => (1usize..60).prop_map(|n| (0..n).map(|i| format!("{}- x", "  ".repeat(i))).collect::<Vec<_>>().join("\n")),
        1 => Just(billion_laughs()),
        2 => "\\PC{0,20}",
        1 => any::<String>(),
    ]
}

/// Aliases of aliases, the classic YAML expansion bomb.
fn billion_laughs() -> String {
    let mut s = String::from(
        "a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    s
}

/// Page sources: lines joined by `\n` or `\r\n`, sometimes behind a byte order mark.
fn source() -> impl Strategy<Value = String> {
    (prop::collection::vec(line(), 0..12), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(lines, crlf, bom, open)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            if open {
                s.push_str("---");
                s.push_str(nl);
            }
            s.push_str(&lines.join(nl));
            s
        },
    )
}

fn any_source() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => source(),
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// What the split returns puts the source back together: the opening fence, the block, the
    /// closing fence and the body, in order, nothing lost or added; the block holds no fence.
    #[test]
    fn split_then_join_is_the_source(s in any_source()) {
        let (raw, body) = split_front_matter(&s);
        let Some(raw) = raw else {
            prop_assert_eq!(body, s.as_str());
            return Ok(());
        };
        let unbom = s.strip_prefix('\u{feff}').unwrap_or(&s);
        let open = if unbom.starts_with("---\r\n") { "---\r\n" } else { "---\n" };
        prop_assert!(unbom.starts_with(open));
        let after_open = &unbom[open.len()..];
        prop_assert!(after_open.starts_with(raw));
        prop_assert!(s.ends_with(body));
        prop_assert!(open.len() + raw.len() + body.len() <= unbom.len());
        let close = &unbom[open.len() + raw.len()..unbom.len() - body.len()];
        prop_assert!(matches!(close.trim_end_matches(['\n', '\r']), "---" | "..."), "{close:?}");
        prop_assert!(close.ends_with('\n') || body.is_empty(), "{close:?}");
        prop_assert!(!close.trim_end_matches(['\n', '\r']).contains(['\n', '\r']) );
        prop_assert_eq!(format!("{}{open}{raw}{close}{body}", &s[..s.len() - unbom.len()]), s.clone());
        prop_assert!(raw.is_empty() || raw.ends_with('\n'));
        for l in raw.split_inclusive('\n') {
            prop_assert!(!matches!(l.trim_end_matches(['\n', '\r']), "---" | "..."));
        }
    }

    /// Reading the block, and everything read from it, never panics.
    #[test]
    fn yaml_never_panics(s in any_source()) {
        let raw = split_front_matter(&s).0.unwrap_or(&s);
        if let Ok(fm) = FrontMatter::parse(raw) {
            let _ = fm.title();
            let tags = fm.tags();
            for t in &tags {
                prop_assert!(!t.is_empty() && t == t.trim());
            }
            for (_, v) in fm.display_fields() {
                let _ = v;
            }
            let _ = fm.text("type");
            let _ = serde_json::to_string(&fm);
        }
    }
}
