//! Small view models the templates see: plain data, already formatted.

use crate::http::encode;
use casebook_core::{FolderPath, PagePath};
use casebook_engine::{CommitInfo, FieldKind, FrontMatter, PageType, display_value};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct Crumb {
    pub name: String,
    pub url: String,
}

/// "Pages › sales › playbooks" for a page in `sales/playbooks`.
pub(crate) fn crumbs(folder: &FolderPath) -> Vec<Crumb> {
    let mut out = vec![Crumb { name: "Pages".into(), url: "/browse".into() }];
    for f in folder.ancestors() {
        out.push(Crumb { name: f.name().to_string(), url: format!("/wiki/{}/", f.url_encoded()) });
    }
    out
}

/// What every page about one page shows at its top: its address, title and folder crumbs.
pub(crate) fn page_head(path: &PagePath, title: impl Serialize) -> minijinja::Value {
    minijinja::context! {
        path => path.as_str(),
        url => path.url_encoded(),
        title => title,
        crumbs => crumbs(&path.folder()),
    }
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
            DiffLine { kind, text: l.to_string() }
        })
        .collect()
}

pub(crate) use casebook_core::escape_html as escape;

/// `1234567` with the currency: `EUR 1,234,567`.
pub(crate) fn money(n: f64, currency: Option<String>) -> String {
    let whole = n.round() as i64;
    let digits = whole.abs().to_string();
    let mut grouped = String::new();
    if whole < 0 {
        grouped.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match currency {
        Some(c) => format!("{c} {grouped}"),
        None => grouped,
    }
}

/// A typed field's value as a person reads it: money grouped and with the page's currency.
pub(crate) fn show_value(t: &PageType, key: &str, fm: &FrontMatter) -> Option<String> {
    let v = fm.get(key)?;
    let f = t.field(key);
    let text = match f {
        Some(f) if f.kind == FieldKind::Money => match f.number_of(v) {
            Some(n) => money(n, fm.text("currency")),
            None => display_value(v),
        },
        _ => display_value(v),
    };
    Some(text).filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_groups_thousands() {
        assert_eq!(super::money(1234567.0, Some("EUR".into())), "EUR 1,234,567");
        assert_eq!(super::money(950.0, None), "950");
        assert_eq!(super::money(-1500.0, None), "-1,500");
    }
}
