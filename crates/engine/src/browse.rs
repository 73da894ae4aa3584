//! Browsing what is in the wiki: folders, pages with a tag, and every tag. (Typed pages are
//! browsed as records in `records.rs`.)

use crate::Engine;
use casebook_core::{FolderPath, ReadScope, Timestamp};
use serde::Serialize;
use std::collections::HashMap;

/// A page in a list.
#[derive(Debug, Clone, Serialize)]
pub struct PageEntry {
    pub path: String,
    pub title: String,
    pub updated: Option<Timestamp>,
    pub tags: Vec<String>,
}

/// What is inside a folder.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Listing {
    pub folders: Vec<FolderEntry>,
    pub pages: Vec<PageEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FolderEntry {
    pub path: String,
    pub name: String,
    pub pages: usize,
}

impl Engine {
    /// Pages below `folder` (all of them for the root), optionally only those with `tag`.
    pub fn list_pages(
        &self,
        folder: &FolderPath,
        tag: Option<&str>,
        scope: &ReadScope,
    ) -> Vec<PageEntry> {
        let snap = self.snapshot();
        let tag = tag.map(str::to_lowercase);
        snap.pages
            .iter()
            .filter(|(p, _)| folder.contains(p) && scope.sees(p))
            .filter(|(_, m)| match &tag {
                Some(t) => m.tags.iter().any(|x| x.to_lowercase() == *t),
                None => true,
            })
            .map(|(p, m)| PageEntry {
                path: p.clone(),
                title: m.title.clone(),
                updated: snap.last_change.get(p).map(|c| c.date),
                tags: m.tags.clone(),
            })
            .collect()
    }

    /// The pages and sub-folders directly in `folder` that `scope` sees (a folder with nothing
    /// to see is not listed).
    pub fn listing(&self, folder: &FolderPath, scope: &ReadScope) -> Listing {
        let snap = self.snapshot();
        let mut out = Listing::default();
        let mut folders: std::collections::BTreeMap<String, usize> = Default::default();
        let prefix = if folder.is_root() { String::new() } else { format!("{}/", folder.as_str()) };
        for (p, m) in snap.pages.range(prefix.clone()..) {
            let Some(rest) = p.strip_prefix(&prefix) else {
                break;
            };
            if !scope.sees(p) {
                continue;
            }
            match rest.split_once('/') {
                Some((sub, _)) => *folders.entry(sub.to_string()).or_default() += 1,
                None => out.pages.push(PageEntry {
                    path: p.clone(),
                    title: m.title.clone(),
                    updated: snap.last_change.get(p).map(|c| c.date),
                    tags: m.tags.clone(),
                }),
            }
        }
        out.folders = folders
            .into_iter()
            .map(|(name, pages)| FolderEntry { path: folder.join(&name), name, pages })
            .collect();
        out.pages.sort_by_key(|a| a.title.to_lowercase());
        out
    }

    /// Number of pages in the wiki that `scope` sees.
    pub fn page_count(&self, scope: &ReadScope) -> usize {
        let snap = self.snapshot();
        if scope.is_everything() {
            snap.pages.len()
        } else {
            snap.pages.keys().filter(|p| scope.sees(p)).count()
        }
    }

    /// Every tag with the number of pages `scope` sees carrying it, most used first.
    pub fn tags(&self, scope: &ReadScope) -> Vec<(String, usize)> {
        let snap = self.snapshot();
        let mut counts: HashMap<String, (String, usize)> = HashMap::new();
        for (_, m) in snap.pages.iter().filter(|(p, _)| scope.sees(p)) {
            for t in &m.tags {
                let e = counts.entry(t.to_lowercase()).or_insert_with(|| (t.clone(), 0));
                e.1 += 1;
            }
        }
        let mut out: Vec<(String, usize)> = counts.into_values().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase())));
        out
    }
}
