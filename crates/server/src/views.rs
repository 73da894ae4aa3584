//! Small view models the templates see: plain data, already formatted.

use crate::api::encode;
use casebook_core::FolderPath;
use casebook_engine::CommitInfo;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct Crumb {
    pub name: String,
    pub url: String,
}

/// "Pages › sales › playbooks" for a page in `sales/playbooks`.
pub(crate) fn crumbs(folder: &FolderPath) -> Vec<Crumb> {
    let mut out = vec![Crumb {
        name: "Pages".into(),
        url: "/browse".into(),
    }];
    for f in folder.ancestors() {
        out.push(Crumb {
            name: f.name().to_string(),
            url: format!("/wiki/{}/", f.url_encoded()),
        });
    }
    out
}

#[derive(Debug, Serialize)]
pub(crate) struct LinkView {
    pub title: String,
    pub path: String,
    pub url: String,
}

pub(crate) fn link(path: &str, title: &str) -> LinkView {
    LinkView {
        title: title.to_string(),
        path: path.to_string(),
        url: format!("/wiki/{}", encode(path)),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ChangeView {
    pub revision: String,
    pub short: String,
    pub author: String,
    pub date: String,
    pub date_iso: String,
    pub message: String,
    pub pages: Vec<LinkView>,
    pub others: usize,
}

pub(crate) fn changes(log: &[CommitInfo]) -> Vec<ChangeView> {
    log.iter()
        .map(|c| {
            let mut pages = Vec::new();
            let mut others = 0;
            for p in &c.paths {
                // A discussion's files stand for the page discussed.
                let page = casebook_engine::page_of_file(p);
                match page {
                    Some(page) if pages.iter().any(|l: &LinkView| l.path == page) => {}
                    Some(page) if pages.len() < 8 => pages.push(link(page, page)),
                    _ => others += 1,
                }
            }
            ChangeView {
                revision: c.revision.to_string(),
                short: c.revision.short().to_string(),
                author: c.author.name.clone(),
                date: c.date.short(),
                date_iso: c.date.rfc3339(),
                message: c.summary.clone(),
                pages,
                others,
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub(crate) struct DiffLine {
    pub kind: &'static str,
    pub text: String,
}

/// Classifies the lines of a unified diff for colouring.
pub(crate) fn diff_lines(diff: &str) -> Vec<DiffLine> {
    diff.lines()
        .map(|l| {
            let kind = if l.starts_with("+++") || l.starts_with("---") || l.starts_with("diff ") {
                "file"
            } else if l.starts_with("@@") {
                "hunk"
            } else if l.starts_with('+') {
                "add"
            } else if l.starts_with('-') {
                "del"
            } else {
                "ctx"
            };
            DiffLine {
                kind,
                text: l.to_string(),
            }
        })
        .collect()
}

pub(crate) fn text_diff(theirs: &str, yours: &str) -> String {
    casebook_engine::unified_diff(theirs, yours, "their version", "your version")
}

pub(crate) use casebook_core::escape_html as escape;
