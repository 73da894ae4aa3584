//! Page types defined in the repository: the shipped types, outside changes to type files,
//! broken type files, and new pages created from a type.

use crate::harness::*;
use casebook_core::ErrorKind;
use casebook_engine::NewRecord;

static EVERYTHING: std::sync::LazyLock<ReadScope> = std::sync::LazyLock::new(ReadScope::everything);

fn warnings(w: &TestWiki, path: &str) -> Vec<String> {
    let page =
        w.engine.page(&PagePath::parse(path).unwrap(), None, &ReadScope::everything()).unwrap();
    w.engine.check_type(&page.rendered.front_matter).warnings
}

#[test]
fn the_starter_pages_fit_the_shipped_types() {
    let w = TestWiki::new();
    let types = w.engine.types();
    assert!(!types.builtin, "a new wiki gets the type files in its repository");
    assert!(types.problems.is_empty(), "{:?}", types.problems);
    assert_eq!(types.types.keys().collect::<Vec<_>>(), ["case-story", "insight"]);
    let files = w.git(&["ls-tree", "-r", "--name-only", "HEAD", ".casebook/types/"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        [".casebook/types/case-story.toml", ".casebook/types/insight.toml"]
    );
    let cases = w.engine.records("case-story", &ReadScope::everything());
    let insights = w.engine.records("insight", &ReadScope::everything());
    assert!(cases.len() >= 7 && insights.len() >= 6);
    for r in cases.iter().chain(&insights).map(|r| r.path.as_str()).chain(["templates/Case Story"])
    {
        assert_eq!(warnings(&w, r), Vec::<String>::new(), "{r}");
    }
}

#[test]
fn a_types_template_is_not_a_record_wherever_it_is_kept() {
    let w = TestWiki::new();
    let listed = |w: &TestWiki| -> Vec<String> {
        w.engine
            .records("case-story", &ReadScope::everything())
            .into_iter()
            .map(|r| r.path)
            .collect()
    };
    w.rev("cases/Blank Story", "---\ntype: case-story\ncustomer: \n---\n# Customer: headline\n");
    let before = listed(&w);
    assert!(before.contains(&"cases/Blank Story".to_string()));
    assert!(!before.iter().any(|p| p.starts_with("templates/")));

    // The type now starts new stories from that page: it is a blank, not a story.
    let clone = GitClone::of(&w);
    let file = clone.dir.join(".casebook/types/case-story.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("template = \"templates/Case Story\""));
    std::fs::write(
        &file,
        text.replace("template = \"templates/Case Story\"", "template = \"cases/Blank Story\""),
    )
    .unwrap();
    clone.push("Keep the blank story beside the stories");
    assert!(w.engine.sync().unwrap());
    let after = listed(&w);
    assert!(!after.contains(&"cases/Blank Story".to_string()), "{after:?}");
    assert_eq!(after.len(), before.len() - 1);
}

#[test]
fn outside_changes_to_type_files_are_picked_up() {
    let w = TestWiki::new();
    w.rev(
        "cases/Mine",
        "---\ntype: case-story\ncustomer: Pit Co\nindustry: mining\nregion: emea\noutcome: won\ndeal_type: renewal\ndeal_size: 10k\nclosed: 2025-02-01\n---\nText.\n",
    );
    let before = warnings(&w, "cases/Mine");
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(before[0].contains("`mining`"), "{before:?}");

    // Someone adds the industry to the type with git: the warning goes.
    let clone = GitClone::of(&w);
    let file = clone.dir.join(".casebook/types/case-story.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"software\",", "\"software\", \"mining\",")).unwrap();
    clone.push("Add mining to the industries");
    assert!(w.engine.sync().unwrap());
    assert!(
        w.engine
            .types()
            .get("case-story")
            .unwrap()
            .field("industry")
            .unwrap()
            .options
            .contains(&"mining".to_string())
    );
    assert_eq!(warnings(&w, "cases/Mine"), Vec::<String>::new());

    // A broken type file is a problem listed with the types and a warning on its pages, and
    // the pages still read.
    std::fs::write(
        clone.dir.join(".casebook/types/insight.toml"),
        "label = \"Insight\"\n[[fields]]\nkey = \"audience\"\nkind = \"colour\"\n",
    )
    .unwrap();
    clone.push("Break the insight type");
    assert!(w.engine.sync().unwrap());
    let types = w.engine.types();
    assert_eq!(types.problems.len(), 1);
    assert_eq!(types.problems[0].file, ".casebook/types/insight.toml");
    assert!(types.problems[0].message.contains("colour"), "{:?}", types.problems);
    let page = w.page("insights/Mobilizers Not Talkers");
    assert!(page.rendered.html.contains("mobilizer"));
    let warned = w.engine.check_type(&page.rendered.front_matter).warnings;
    assert!(warned.len() == 1 && warned[0].contains("cannot be read"), "{warned:?}");
    assert_eq!(warnings(&w, "cases/Mine"), Vec::<String>::new(), "other types are unaffected");

    // With no type files left, the built-in types apply again.
    std::fs::remove_dir_all(clone.dir.join(".casebook")).unwrap();
    clone.push("Remove the types");
    assert!(w.engine.sync().unwrap());
    let types = w.engine.types();
    assert!(types.builtin && types.problems.is_empty());
    assert_eq!(warnings(&w, "cases/Mine").len(), 1);
}

