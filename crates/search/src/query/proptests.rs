//! Property tests of the query language: whatever is typed, parsing never panics and what it
//! makes stays small. 256 cases a property by default; `PROPTEST_CASES=20000` for a longer run
//! (see ARCHITECTURE.md, Testing).

use super::*;
use proptest::prelude::*;

/// Pieces of queries: syntax, near-syntax and words in several scripts.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "\"", "\"\"", "\"a b\"", "(", ")", "()", "-", "--", "!", "+", "-x", "!x", "+x", "*",
            "**", "x*", "*x", ":", "::", "a:", ":a", "a:b:c", "title:", "title:\"", "title:\"a b\"",
            "tag:x", "tag:*", "tag:x*", "-tag:x", "in:sales/", "in:/", "in:\"Case Stories/\"",
            "type:case-story", "kind:page", "author:anna", "outcome:won", "deal_size:120000",
            "history:yes", "past:1", "OR", "or", "|", "||", "AND", "&&", "NOT", "-OR", "\"OR\"",
            "négociation", "café", "页面", "東京タワー", "한국어", "😀", "\u{0}", "\u{200b}",
            "\u{feff}", "\u{3000}", "\t", "\n", "é", "e\u{301}",
        ])
        .prop_map(String::from),
        3 => "[a-zA-Z0-9]{1,8}",
        2 => "[a-z\"():*!+|&-]{1,6}",
        1 => "\\PC{1,8}",
        1 => proptest::arbitrary::any::<String>(),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(
            (piece(), prop::sample::select(vec![" ", " ", "", "  ", "\t"])),
            0..40,
        )
        .prop_map(|parts| parts.into_iter().map(|(p, s)| format!("{p}{s}")).collect()),
        1 => (piece(), 100usize..3000).prop_map(|(p, n)| format!("{p} ").repeat(n)),
        1 => (1usize..2000).prop_map(|n| format!("{}x", "a:".repeat(n))),
        1 => (1usize..800).prop_map(|n| format!("x{}", " OR x".repeat(n))),
        1 => proptest::arbitrary::any::<String>(),
    ]
}

fn atoms(a: &Atom) -> (usize, usize) {
    match a {
        Atom::Field { value, .. } => {
            let (n, depth) = atoms(value);
            (n, depth + 1)
        }
        _ => (1, 1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Parsing never fails or panics, and what it makes is bounded whatever the length of the
    /// text: at most `MAX_CLAUSES` terms in all (alternatives of `OR` included), each no longer
    /// than the query it came from.
    #[test]
    fn parsing_is_total_and_bounded(q in query()) {
        let parsed = parse_query(&q);
        prop_assert!(parsed.clauses.len() <= MAX_CLAUSES);
        let mut total = 0;
        for c in &parsed.clauses {
            prop_assert!(!c.any_of.is_empty());
            for a in &c.any_of {
                let (n, depth) = atoms(a);
                total += n;
                prop_assert!(depth <= 2, "a field inside a field: {a:?}");
            }
        }
        prop_assert!(total <= MAX_CLAUSES, "{total} terms from {q:?}");
        prop_assert!(parsed.words() <= parsed.clauses.len());
        for n in parsed.needles() {
            prop_assert!(n.len() <= 4 * MAX_QUERY);
        }
    }

    /// The other readers of a query never panic either, and only give back pieces of it.
    #[test]
    fn filters_history_and_corrections_never_panic(q in query()) {
        for f in active_filters(&q) {
            prop_assert!(matches!(f.name.as_str(), "type" | "tag" | "in"));
            prop_assert!(f.without.len() < q.len());
        }
        let (_, rest) = wants_history(&q);
        prop_assert!(rest.len() <= q.len());
        for (span, _) in correctable_words(&q) {
            prop_assert!(q.get(span).is_some());
        }
    }

    /// A filter written by `filter_text` reads back as the same filter.
    #[test]
    fn filter_text_round_trips(
        name in prop::sample::select(vec!["type", "tag", "in"]),
        value in prop_oneof![piece(), "[a-zA-Z0-9 /_-]{1,12}"],
    ) {
        // Facet values come trimmed, without quotes (which filter_text drops) or outer slashes.
        let value: String = value.chars().filter(|c| *c != '"').collect();
        let value = match value.trim_matches(|c: char| c.is_whitespace() || c == '/') {
            "" => "v",
            v => v,
        };
        let text = filter_text(name, value);
        let found = active_filters(&text);
        prop_assert_eq!(found.len(), 1, "{:?} reads as {:?}", text, found);
        prop_assert_eq!(found[0].name.as_str(), name);
        prop_assert_eq!(found[0].value.as_str(), value, "{:?}", text);
        prop_assert_eq!(found[0].without.as_str(), "");
    }
}
