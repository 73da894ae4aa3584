//! The query language against a real index in a temp dir.

use casebook_search::{IndexDoc, SearchIndex};

fn doc(path: &str, title: &str, body: &str, tags: &[&str], fields: serde_json::Value) -> IndexDoc {
    IndexDoc {
        path: path.into(),
        title: title.into(),
        headings: vec![],
        body: body.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        kind: "page".into(),
        author: "Anna Berg".into(),
        updated: 1_700_000_000,
        links: vec![],
        fields: fields.as_object().cloned().unwrap_or_default(),
    }
}

fn index() -> (tempfile::TempDir, SearchIndex) {
    let tmp = tempfile::tempdir().unwrap();
    let (ix, rebuilt) = SearchIndex::open(&tmp.path().join("index")).unwrap();
    assert!(rebuilt);
    ix.apply(
        &[],
        vec![
            doc("cases/Acme", "Acme renewal rescue", "The champion left in March. We negotiated pricing with procurement.", &["renewal", "Pricing"], serde_json::json!({"type": "case-story", "outcome": "won", "industry": "retail", "deal_size": 120000})),
            doc("cases/Bolt", "Bolt renewal", "Lost on price to a cheaper competitor; the champion never had budget.", &["renewal"], serde_json::json!({"type": "case-story", "outcome": "lost", "industry": "logistics"})),
            doc("insights/Teach", "Teach, don't pitch", "Insight selling: teach the customer something about their business.", &["insight"], serde_json::json!({"type": "insight"})),
            doc("playbooks/Discovery", "Discovery call", "Questions for a discovery call with a new champion; café notes.", &[], serde_json::json!({})),
        ],
        "abc123",
    )
    .unwrap();
    (tmp, ix)
}

fn paths(ix: &SearchIndex, q: &str) -> Vec<String> {
    let mut p: Vec<String> = ix
        .search(q, 20, 0)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.path)
        .collect();
    p.sort();
    p
}

#[test]
fn words_phrases_prefixes_exclusions_or() {
    let (_t, ix) = index();
    assert_eq!(
        paths(&ix, "champion"),
        ["cases/Acme", "cases/Bolt", "playbooks/Discovery"]
    );
    assert_eq!(
        paths(&ix, "champion procurement"),
        ["cases/Acme"],
        "all words first"
    );
    assert_eq!(
        paths(&ix, "champion pricing"),
        ["cases/Acme", "cases/Bolt"],
        "pricing and price share a stem"
    );
    assert_eq!(paths(&ix, "\"champion left\""), ["cases/Acme"]);
    assert_eq!(paths(&ix, "negotiat*"), ["cases/Acme"]);
    assert_eq!(
        paths(&ix, "champion -budget"),
        ["cases/Acme", "playbooks/Discovery"]
    );
    assert_eq!(
        paths(&ix, "procurement OR competitor"),
        ["cases/Acme", "cases/Bolt"]
    );
    assert_eq!(
        paths(&ix, "renewals"),
        ["cases/Acme", "cases/Bolt"],
        "English word forms match"
    );
    assert_eq!(
        paths(&ix, "cafe"),
        ["playbooks/Discovery"],
        "accents folded"
    );
    assert_eq!(ix.indexed_revision().as_deref(), Some("abc123"));
}

#[test]
fn filters() {
    let (_t, ix) = index();
    assert_eq!(paths(&ix, "renewal outcome:won"), ["cases/Acme"]);
    assert_eq!(paths(&ix, "type:case-story"), ["cases/Acme", "cases/Bolt"]);
    assert_eq!(
        paths(&ix, "industry:Retail"),
        ["cases/Acme"],
        "field values without regard to case"
    );
    assert_eq!(paths(&ix, "deal_size:120000"), ["cases/Acme"]);
    assert_eq!(paths(&ix, "tag:pricing"), ["cases/Acme"]);
    assert_eq!(paths(&ix, "title:teach"), ["insights/Teach"]);
    assert_eq!(
        paths(&ix, "in:cases champion"),
        ["cases/Acme", "cases/Bolt"]
    );
    assert_eq!(paths(&ix, "author:anna discovery"), ["playbooks/Discovery"]);
    assert_eq!(paths(&ix, "nosuchfield:x"), Vec::<String>::new());
}

