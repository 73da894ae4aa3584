//! Merging large pages: no save waits behind another save's merge.

use crate::harness::*;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// A page of `lines` numbered lines.
fn numbered(lines: usize) -> String {
    (0..lines).map(|i| format!("line {i}\n")).collect()
}

/// `text` with `count` lines from line `from` on prefixed with `tag`.
fn rewritten(text: &str, from: usize, count: usize, tag: &str) -> String {
    text.split_inclusive('\n')
        .enumerate()
        .map(
            |(i, l)| {
                if (from..from + count).contains(&i) { format!("{tag}{l}") } else { l.to_string() }
            },
        )
        .collect()
}

/// Two people save large edits of a 400,000-line page from the same base, so the second save
/// must be merged with the first, while someone else keeps saving a small page. The small
/// saves never wait for the large merge.
#[test]
fn a_large_merge_does_not_hold_up_other_saves() {
    let w = TestWiki::with(|o| o.max_page_bytes = 16 << 20);
    let engine = &w.engine;
    let ann = ann();
    let big = PagePath::parse("Big").unwrap();
    let base = numbered(400_000);
    let r0 = match engine
        .save(Save { path: &big, markdown: &base, message: "", base: None, author: &ann })
        .unwrap()
    {
        SaveOutcome::Saved { revision, .. } => revision,
        other => panic!("{other:?}"),
    };
    // Each rewrites 15,000 lines, far apart: mergeable in principle, but a costly diff.
    let edits =
        [rewritten(&base, 1_000, 15_000, "Ann: "), rewritten(&base, 300_000, 15_000, "Bob: ")];

    let start = Arc::new(Barrier::new(3));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let large: Vec<_> = edits
        .iter()
        .cloned()
        .map(|text| {
            let (engine, big, r0, ann) = (engine.clone(), big.clone(), r0.clone(), ann.clone());
            let (start, done) = (start.clone(), done.clone());
            std::thread::spawn(move || {
                start.wait();
                let out = engine.save(Save {
                    path: &big,
                    markdown: &text,
                    message: "",
                    base: Some(&r0),
                    author: &ann,
                });
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                out.unwrap()
            })
        })
        .collect();
    let small = {
        let (engine, ann) = (engine.clone(), ann.clone());
        let (start, done) = (start.clone(), done.clone());
        std::thread::spawn(move || {
            let small = PagePath::parse("Small").unwrap();
            start.wait();
            let mut waits = Vec::new();
            loop {
                let text = format!("# Small\n\nSave {}.\n", waits.len());
                let t = Instant::now();
                let out = engine
                    .save(Save {
                        path: &small,
                        markdown: &text,
                        message: "",
                        base: None,
                        author: &ann,
                    })
                    .unwrap();
                waits.push(t.elapsed());
                assert!(matches!(out, SaveOutcome::Saved { .. }), "{out:?}");
                if done.load(std::sync::atomic::Ordering::SeqCst) == 2 {
                    return waits;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let outcomes: Vec<SaveOutcome> = large.into_iter().map(|t| t.join().unwrap()).collect();
    let waits = small.join().unwrap();
    let longest = waits.iter().max().copied().unwrap_or_default();
    eprintln!(
        "small saves: {}, longest wait {longest:?}; large saves: {:?}",
        waits.len(),
        outcomes
            .iter()
            .map(|o| match o {
                SaveOutcome::Saved { merged, .. } => format!("saved (merged: {merged})"),
                SaveOutcome::Conflict { .. } => "conflict".to_string(),
            })
            .collect::<Vec<_>>()
    );
    assert!(longest < Duration::from_secs(1), "a small save waited {longest:?} for a large one");

    // Nothing was lost: each large edit is on the page, or came back as a conflict whole.
    let page = engine.page(&big, None, &ReadScope::everything()).unwrap().markdown;
    for (edit, outcome) in edits.iter().zip(&outcomes) {
        match outcome {
            SaveOutcome::Saved { .. } => {}
            SaveOutcome::Conflict { yours, base: b, .. } => {
                assert!(yours == edit && *b == base);
                continue;
            }
        }
        let tag = if edit.contains("Ann: ") { "Ann: line 1000\n" } else { "Bob: line 300000\n" };
        assert!(page.contains(tag), "a saved edit is on the page");
    }
}

/// Large edits of the same lines are not merged: the save answers a conflict saying why, with
/// both texts, and commits nothing.
#[test]
fn overlapping_large_edits_are_a_conflict_saying_why() {
    let w = TestWiki::with(|o| o.max_page_bytes = 16 << 20);
    let engine = &w.engine;
    let ann = ann();
    let big = PagePath::parse("Big").unwrap();
    let save = |text: &str, base: Option<&Revision>| {
        engine.save(Save { path: &big, markdown: text, message: "", base, author: &ann }).unwrap()
    };
    let base = numbered(400_000);
    let SaveOutcome::Saved { revision: r0, .. } = save(&base, None) else {
        panic!("saved");
    };
    let theirs = rewritten(&base, 0, 20_000, "Ann: ");
    let SaveOutcome::Saved { revision: r1, .. } = save(&theirs, Some(&r0)) else {
        panic!("saved");
    };
    let yours = rewritten(&base, 10_000, 20_000, "Bob: ");
    match save(&yours, Some(&r0)) {
        SaveOutcome::Conflict { base: b, theirs: t, yours: y, current, reason } => {
            assert!(b == base && t == theirs && y == yours, "both sides whole");
            assert_eq!(current, Some(r1.clone()));
            assert_eq!(
                reason,
                casebook_engine::ConflictReason::TooLarge { lines: 80_000, limit: 10_000 }
            );
            assert!(reason.to_string().contains("80000 lines"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(engine.head(), Some(r1), "nothing was committed");
}

/// Two edits, each within the page limit, whose merge would be over it: the second save is
/// refused as too large and commits nothing (the page stays one the wiki can show).
#[test]
fn a_merge_over_the_page_limit_is_refused() {
    let w = TestWiki::with(|o| o.max_page_bytes = 200);
    let engine = &w.engine;
    let ann = ann();
    let page = PagePath::parse("Limit").unwrap();
    let save = |text: &str, base: Option<&Revision>| {
        engine.save(Save { path: &page, markdown: text, message: "", base, author: &ann })
    };
    let base = "top\n\nmiddle\n\nbottom\n";
    let Ok(SaveOutcome::Saved { revision: r0, .. }) = save(base, None) else {
        panic!("saved");
    };
    let long = "x".repeat(100);
    let theirs = format!("top {long}\n\nmiddle\n\nbottom\n");
    let Ok(SaveOutcome::Saved { revision: r1, .. }) = save(&theirs, Some(&r0)) else {
        panic!("saved");
    };
    let yours = format!("top\n\nmiddle\n\nbottom {long}\n");
    let e = save(&yours, Some(&r0)).unwrap_err();
    assert_eq!(e.kind, casebook_core::ErrorKind::TooLarge, "{e}");
    assert!(e.message.contains("the limit is 200 bytes"), "{e}");
    assert_eq!(engine.head(), Some(r1), "nothing was committed");
}
