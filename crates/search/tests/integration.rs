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
        revision: String::new(),
    }
}

/// A page with no tags and no fields.
fn page(path: &str, title: &str, body: &str) -> IndexDoc {
    doc(path, title, body, &[], serde_json::json!({}))
}

/// Adds `pages` to the index as of `revision`.
fn add(ix: &SearchIndex, pages: Vec<IndexDoc>, revision: &str) {
    ix.apply(&[], pages, revision).unwrap();
}

fn index() -> (tempfile::TempDir, SearchIndex) {
    let tmp = tempfile::tempdir().unwrap();
    let (ix, rebuilt) = SearchIndex::open(&tmp.path().join("index")).unwrap();
    assert!(rebuilt);
    add(
        &ix,
        vec![
            doc(
                "cases/Acme",
                "Acme renewal rescue",
                "The champion left in March. We negotiated pricing with procurement.",
                &["renewal", "Pricing"],
                serde_json::json!({"type": "case-story", "outcome": "won", "industry": "retail", "deal_size": 120000}),
            ),
            doc(
                "cases/Bolt",
                "Bolt renewal",
                "Lost on price to a cheaper competitor; the champion never had budget.",
                &["renewal"],
                serde_json::json!({"type": "case-story", "outcome": "lost", "industry": "logistics"}),
            ),
            doc(
                "insights/Teach",
                "Teach, don't pitch",
                "Insight selling: teach the customer something about their business.",
                &["insight"],
                serde_json::json!({"type": "insight"}),
            ),
            page(
                "playbooks/Discovery",
                "Discovery call",
                "Questions for a discovery call with a new champion; café notes.",
            ),
        ],
        "abc123",
    );
    (tmp, ix)
}

fn paths(ix: &SearchIndex, q: &str) -> Vec<String> {
    let mut p: Vec<String> =
        ix.search(q, 20, 0).unwrap().hits.into_iter().map(|h| h.path).collect();
    p.sort();
    p
}

#[test]
fn words_phrases_prefixes_exclusions_or() {
    let (_t, ix) = index();
    assert_eq!(paths(&ix, "champion"), ["cases/Acme", "cases/Bolt", "playbooks/Discovery"]);
    assert_eq!(paths(&ix, "champion procurement"), ["cases/Acme"], "all words first");
    assert_eq!(
        paths(&ix, "champion pricing"),
        ["cases/Acme", "cases/Bolt"],
        "pricing and price share a stem"
    );
    assert_eq!(paths(&ix, "\"champion left\""), ["cases/Acme"]);
    assert_eq!(paths(&ix, "negotiat*"), ["cases/Acme"]);
    assert_eq!(paths(&ix, "champion -budget"), ["cases/Acme", "playbooks/Discovery"]);
    assert_eq!(paths(&ix, "procurement OR competitor"), ["cases/Acme", "cases/Bolt"]);
    assert_eq!(paths(&ix, "renewals"), ["cases/Acme", "cases/Bolt"], "English word forms match");
    assert_eq!(paths(&ix, "cafe"), ["playbooks/Discovery"], "accents folded");
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
    assert_eq!(paths(&ix, "in:cases champion"), ["cases/Acme", "cases/Bolt"]);
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
    assert!(r.relaxed && r.total == 3, "no page has both: any word may match");
}

#[test]
fn snippets_mark_matches_and_escape_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let (ix, _) = SearchIndex::open(tmp.path()).unwrap();
    add(&ix, vec![page("x", "X", "a <script>alert(1)</script> champion & co")], "r");
    let hit = &ix.search("champion", 1, 0).unwrap().hits[0];
    assert!(hit.snippet.contains("<mark>champion</mark>"), "{}", hit.snippet);
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
        ix.search(q, 10, 0).unwrap_or_else(|e| panic!("{q:.20}: {e}"));
    }
    assert_eq!(ix.search("*", 10, 0).unwrap().total, 4, "a lone star lists everything");
    assert_eq!(paths(&ix, &deep), ["cases/Acme", "cases/Bolt", "playbooks/Discovery"]);
}

#[test]
fn updates_replace_and_remove_by_path() {
    let (_t, ix) = index();
    ix.apply(
        &["cases/Bolt".into()],
        vec![page("cases/Acme", "Acme", "now about quokkas")],
        "def456",
    )
    .unwrap();
    assert_eq!(paths(&ix, "quokkas"), ["cases/Acme"]);
    assert_eq!(paths(&ix, "champion"), ["playbooks/Discovery"]);
    assert_eq!(ix.num_docs(), 3);
}