#[test]
fn typos_find_something_and_say_so() {
    let (_t, ix) = index();
    let r = ix.search("champoin procurment", 10, 0).unwrap();
    assert!(r.relaxed);
    assert_eq!(r.hits.first().map(|h| h.path.as_str()), Some("cases/Acme"));
    let r = ix.search("champoin", 10, 0).unwrap();
    assert!(r.relaxed && r.total == 3, "a transposition is forgiven");
    let r = ix.search("champion zzzzqqq", 10, 0).unwrap();
    assert!(
        r.relaxed && r.total == 3,
        "no page has both: any word may match"
    );
}

#[test]
fn snippets_mark_matches_and_escape_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let (ix, _) = SearchIndex::open(tmp.path()).unwrap();
    ix.apply(
        &[],
        vec![doc(
            "x",
            "X",
            "a <script>alert(1)</script> champion & co",
            &[],
            serde_json::json!({}),
        )],
        "r",
    )
    .unwrap();
    let hit = &ix.search("champion", 1, 0).unwrap().hits[0];
    assert!(
        hit.snippet.contains("<mark>champion</mark>"),
        "{}",
        hit.snippet
    );
    assert!(
        hit.snippet.contains("&lt;script&gt;") && !hit.snippet.contains("<script"),
        "{}",
        hit.snippet
    );
    assert!(hit.snippet.contains("&amp;"), "{}", hit.snippet);
}

#[test]
fn hostile_queries_answer_sanely() {
    let (_t, ix) = index();
    let long = "a".repeat(10_000);
    let deep = format!("{}champion{}", "(".repeat(500), ")".repeat(500));
    for q in [
        "\"unbalanced",
        "*",
        "title:",
        "nosuchfield:x",
        "(((",
        long.as_str(),
        "AND OR NOT",
        "\\",
        "tag:\"",
        "~~~",
        "-",
        "\"\"",
        deep.as_str(),
        "in:",
        "a:b:c",
        "🙂",
    ] {
        ix.search(q, 10, 0)
            .unwrap_or_else(|e| panic!("{q:.20}: {e}"));
    }
    assert_eq!(
        ix.search("*", 10, 0).unwrap().total,
        4,
        "a lone star lists everything"
    );
    assert_eq!(
        paths(&ix, &deep),
        ["cases/Acme", "cases/Bolt", "playbooks/Discovery"]
    );
}

#[test]
fn updates_replace_and_remove_by_path() {
    let (_t, ix) = index();
    ix.apply(
        &["cases/Bolt".into()],
        vec![doc(
            "cases/Acme",
            "Acme",
            "now about quokkas",
            &[],
            serde_json::json!({}),
        )],
        "def456",
    )
    .unwrap();
    assert_eq!(paths(&ix, "quokkas"), ["cases/Acme"]);
    assert_eq!(paths(&ix, "champion"), ["playbooks/Discovery"]);
    assert_eq!(ix.num_docs(), 3);
}

#[test]
fn similar_pages_by_their_telling_words() {
    let tmp = tempfile::tempdir().unwrap();
    let (ix, _) = SearchIndex::open(&tmp.path().join("index")).unwrap();
    let mut docs = vec![
        doc(
            "a/Kiln",
            "Kiln retrofit",
            "The kiln retrofit cut gas use; the kiln burners and the kiln controls were replaced.",
            &[],
            serde_json::json!({}),
        ),
        doc(
            "b/Burners",
            "Burner swap",
            "Burners of the second kiln swapped; kiln controls tuned after the retrofit.",
            &[],
            serde_json::json!({}),
        ),
        doc(
            "c/Payroll",
            "Payroll run",
            "The payroll run moved to the first Monday; payslips by mail.",
            &[],
            serde_json::json!({}),
        ),
    ];
    // Filler pages, so that the words above are rare enough to tell pages apart.
    for i in 0..12 {
        docs.push(doc(
            &format!("f/P{i}"),
            &format!("Note {i}"),
            "Meeting notes and other things.",
            &[],
            serde_json::json!({}),
        ));
    }
    ix.apply(&[], docs, "r1").unwrap();
    let got = ix.similar("a/Kiln", 5, 0.0).unwrap();
    assert_eq!(
        got.first().map(|s| s.path.as_str()),
        Some("b/Burners"),
        "{got:?}"
    );
    assert!(got[0].likeness > 0.2 && got[0].likeness <= 1.0, "{got:?}");
    assert!(
        got.iter()
            .all(|s| s.path != "a/Kiln" && s.path != "c/Payroll"),
        "{got:?}"
    );
    assert!(ix.similar("no/Such", 5, 0.0).unwrap().is_empty());
    // Weaker hits than asked for are left out.
    let strict = ix.similar("a/Kiln", 5, 0.99).unwrap();
    assert!(strict.iter().all(|s| s.likeness >= 0.99), "{strict:?}");
}