#[test]
fn an_existing_repository_without_types_gets_the_built_in_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("notes");
    std::fs::create_dir_all(&repo).unwrap();
    let run = |args: &[&str]| git_as(&repo, "A", "a@x", args);
    run(&["init", "-q", "-b", "main"]);
    std::fs::write(
        repo.join("Deal.md"),
        "---\ntype: case-story\noutcome: sideways\n---\nBody text.\n",
    )
    .unwrap();
    run(&["add", "."]);
    run(&["commit", "-q", "-m", "one page"]);
    let engine = Engine::open(Options::new(&repo, tmp.path().join("data"))).unwrap();
    let types = engine.types();
    assert!(types.builtin);
    assert!(types.get("case-story").is_some() && types.get("insight").is_some());
    let page =
        engine.page(&PagePath::parse("Deal").unwrap(), None, &ReadScope::everything()).unwrap();
    let check = engine.check_type(&page.rendered.front_matter);
    assert!(check.warnings.iter().any(|w| w.contains("`sideways`")), "{:?}", check.warnings);
    assert!(check.warnings.iter().any(|w| w.contains("missing")));
    engine.shutdown();
}

#[test]
fn a_new_page_of_a_type_is_one_commit_and_searchable_by_its_fields() {
    let w = TestWiki::new();
    let t = w.engine.types().get("case-story").unwrap().clone();
    let inputs: std::collections::HashMap<String, String> = [
        ("customer", "Zephyr Grocers"),
        ("industry", "Retail"),
        ("region", "emea"),
        ("outcome", "won"),
        ("deal_type", "new-business"),
        ("deal_size", "$120k"),
        ("closed", "2025-03-03"),
        ("competitors", "Acme, Globex"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let values = t.read_form(&inputs).unwrap();
    let author = Author::new("Ann", "ann@example.com");
    let before: u32 = w.commits();
    fn record<'a>(
        title: &'a str,
        values: &'a [(String, serde_json::Value)],
        author: &'a Author,
    ) -> NewRecord<'a> {
        NewRecord {
            type_name: "case-story",
            title,
            folder: "cases",
            tags: &[],
            values,
            author,
            scope: &EVERYTHING,
        }
    }
    let path = w.engine.create_record(record("Zephyr Pilot", &values, &author)).unwrap();
    assert_eq!(path.as_str(), "cases/Zephyr Pilot");
    let text = w.text("cases/Zephyr Pilot");
    assert!(text.contains("deal_size: 120000\n") && text.contains("industry: retail\n"), "{text}");
    assert!(
        text.contains("\n# Zephyr Pilot\n") && text.contains("## Situation"),
        "starts from the template: {text}"
    );
    assert_eq!(warnings(&w, "cases/Zephyr Pilot"), Vec::<String>::new());
    let page = w.engine.page(&path, None, &ReadScope::everything()).unwrap();
    assert_eq!(
        page.rendered.front_matter.get("competitors"),
        Some(&serde_json::json!(["Acme", "Globex"]))
    );
    assert_eq!(page.author.unwrap().name, "Ann");

    let again = w.engine.create_record(record("Zephyr Pilot", &values, &author)).unwrap_err();
    assert_eq!(again.kind, ErrorKind::Conflict);
    let bad = w
        .engine
        .create_record(NewRecord { folder: "../up", ..record("X", &values, &author) })
        .unwrap_err();
    assert_eq!(bad.kind, ErrorKind::InvalidInput);
    let bad = w.engine.create_record(record("a/b", &values, &author)).unwrap_err();
    assert_eq!(bad.kind, ErrorKind::InvalidInput);
    let after: u32 = w.commits();
    assert_eq!(after, before + 1, "one commit, and none for the refused ones");

    let hits = w.engine.search("outcome:won industry:retail", 20, 0).unwrap();
    let paths: Vec<&str> = hits.hits.iter().map(|h| h.path.as_str()).collect();
    assert!(paths.contains(&"cases/Zephyr Pilot"), "{paths:?}");
    assert!(
        paths.iter().all(|p| *p != "cases/Northwind Renewal Rescue"),
        "logistics is not retail: {paths:?}"
    );
    let hits = w.engine.search("competitors:globex", 20, 0).unwrap();
    assert_eq!(hits.hits.first().map(|h| h.path.as_str()), Some("cases/Zephyr Pilot"));
}