fn facet(r: &casebook_search::Results, family: &str) -> Vec<(String, u64, bool)> {
    r.facets
        .iter()
        .filter(|g| g.name == family)
        .flat_map(|g| g.values.iter())
        .map(|v| (v.value.clone(), v.count, v.active))
        .collect()
}

#[test]
fn facets_count_the_whole_result_set_and_filter_on_click() {
    let (_t, ix) = index();
    // One hit shown, counts over all three.
    let r = ix.search("champion", 1, 0).unwrap();
    assert_eq!((r.total, r.hits.len()), (3, 1));
    assert_eq!(facet(&r, "type"), [("case-story".into(), 2, false)]);
    assert_eq!(
        facet(&r, "tag"),
        [("renewal".into(), 2, false), ("pricing".into(), 1, false)],
        "tags counted as the filter matches them, lowercased"
    );
    assert_eq!(facet(&r, "in"), [("cases".into(), 2, false), ("playbooks".into(), 1, false)]);
    // Clicking a value adds its filter; the answer narrows and shows it as active.
    let filter = &r.facets.iter().find(|g| g.name == "in").unwrap().values[0].filter;
    assert_eq!(filter, "in:cases/");
    let narrowed = ix.search(&format!("champion {filter}"), 10, 0).unwrap();
    assert_eq!(narrowed.total, 2);
    assert_eq!(facet(&narrowed, "in"), [("cases".into(), 2, true)]);
    let tag = ix.search("champion tag:pricing", 10, 0).unwrap();
    assert_eq!(tag.total, 1);
    assert_eq!(facet(&tag, "type"), [("case-story".into(), 1, false)]);
    // Nothing found, nothing counted.
    let none = ix.search("quokka type:insight", 10, 0).unwrap();
    assert_eq!(none.total, 0);
    assert!(none.facets.is_empty());
}

#[test]
fn active_filters_can_be_taken_away() {
    use casebook_search::{active_filters, filter_text};
    let f = active_filters("renewal tag:pricing -tag:old in:\"Case Stories/\" a OR type:insight");
    let got: Vec<(&str, &str, &str)> =
        f.iter().map(|a| (a.name.as_str(), a.value.as_str(), a.without.as_str())).collect();
    assert_eq!(
        got,
        [
            ("tag", "pricing", "renewal -tag:old in:\"Case Stories/\" a OR type:insight"),
            ("in", "Case Stories", "renewal tag:pricing -tag:old a OR type:insight"),
        ],
        "excluded and OR-joined filters are not narrowing filters"
    );
    assert_eq!(filter_text("in", "Case Stories"), "in:\"Case Stories/\"");
    assert_eq!(filter_text("tag", "-odd"), "tag:\"-odd\"");
    assert_eq!(filter_text("type", "case-story"), "type:case-story");
}

#[test]
fn did_you_mean_offers_the_words_the_pages_use() {
    let (_t, ix) = index();
    let dym = |q: &str| ix.search(q, 10, 0).unwrap().did_you_mean;
    assert_eq!(dym("procurment").as_deref(), Some("procurement"));
    assert_eq!(
        dym("champoin procurment").as_deref(),
        Some("champion procurement"),
        "a swap of two letters is one edit"
    );
    assert_eq!(
        dym("Champoin -budget tag:pricing").as_deref(),
        Some("champion -budget tag:pricing"),
        "filters and exclusions are kept as typed"
    );
    assert_eq!(dym("champion"), None, "enough hits: nothing to offer");
    assert_eq!(dym("zzzzqqq"), None, "nothing close: nothing to offer");
    assert_eq!(dym("\"champoin left\""), None, "phrases are left as typed");
    // The most frequent of equally close words: "champion" (3 pages) over "champions" (1).
    add(&ix, vec![page("x/Champs", "Champs", "champions league")], "r2");
    assert_eq!(dym("champio").as_deref(), Some("champion"));
    let r = ix.search("procurment", 10, 0).unwrap();
    assert_eq!(r.total, 1, "the misspelling shares the stem, so the page is found anyway");
}

