//! Browsing the records of a type by facet: filters, facet counts, orders, pages, and a folder
//! the reader may not see.

use crate::harness::*;
use casebook_core::ErrorKind;
use casebook_engine::{FacetCount, FacetMode, RECORDS_PER_PAGE, RecordPage, RecordQuery};

const DEAL_TYPE: &str = r#"label = "Deal"
[[fields]]
key = "stage"
label = "Stage"
kind = "enum"
options = ["won", "lost", "open"]
facet = true

[[fields]]
key = "regions"
label = "Regions"
kind = "list"
facet = true

[[fields]]
key = "amount"
label = "Amount"
kind = "money"
facet = true

[[fields]]
key = "closed"
label = "Closed"
kind = "date"
facet = true

[[fields]]
key = "owner"
label = "Owner"
kind = "text"
"#;

/// Fillers: open deals with nothing else said, enough for a second page.
const FILLERS: usize = RECORDS_PER_PAGE + 2;

/// A wiki with the `deal` type, four deals in `deals/`, the fillers, and one deal in the
/// folder `secret/`, all pushed in one commit.
fn deals() -> TestWiki {
    let w = TestWiki::new();
    let clone = GitClone::of(&w);
    clone.write(".casebook/types/deal.toml", DEAL_TYPE);
    let deal = |name: &str, fields: &str| {
        clone.write(
            &format!("{name}.md"),
            &format!(
                "---\ntype: deal\n{fields}---\n\n# {}\n",
                &name[name.find('/').unwrap() + 1..]
            ),
        );
    };
    deal("deals/Alpha", "stage: won\nregions: [emea, apac]\namount: 120000\nclosed: 2025-03-01\n");
    deal("deals/Beta", "stage: lost\nregions: emea\namount: 300000\nclosed: 2025-06-15\n");
    deal(
        "deals/Gamma",
        "stage: won\nregions: north-america, emea\namount: $50k\nclosed: 2024-11-30\n",
    );
    deal("deals/Delta", "stage: open\nclosed: soon\n");
    for i in 0..FILLERS {
        deal(&format!("deals/Filler {i:02}"), "stage: open\n");
    }
    deal("secret/Sigma", "stage: won\nregions: emea\namount: 900000\nclosed: 2025-01-01\n");
    clone.push("Deals");
    assert!(w.engine.sync().unwrap());
    w
}

