//! What the engine learned of the pages at the last stop, kept in the data dir so the next
//! start need not learn it again: each page's title, tags, type and fields (by its path and
//! blob, so an entry is right exactly when the page's blob is still the one it was read from),
//! and who changed each page last (right for the revision it was taken at; the commits since
//! are walked on top). Without it, a start reads every page and walks hundreds of commits, each
//! compared with its parent: seconds to minutes for a wiki of 100,000 pages. A missing,
//! damaged or old file is only slower: the start reads everything, as the first one does.

use crate::state::PageMeta;
use casebook_core::{Author, Revision, Timestamp};
use casebook_store::{BlobId, CommitInfo};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FILE: &str = "start-cache.json";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    head: String,
    pages: Vec<Page>,
    commits: Vec<Commit>,
}

#[derive(Serialize, Deserialize)]
struct Page {
    path: String,
    blob: String,
    title: String,
    tags: Vec<String>,
    page_type: Option<String>,
    fields: serde_json::Map<String, serde_json::Value>,
    too_large: Option<u64>,
    /// The page's last change: its position in `commits`.
    changed: Option<usize>,
}

#[derive(Serialize, Deserialize)]
struct Commit {
    revision: String,
    name: String,
    email: String,
    seconds: i64,
    offset_minutes: i32,
    summary: String,
}

/// What a start found in the file.
pub(crate) struct StartCache {
    pub head: Revision,
    pub metas: HashMap<String, PageMeta>,
    pub last_change: HashMap<String, Arc<CommitInfo>>,
}

fn path_in(data: &Path) -> PathBuf {
    data.join(FILE)
}

/// Reads the file in `data`; `None` when there is none or it cannot be used.
pub(crate) fn load(data: &Path) -> Option<StartCache> {
    let bytes = std::fs::read(path_in(data)).ok()?;
    let file: File = match serde_json::from_slice(&bytes) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "the start cache cannot be read; reading every page instead");
            return None;
        }
    };
    if file.version != VERSION {
        return None;
    }
    let commits: Vec<Arc<CommitInfo>> = file
        .commits
        .into_iter()
        .map(|c| {
            Arc::new(CommitInfo {
                revision: Revision::from_git(c.revision),
                author: Author::new(&c.name, &c.email),
                date: Timestamp::new(c.seconds, c.offset_minutes),
                summary: c.summary,
                paths: Vec::new(),
            })
        })
        .collect();
    let mut metas = HashMap::with_capacity(file.pages.len());
    let mut last_change = HashMap::new();
    for p in file.pages {
        let Some(blob) = BlobId::from_hex(&p.blob) else { continue };
        if let Some(c) = p.changed.and_then(|i| commits.get(i)) {
            last_change.insert(p.path.clone(), c.clone());
        }
        metas.insert(
            p.path,
            PageMeta {
                blob,
                title: p.title,
                tags: p.tags,
                page_type: p.page_type,
                fields: Arc::new(casebook_markdown::FrontMatter(p.fields)),
                too_large: p.too_large,
            },
        );
    }
    Some(StartCache { head: Revision::from_git(file.head), metas, last_change })
}

/// Writes the pages of `snap` to the file in `data` (a new file renamed over the old one).
pub(crate) fn save(data: &Path, snap: &crate::state::Snapshot) -> std::io::Result<()> {
    let Some(head) = &snap.head else { return Ok(()) };
    let mut commits = Vec::new();
    let mut positions: HashMap<*const CommitInfo, usize> = HashMap::new();
    let pages = snap
        .pages
        .iter()
        .map(|(path, m)| {
            let changed = snap.last_change.get(path).map(|c| {
                *positions.entry(Arc::as_ptr(c)).or_insert_with(|| {
                    commits.push(Commit {
                        revision: c.revision.as_str().to_string(),
                        name: c.author.name.clone(),
                        email: c.author.email.clone(),
                        seconds: c.date.seconds,
                        offset_minutes: c.date.offset_minutes,
                        summary: c.summary.clone(),
                    });
                    commits.len() - 1
                })
            });
            Page {
                path: path.clone(),
                blob: m.blob.hex(),
                title: m.title.clone(),
                tags: m.tags.clone(),
                page_type: m.page_type.clone(),
                fields: m.fields.0.clone(),
                too_large: m.too_large,
                changed,
            }
        })
        .collect();
    let file = File { version: VERSION, head: head.as_str().to_string(), pages, commits };
    let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
    let target = path_in(data);
    let temporary = data.join(format!("{FILE}.tmp"));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, target)
}