#[test]
fn questions_need_their_topic_words_not_every_word() {
    let (_t, ix) = index();
    let r = ix.search("how do I negotiate pricing", 10, 0).unwrap();
    assert!(!r.relaxed, "the little words are not required");
    assert_eq!(r.hits.iter().map(|h| h.path.as_str()).collect::<Vec<_>>(), ["cases/Acme"]);
    assert_eq!(
        paths(&ix, "the"),
        ["cases/Acme", "cases/Bolt", "insights/Teach"],
        "alone, a stop word is searched like any word"
    );
    let r = ix.search("champion procurement quokka", 10, 0).unwrap();
    assert!(!r.relaxed);
    assert_eq!(
        r.hits.iter().map(|h| h.path.as_str()).collect::<Vec<_>>(),
        ["cases/Acme"],
        "from three words on, a page may miss one"
    );
    let r = ix.search("champion budget cheaper procurement", 10, 0).unwrap();
    assert_eq!(
        r.hits.first().map(|h| h.path.as_str()),
        Some("cases/Bolt"),
        "the page with more of the words first"
    );
}

#[test]
fn chinese_and_japanese_words_are_found() {
    let (_t, ix) = index();
    add(
        &ix,
        vec![
            page("zh/Shanghai", "上海的续约", "我们的销售团队在上海赢得了新客户。价格谈判很难。"),
            page("ja/Osaka", "大阪の更新", "営業チームは大阪で新しい顧客を獲得しました。"),
        ],
        "cjk",
    );
    assert_eq!(paths(&ix, "销售"), ["zh/Shanghai"], "a Chinese word");
    assert_eq!(paths(&ix, "销售团队"), ["zh/Shanghai"], "a longer one");
    assert_eq!(paths(&ix, "价格谈判"), ["zh/Shanghai"]);
    assert_eq!(paths(&ix, "営業"), ["ja/Osaka"], "a Japanese word (kanji)");
    assert_eq!(paths(&ix, "チーム"), ["ja/Osaka"], "a Japanese word (katakana)");
    assert_eq!(paths(&ix, "顧客"), ["ja/Osaka"]);
    assert_eq!(paths(&ix, "title:更新"), ["ja/Osaka"]);
    assert_eq!(paths(&ix, "团队销售"), Vec::<String>::new(), "order matters");
    let hit = &ix.search("销售", 1, 0).unwrap().hits[0];
    assert!(hit.snippet.contains("<mark>销售</mark>"), "{}", hit.snippet);
    // Words of other scripts beside them are still words.
    assert_eq!(paths(&ix, "champion"), ["cases/Acme", "cases/Bolt", "playbooks/Discovery"]);
}

#[test]
fn the_stemming_language_is_part_of_the_index() {
    use casebook_search::SearchLanguage;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("index");
    let french: SearchLanguage = "French".parse().unwrap();
    let (ix, rebuilt) = SearchIndex::open_with_language(&dir, french).unwrap();
    assert!(rebuilt);
    add(&ix, vec![page("fr/Lyon", "Lyon", "Les négociations ont duré trois mois.")], "r1");
    assert_eq!(paths(&ix, "négociation"), ["fr/Lyon"], "French word forms");
    assert_eq!(paths(&ix, "negociation"), ["fr/Lyon"], "accents folded");
    drop(ix);
    let (ix, rebuilt) = SearchIndex::open_with_language(&dir, french).unwrap();
    assert!(!rebuilt, "same language: the index is kept");
    assert_eq!(ix.num_docs(), 1);
    drop(ix);
    let (ix, rebuilt) = SearchIndex::open_with_language(&dir, SearchLanguage::NONE).unwrap();
    assert!(rebuilt, "another language: the index is built anew");
    assert_eq!(ix.num_docs(), 0);
    add(&ix, vec![page("en/R", "R", "Two renewals this quarter.")], "r2");
    assert_eq!(paths(&ix, "renewals"), ["en/R"]);
    assert_eq!(paths(&ix, "renewal*"), ["en/R"]);
    assert!(
        ix.search("renewal", 10, 0).unwrap().relaxed,
        "without stemming, only the typo tolerance links renewal to renewals"
    );
    let err = "klingon".parse::<SearchLanguage>().unwrap_err();
    assert!(err.message.contains("english") && err.message.contains("none"), "{}", err.message);
    assert_eq!(SearchLanguage::default().to_string(), "english");
}