fn query(pairs: &[(&str, &str)]) -> RecordQuery {
    RecordQuery::from_params(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn browse(w: &TestWiki, pairs: &[(&str, &str)], scope: &ReadScope) -> RecordPage {
    w.engine.browse_records("deal", &query(pairs), scope).unwrap()
}

fn titles(page: &RecordPage) -> Vec<&str> {
    page.records.iter().map(|r| r.title.as_str()).collect()
}

/// A facet's values as (value, count, active).
fn counts(page: &RecordPage, key: &str) -> Vec<(String, usize, bool)> {
    let facet = page.facets.iter().find(|f| f.key == key).unwrap();
    facet
        .values
        .iter()
        .map(|FacetCount { value, count, active }| (value.clone(), *count, *active))
        .collect()
}

fn c(value: &str, count: usize, active: bool) -> (String, usize, bool) {
    (value.to_string(), count, active)
}

fn outside_secret() -> ReadScope {
    ReadScope::hiding(["secret".to_string()])
}

#[test]
fn a_query_keeps_its_order_and_page_apart_from_its_filters() {
    let q = query(&[
        ("stage", " won "),
        ("sort", "title"),
        ("page", "2"),
        ("owner", ""),
        ("min", "10k"),
    ]);
    assert_eq!(q.sort.as_deref(), Some("title"));
    assert_eq!(q.page, 2);
    assert_eq!(
        q.filters.into_iter().collect::<Vec<_>>(),
        [("min".to_string(), "10k".to_string()), ("stage".to_string(), "won".to_string())]
    );
    assert_eq!(query(&[("page", "many")]).page, 1);
}

#[test]
fn records_are_filtered_and_counted_by_facet() {
    let w = deals();
    let reader = outside_secret();
    let all = browse(&w, &[], &reader);
    assert_eq!((all.total, all.matching, all.filtered), (4 + FILLERS, 4 + FILLERS, false));
    assert_eq!(
        all.facets.iter().map(|f| (f.key.as_str(), f.mode)).collect::<Vec<_>>(),
        [
            ("stage", FacetMode::Values),
            ("regions", FacetMode::Values),
            ("amount", FacetMode::Range),
            ("closed", FacetMode::Dates),
        ]
    );
    assert_eq!(
        counts(&all, "stage"),
        [c("lost", 1, false), c("open", 1 + FILLERS, false), c("won", 2, false)]
    );
    // A list, or a text of values between commas, counts each value.
    assert_eq!(
        counts(&all, "regions"),
        [c("apac", 1, false), c("emea", 3, false), c("north-america", 1, false)]
    );

    // A value: the other facets count what passes it; its own counts what passes the others.
    let won = browse(&w, &[("stage", "Won")], &reader);
    assert_eq!(titles(&won), ["Alpha", "Gamma"]);
    assert_eq!((won.total, won.matching, won.filtered), (4 + FILLERS, 2, true));
    assert_eq!(
        counts(&won, "stage"),
        [c("lost", 1, false), c("open", 1 + FILLERS, false), c("won", 2, true)]
    );
    assert_eq!(
        counts(&won, "regions"),
        [c("apac", 1, false), c("emea", 2, false), c("north-america", 1, false)]
    );
    let both = browse(&w, &[("stage", "won"), ("regions", "apac")], &reader);
    assert_eq!(titles(&both), ["Alpha"]);

    // A range of money, by the short name of the first money facet, as typed.
    let big = browse(&w, &[("min", "$100k")], &reader);
    assert_eq!(titles(&big), ["Beta", "Alpha"]);
    assert_eq!(big.query.filters.get("amount_min").map(String::as_str), Some("$100k"));
    assert!(!big.query.filters.contains_key("min"));
    let amount = big.facets.iter().find(|f| f.key == "amount").unwrap();
    assert_eq!((amount.low.as_str(), amount.high.as_str()), ("$100k", ""));
    assert_eq!(
        titles(&browse(&w, &[("amount_min", "60000"), ("amount_max", "200k")], &reader)),
        ["Alpha"]
    );
    // A span of dates, at both ends.
    assert_eq!(titles(&browse(&w, &[("from", "2025-01-01")], &reader)), ["Beta", "Alpha"]);
    assert_eq!(
        titles(&browse(&w, &[("closed_from", "2024-01-01"), ("closed_to", "2025-03-01")], &reader)),
        ["Alpha", "Gamma"]
    );
    // Values that do not read as their kind filter nothing.
    let odd = browse(&w, &[("min", "lots"), ("from", "not-a-date")], &reader);
    assert_eq!((odd.matching, odd.filtered), (4 + FILLERS, false));
}

#[test]
fn records_are_ordered_and_paged() {
    let w = deals();
    let reader = outside_secret();
    // By the first date, newest first; records without one last, by title.
    let newest = browse(&w, &[], &reader);
    assert_eq!(newest.sort, "");
    assert_eq!(&titles(&newest)[..5], ["Beta", "Alpha", "Gamma", "Delta", "Filler 00"]);
    // The orders offered besides: the money field (the first date is the default).
    assert_eq!(newest.sorts, ["amount"]);
    let largest = browse(&w, &[("stage", "won"), ("sort", "size")], &reader);
    assert_eq!(largest.sort, "amount");
    assert_eq!(largest.query.sort.as_deref(), Some("size"), "asked for as typed");
    assert_eq!(titles(&largest), ["Alpha", "Gamma"]);
    assert_eq!(
        &titles(&browse(&w, &[("sort", "amount")], &reader))[..4],
        ["Beta", "Alpha", "Gamma", "Delta"]
    );
    assert_eq!(
        &titles(&browse(&w, &[("sort", "title")], &reader))[..4],
        ["Alpha", "Beta", "Delta", "Filler 00"]
    );

    // Pages of RECORDS_PER_PAGE; a page past the last is the last, and none is the first.
    let open = [("stage", "open"), ("sort", "title")];
    let first = browse(&w, &open, &reader);
    assert_eq!((first.page, first.pages, first.matching), (1, 2, 1 + FILLERS));
    assert_eq!(first.records.len(), RECORDS_PER_PAGE);
    assert_eq!(first.records[0].title, "Delta");
    let second = browse(&w, &[open[0], open[1], ("page", "2")], &reader);
    assert_eq!((second.page, second.pages), (2, 2));
    let last = format!("Filler {:02}", FILLERS - 1);
    assert_eq!(titles(&second), ["Filler 59", "Filler 60", last.as_str()]);
    let past = browse(&w, &[open[0], open[1], ("page", "99")], &reader);
    assert_eq!((past.page, titles(&past)), (2, titles(&second)));
    assert_eq!(browse(&w, &[open[0], open[1], ("page", "0")], &reader).page, 1);
    let none = browse(&w, &[("stage", "lost"), ("regions", "apac")], &reader);
    assert_eq!((none.page, none.pages, none.records.len()), (1, 1, 0));
}

#[test]
fn a_folder_the_reader_may_not_see_leaks_nothing() {
    let w = deals();
    let everything = browse(&w, &[], &ReadScope::everything());
    assert_eq!(everything.total, 5 + FILLERS);
    assert_eq!(counts(&everything, "stage")[2], c("won", 3, false));
    assert_eq!(titles(&browse(&w, &[("min", "800k")], &ReadScope::everything())), ["Sigma"]);

    let reader = outside_secret();
    let seen = browse(&w, &[], &reader);
    assert_eq!(seen.total, 4 + FILLERS);
    assert!(seen.records.iter().all(|r| !r.path.starts_with("secret/")));
    assert_eq!(counts(&seen, "stage")[2], c("won", 2, false));
    assert_eq!(counts(&seen, "regions")[1], c("emea", 3, false));
    let big = browse(&w, &[("min", "800k")], &reader);
    assert_eq!((big.matching, big.records.len()), (0, 0));
    let won = browse(&w, &[("stage", "won"), ("sort", "amount")], &reader);
    assert_eq!(titles(&won), ["Alpha", "Gamma"]);
}

#[test]
fn a_type_that_cannot_be_read_lists_its_records_unfiltered() {
    let w = deals();
    push_from_outside(
        &w,
        &[
            (
                ".casebook/types/memo.toml",
                "label = \"Memo\"\n[[fields]]\nkey = \"x\"\nkind = \"colour\"\n",
            ),
            ("memos/One.md", "---\ntype: memo\nx: red\n---\n# One\n"),
        ],
    );
    let memos = w
        .engine
        .browse_records("memo", &query(&[("x", "blue")]), &ReadScope::everything())
        .unwrap();
    assert!(memos.problem.as_ref().is_some_and(|p| p.message.contains("colour")));
    assert!(memos.page_type.fields.is_empty() && memos.facets.is_empty());
    assert_eq!((titles(&memos), memos.filtered), (vec!["One"], false));
    let e = w
        .engine
        .browse_records("nothing", &RecordQuery::default(), &ReadScope::everything())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}
