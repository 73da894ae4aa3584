//! A page's attachments: each upload and removal one commit, in `<page>.files/`, listed only
//! to those who see the page, and carried along when the page moves or goes.

use super::harness::*;
use casebook_core::{AttachmentName, ErrorKind};

fn name(s: &str) -> AttachmentName {
    AttachmentName::parse(s).unwrap()
}

fn page(s: &str) -> PagePath {
    PagePath::parse(s).unwrap()
}

fn names(w: &TestWiki, p: &str) -> Vec<String> {
    w.engine
        .attachments(&page(p), &ReadScope::everything())
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect()
}

#[test]
fn each_upload_and_removal_is_one_commit_beside_the_page() {
    let w = TestWiki::new();
    w.rev("cases/Northwind Deal", "# Northwind\n");
    let p = page("cases/Northwind Deal");
    let before = w.commits();
    let put =
        w.engine.put_attachment(&p, &name("pic 1.png"), b"png bytes".to_vec(), &ann()).unwrap();
    assert!(put.created && !put.unchanged);
    assert_eq!(w.commits(), before + 1);
    assert_eq!(
        w.git(&["show", "HEAD:cases/Northwind Deal.files/pic 1.png"]),
        "png bytes",
        "the file sits in the page's attachments folder"
    );
    assert_eq!(
        w.git(&["log", "-1", "--format=%an|%s"]).trim(),
        "Ann|Attach pic 1.png on cases/Northwind Deal"
    );
    let listed = w.engine.attachments(&p, &ReadScope::everything()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].size), ("pic 1.png", 9));
    assert_eq!(
        listed[0].blob,
        w.git(&["rev-parse", "HEAD:cases/Northwind Deal.files/pic 1.png"]).trim()
    );

    // The same bytes again change nothing; other bytes replace the file in one commit.
    let same =
        w.engine.put_attachment(&p, &name("pic 1.png"), b"png bytes".to_vec(), &ann()).unwrap();
    assert!(same.unchanged && !same.created);
    assert_eq!(w.commits(), before + 1);
    let replaced =
        w.engine.put_attachment(&p, &name("pic 1.png"), b"new".to_vec(), &ann()).unwrap();
    assert!(!replaced.created && !replaced.unchanged);
    assert_eq!(w.commits(), before + 2);
    assert_eq!(w.engine.attachments(&p, &ReadScope::everything()).unwrap()[0].size, 3);
    // The served file is the new one, with its blob as validator.
    let served = w.engine.attachment("cases/Northwind Deal.files/pic 1.png").unwrap().unwrap();
    assert_eq!(served.blob(), replaced.attachment.blob);

    w.engine.delete_attachment(&p, &name("pic 1.png"), &ann()).unwrap();
    assert_eq!(w.commits(), before + 3);
    assert!(names(&w, "cases/Northwind Deal").is_empty());
    let err = w.engine.delete_attachment(&p, &name("pic 1.png"), &ann()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(w.commits(), before + 3);
}

#[test]
fn refusals_commit_nothing() {
    let w = TestWiki::with(|o| o.max_attachment_bytes = 1000);
    w.rev("Notes", "# Notes\n");
    let before = w.commits();
    let err = w
        .engine
        .put_attachment(&page("Notes"), &name("big.bin"), vec![0; 1001], &ann())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    assert!(err.message.contains("max_attachment_bytes"), "{}", err.message);
    let err = w
        .engine
        .put_attachment(&page("Nowhere"), &name("a.txt"), b"x".to_vec(), &ann())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(
        w.engine.attachments(&page("Nowhere"), &ReadScope::everything()).unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(w.commits(), before);
}

#[test]
fn a_hidden_page_has_no_attachments_to_list() {
    let w = TestWiki::new();
    w.rev("deals/Acme", "# Acme\n");
    w.engine
        .put_attachment(&page("deals/Acme"), &name("terms.pdf"), b"%PDF".to_vec(), &ann())
        .unwrap();
    let hiding = ReadScope::hiding(["deals".to_string()]);
    let err = w.engine.attachments(&page("deals/Acme"), &hiding).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(names(&w, "deals/Acme"), ["terms.pdf"]);
}

#[test]
fn files_made_outside_are_listed_but_pages_and_subfolders_are_not() {
    let w = TestWiki::new();
    w.rev("Guide", "# Guide\n");
    push_from_outside(
        &w,
        &[
            ("Guide.files/b.txt", "b"),
            ("Guide.files/a.png", "a"),
            ("Guide.files/Notes.md", "# a page\n"),
            ("Guide.files/sub/deep.txt", "deep"),
        ],
    );
    assert_eq!(names(&w, "Guide"), ["a.png", "b.txt"]);
}

#[test]
fn a_move_carries_the_attachments_and_a_delete_removes_them_in_the_same_commit() {
    let w = TestWiki::new();
    w.rev("cases/Northwind Deal", "# Northwind\n");
    let from = page("cases/Northwind Deal");
    w.engine.put_attachment(&from, &name("pic.png"), b"1".to_vec(), &ann()).unwrap();
    push_from_outside(&w, &[("cases/Northwind Deal.files/raw/scan.tif", "2")]);
    let before = w.commits();
    let to = page("archive/Northwind");
    w.move_page(&from, &to, false);
    assert_eq!(w.commits(), before + 1);
    let files = w.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(files.contains("archive/Northwind.files/pic.png"), "{files}");
    assert!(files.contains("archive/Northwind.files/raw/scan.tif"), "{files}");
    assert!(!files.contains("cases/Northwind Deal.files"), "{files}");
    assert_eq!(names(&w, "archive/Northwind"), ["pic.png"]);
    // Git sees renames.
    let status = w.git(&["show", "-M", "--name-status", "--format=", "HEAD"]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with('R') && l.ends_with("archive/Northwind.files/pic.png")),
        "{status}"
    );

    w.engine.delete(&to, None, &ann(), "").unwrap();
    assert_eq!(w.commits(), before + 2);
    let files = w.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(!files.contains("archive/"), "{files}");
}

#[test]
fn a_move_onto_files_already_there_is_refused() {
    let w = TestWiki::new();
    w.rev("A", "# A\n");
    w.engine.put_attachment(&page("A"), &name("x.txt"), b"a".to_vec(), &ann()).unwrap();
    push_from_outside(&w, &[("B.files/x.txt", "left over")]);
    let before = w.commits();
    let err = w
        .engine
        .move_page(&page("A"), &page("B"), false, &ReadScope::everything(), &ann(), "")
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    assert_eq!(w.commits(), before);
}