#[test]
fn past_versions_are_found_with_their_revision() {
    use casebook_search::wants_history;
    let tmp = tempfile::tempdir().unwrap();
    let (past, _) = SearchIndex::open(&tmp.path().join("history")).unwrap();
    let version = |text: &str, rev: &str| IndexDoc {
        revision: rev.into(),
        kind: "revision".into(),
        ..doc("cases/Acme", "Acme", text, &["pricing"], serde_json::json!({"type": "case-story"}))
    };
    past.append(vec![version("The old discount was forty percent.", "r1")], "r2").unwrap();
    past.append(vec![version("The discount is now thirty percent.", "r2")], "r3").unwrap();
    let r = past.search("discount", 10, 0).unwrap();
    assert_eq!(r.total, 2, "every past version is kept");
    let r = past.search("forty", 10, 0).unwrap();
    assert_eq!(
        r.hits.iter().map(|h| (h.path.as_str(), h.revision.as_deref())).collect::<Vec<_>>(),
        [("cases/Acme", Some("r1"))]
    );
    assert_eq!(facet(&r, "type"), [("case-story".into(), 1, false)]);
    assert_eq!(
        wants_history("discount  history:yes tag:pricing"),
        (true, "discount tag:pricing".into())
    );
    assert_eq!(wants_history("history:no discount"), (false, "discount".into()));
    assert_eq!(wants_history("discount"), (false, "discount".into()));
    // The current index has no revisions on its hits.
    let (_t, ix) = index();
    assert_eq!(ix.search("champion", 1, 0).unwrap().hits[0].revision, None);
}

/// A page's title and text, as the index holds them and the engine gives them.
const KILN: (&str, &str) = (
    "Kiln retrofit",
    "The kiln retrofit cut gas use; the kiln burners and the kiln controls were replaced.",
);

#[test]
fn similar_pages_by_their_telling_words() {
    let tmp = tempfile::tempdir().unwrap();
    let (ix, _) = SearchIndex::open(&tmp.path().join("index")).unwrap();
    let mut docs = vec![
        page("a/Kiln", KILN.0, KILN.1),
        page(
            "b/Burners",
            "Burner swap",
            "Burners of the second kiln swapped; kiln controls tuned after the retrofit.",
        ),
        page(
            "c/Payroll",
            "Payroll run",
            "The payroll run moved to the first Monday; payslips by mail.",
        ),
    ];
    // Filler pages, so that the words above are rare enough to tell pages apart.
    for i in 0..12 {
        docs.push(page(
            &format!("f/P{i}"),
            &format!("Note {i}"),
            "Meeting notes and other things.",
        ));
    }
    add(&ix, docs, "r1");
    let got = ix.similar("a/Kiln", KILN.0, KILN.1, 5, 0.0).unwrap();
    assert_eq!(got.first().map(|s| s.path.as_str()), Some("b/Burners"), "{got:?}");
    assert!(got[0].likeness > 0.2 && got[0].likeness <= 1.0, "{got:?}");
    assert!(got.iter().all(|s| s.path != "a/Kiln" && s.path != "c/Payroll"), "{got:?}");
    assert!(ix.similar("no/Such", "No such", "The kiln burners.", 5, 0.0).unwrap().is_empty());
    // Weaker hits than asked for are left out.
    let strict = ix.similar("a/Kiln", KILN.0, KILN.1, 5, 0.99).unwrap();
    assert!(strict.iter().all(|s| s.likeness >= 0.99), "{strict:?}");
    // Not passing merely by being empty: what is at least that alike stays, and a bar above any
    // likeness (they are at most 1.0) leaves nothing.
    let kept: Vec<_> = got.iter().filter(|s| s.likeness >= 0.99).collect();
    assert!(!kept.is_empty(), "{got:?}");
    assert_eq!(strict.iter().collect::<Vec<_>>(), kept);
    assert!(ix.similar("a/Kiln", KILN.0, KILN.1, 5, 1.01).unwrap().is_empty());
}

#[test]
fn an_index_another_process_writes_is_refused_never_thrown_away() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("index");
    let (ix, _) = SearchIndex::open(&dir).unwrap();
    add(&ix, vec![page("Kept", "Kept", "quokka")], "r1");
    let err = SearchIndex::open(&dir).unwrap_err();
    assert_eq!(err.kind, casebook_core::ErrorKind::Unavailable, "{err}");
    assert!(err.message.contains("another Casebook"), "{err}");
    assert_eq!(ix.search("quokka", 5, 0).unwrap().total, 1, "the index in use is untouched");
    drop(ix);
    let (ix, rebuilt) = SearchIndex::open(&dir).unwrap();
    assert!(!rebuilt, "opened as it was once free");
    assert_eq!(ix.search("quokka", 5, 0).unwrap().total, 1);
}
