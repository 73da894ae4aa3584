//! The history of pages and of the wiki, as one reader may see it: a page's commits, diffs
//! between revisions, recent changes, where a moved page went, and what one person did.

use crate::Engine;
use crate::browse::PageEntry;
use crate::discussions::{Thread, page_of_file};
use casebook_core::{Error, PagePath, ReadScope, Result, Revision};
use casebook_store::CommitInfo;
use std::sync::Arc;

/// A page's history as one reader may see it.
#[derive(Debug, Clone)]
pub struct History {
    /// Newest first.
    pub entries: Vec<CommitInfo>,
    /// How many older commits (within the limit asked for) are from before the page came into
    /// a folder the reader sees: shown as one neutral line, never listed.
    pub hidden_earlier: usize,
}

/// What one person did in the wiki, for their page.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Pages whose last change is theirs, newest first.
    pub pages: Vec<PageEntry>,
    /// Threads they started, most recently active first.
    pub threads: Vec<Arc<Thread>>,
    /// Their comments (thread, comment id), newest first.
    pub comments: Vec<(Arc<Thread>, String)>,
    /// Threads where they are mentioned, most recently active first.
    pub mentioned_in: Vec<Arc<Thread>>,
}

impl Engine {
    /// Commits that changed the page, newest first (following renames), as `scope` may see
    /// them: the commits from before the page came into a folder the reader sees are left out
    /// and counted in `hidden_earlier`, the move that brought it into view does not name where
    /// it came from, and a commit that also changed files the reader may not see is shown with
    /// a neutral message (one tree diff per commit listed, for such readers only).
    pub fn history(&self, path: &PagePath, limit: usize, scope: &ReadScope) -> Result<History> {
        if !scope.sees(path.as_str()) {
            return Err(Error::not_found(format!("there is no page {path}")));
        }
        let mut entries = self.inner.store.file_history(&path.file(), limit)?;
        if scope.is_everything() {
            return Ok(History { entries, hidden_earlier: 0 });
        }
        let hidden = |c: &CommitInfo| c.paths.first().is_some_and(|p| !scope.sees(p));
        let kept = entries.iter().position(hidden).unwrap_or(entries.len());
        let hidden_earlier = entries.len() - kept;
        entries.truncate(kept);
        for c in &mut entries {
            if c.paths.get(1).is_some_and(|old| !scope.sees(old)) {
                c.paths.truncate(1);
                c.summary = "Moved here from a folder you cannot read".to_string();
            } else if !scope
                .sees_all(self.inner.store.changed_files(&c.revision)?.iter().map(String::as_str))
            {
                // The commit also changed files the reader may not see, which its message
                // may name (a move into a hidden folder, say): as recent changes show it.
                c.summary = "Changed this page (and files in folders you cannot read)".to_string();
            }
        }
        Ok(History { entries, hidden_earlier })
    }

    /// Unified diff of the page between two revisions (the page absent at one is an empty text).
    pub fn diff(&self, path: &PagePath, from: &Revision, to: &Revision) -> Result<String> {
        let from = self.inner.store.resolve(from)?;
        let to = self.inner.store.resolve(to)?;
        let text = |rev: &Revision| -> Result<String> {
            Ok(match self.inner.store.blob_at(rev, &path.file())? {
                Some(b) => self.page_text(path, b)?,
                None => String::new(),
            })
        };
        let (a, b) = (text(&from)?, text(&to)?);
        let file = path.file();
        Ok(casebook_store::unified_diff(&a, &b, &file, &file))
    }

    /// The newest commits of the wiki, as `scope` may see them (see [`Engine::changes_in`]).
    pub fn changes(&self, limit: usize, skip: usize, scope: &ReadScope) -> Result<Vec<CommitInfo>> {
        self.changes_in("", None, limit, skip, scope)
    }

