//! How long one save takes in a wide folder: a repository with N pages in one folder (bare,
//! or with a working tree), then single-page commits through the one writer, timed.
//!
//!     cargo run --release -p casebook-store --example wide_save -- [PAGES] [SAVES] [--workdir]
//!
//! Prints p50, p95 and the largest time per commit, and the size of the objects written.

use casebook_core::Author;
use casebook_store::{Change, Store};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workdir = args.iter().any(|a| a == "--workdir");
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let pages = numbers.first().copied().unwrap_or(10_000);
    let saves = numbers.get(1).copied().unwrap_or(60);
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let repo = tmp.path().join("wiki");
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "git {args:?} failed");
    };
    let path = repo.to_str().expect("a UTF-8 path");
    if workdir {
        git(&["init", "-q", "-b", "main", path]);
    } else {
        git(&["init", "-q", "--bare", "-b", "main", path]);
    }
    let store = Store::open(&repo).expect("the repository opens");
    let ann = Author::new("Ann", "ann@example.com");
    let started = Instant::now();
    let changes: Vec<Change> = (0..pages)
        .map(|i| Change::Put {
            path: format!("page-{i:06}.md"),
            content: format!("# Page {i}\n\nSome text of page {i}.\n").into_bytes(),
        })
        .collect();
    store.writer().commit(&changes, &ann, "Many pages").expect("the first commit");
    if workdir {
        git(&["-C", path, "checkout", "-q", "-f", "main"]);
    }
    println!("{pages} pages in one folder written in {:.1} s", started.elapsed().as_secs_f64());
    let mut times = Vec::with_capacity(saves);
    for k in 0..saves {
        let page = (k * 7919) % pages;
        let change = Change::Put {
            path: format!("page-{page:06}.md"),
            content: format!("# Page {page}\n\nRewritten {k}.\n").into_bytes(),
        };
        let t = Instant::now();
        store.writer().commit(&[change], &ann, "One page").expect("a commit");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{saves} single-page commits ({}): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        if workdir { "with a working tree" } else { "bare" },
        at(0.5),
        at(0.95),
        at(1.0)
    );
}