    /// Recent commits that touched `folder` (a page path works too; the root is `""`) and, if
    /// given, are by `author` (a name, without regard to case); looks back at most 2,000
    /// commits when filtering. Commits are shown as `scope` may see them: one that changed only
    /// files it does not see is left out, and one that changed some of them lists only the
    /// others and has its message (which may name them) replaced.
    pub fn changes_in(
        &self,
        folder: &str,
        author: Option<&str>,
        limit: usize,
        skip: usize,
        scope: &ReadScope,
    ) -> Result<Vec<CommitInfo>> {
        let limit = limit.clamp(1, 500);
        let folder = folder.trim_matches('/');
        let author = author.map(str::to_lowercase).filter(|a| !a.is_empty());
        let touches = |c: &CommitInfo| {
            folder.is_empty()
                || c.paths.iter().any(|p| {
                    // A discussion's files count as its page's.
                    let page = page_of_file(p).unwrap_or(p);
                    page == folder || page.starts_with(&format!("{folder}/"))
                })
        };
        let by =
            |c: &CommitInfo| author.as_ref().is_none_or(|a| c.author.name.to_lowercase() == *a);
        if folder.is_empty() && author.is_none() && scope.is_everything() {
            return self.inner.store.log(limit, skip);
        }
        let visible = |c: CommitInfo| -> Option<CommitInfo> {
            if scope.sees_all(c.paths.iter().map(String::as_str)) {
                return Some(c);
            }
            let paths: Vec<String> = c.paths.into_iter().filter(|p| scope.sees(p)).collect();
            (!paths.is_empty()).then(|| CommitInfo {
                summary: format!(
                    "Changed {} {} (and files in folders you cannot read)",
                    paths.len(),
                    if paths.len() == 1 { "file" } else { "files" }
                ),
                paths,
                ..c
            })
        };
        let mut out = Vec::new();
        let mut skipped = 0;
        let mut offset = 0;
        const SCAN: usize = 2000;
        while offset < SCAN && out.len() < limit {
            let batch = self.inner.store.log(100, offset)?;
            if batch.is_empty() {
                break;
            }
            offset += batch.len();
            for c in batch {
                let Some(c) = visible(c) else { continue };
                if touches(&c) && by(&c) {
                    if skipped < skip {
                        skipped += 1;
                    } else if out.len() < limit {
                        out.push(c);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Where a page that no longer exists went, if it was moved (following several moves).
    pub fn moved_to(&self, path: &PagePath) -> Option<PagePath> {
        let mut current = path.file();
        for _ in 0..5 {
            let next = self.inner.store.renamed_to(&current).ok()??;
            let page = PagePath::from_file(&next)?;
            if self.exists(&page, &ReadScope::everything()) {
                return Some(page);
            }
            current = next;
        }
        None
    }

    /// What `name` (a git author name or account name, compared without regard to case) wrote:
    /// pages, threads and comments, where `scope` sees them. At most `limit` of each.
    pub fn activity(&self, name: &str, limit: usize, scope: &ReadScope) -> Result<Activity> {
        let is = |n: &str| n.eq_ignore_ascii_case(name.trim());
        let mut out = Activity::default();
        {
            let snap = self.snapshot();
            let mut pages: Vec<PageEntry> = snap
                .last_change
                .iter()
                .filter(|(p, c)| is(&c.author.name) && scope.sees(p))
                .filter_map(|(p, c)| {
                    let m = snap.pages.get(p)?;
                    Some(PageEntry {
                        path: p.clone(),
                        title: m.title.clone(),
                        updated: Some(c.date),
                        tags: m.tags.clone(),
                    })
                })
                .collect();
            pages.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.path.cmp(&b.path)));
            pages.truncate(limit);
            out.pages = pages;
        }
        let mut comments = Vec::new();
        for t in self.all_threads(None, usize::MAX, scope)? {
            if is(&t.author.name) && out.threads.len() < limit {
                out.threads.push(t.clone());
            }
            if out.mentioned_in.len() < limit
                && t.comments.iter().any(|c| c.mentions.iter().any(|m| is(m)))
            {
                out.mentioned_in.push(t.clone());
            }
            for c in t.comments.iter().filter(|c| is(&c.author.name)) {
                comments.push((c.date, t.clone(), c.id.clone()));
            }
        }
        comments.sort_by_key(|c| std::cmp::Reverse(c.0));
        out.comments = comments.into_iter().take(limit).map(|(_, t, c)| (t, c)).collect();
        Ok(out)
    }
}
