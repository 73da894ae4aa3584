//! The discussion files of the repository as the engine's snapshot keeps them: where they live,
//! how a path reads as one, and which threads (and files) each page has. Discussions
//! (`discussions.rs`) reads and writes the files; the snapshot (`state.rs`) keeps the index.

use casebook_core::{PagePath, is_discussion_id as is_id};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where discussions live in the repository.
pub const ROOT: &str = ".casebook/discussions/";

/// What a discussion file of the repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileKey {
    pub page: String,
    pub thread: String,
    /// `None` for `thread.md`, else the comment id.
    pub comment: Option<String>,
}

/// Reads a repository path as a discussion file (`None` for anything else).
pub(crate) fn parse_file(path: &str) -> Option<FileKey> {
    let rest = path.strip_prefix(ROOT)?.strip_suffix(".md")?;
    let (dir, name) = rest.rsplit_once('/')?;
    let (page, thread) = dir.rsplit_once('/')?;
    if !is_id(thread) || PagePath::parse(page).is_err() {
        return None;
    }
    let comment = match name {
        "thread" => None,
        c if is_id(c) => Some(c.to_string()),
        _ => return None,
    };
    Some(FileKey { page: page.to_string(), thread: thread.to_string(), comment })
}

/// The folder of a thread in the repository.
pub(crate) fn thread_dir(page: &str, thread: &str) -> String {
    format!("{ROOT}{page}/{thread}/")
}

/// Which threads exist, by page, and the files of each: kept in the engine's snapshot, moved
/// forward with every change of the head like the rest of it.
#[derive(Debug, Default)]
pub(crate) struct ThreadIndex {
    /// Thread id → page and comment ids (sorted, so oldest first).
    pub threads: HashMap<String, ThreadFiles>,
    /// Page → its thread ids, oldest first.
    pub by_page: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Default)]
pub(crate) struct ThreadFiles {
    pub page: String,
    pub has_head: bool,
    pub comments: BTreeSet<String>,
}

impl ThreadIndex {
    pub fn add(&mut self, key: FileKey) {
        let t = self.threads.entry(key.thread.clone()).or_default();
        if t.page != key.page && !t.page.is_empty() {
            // The same id under another page (a copy made by hand): the newest file wins.
            if let Some(set) = self.by_page.get_mut(&t.page) {
                set.remove(&key.thread);
            }
            *t = ThreadFiles::default();
        }
        t.page = key.page.clone();
        match key.comment {
            None => t.has_head = true,
            Some(c) => {
                t.comments.insert(c);
            }
        }
        self.by_page.entry(key.page).or_default().insert(key.thread);
    }

    pub fn remove(&mut self, key: &FileKey) {
        let Some(t) = self.threads.get_mut(&key.thread) else {
            return;
        };
        if t.page != key.page {
            return;
        }
        match &key.comment {
            None => t.has_head = false,
            Some(c) => {
                t.comments.remove(c);
            }
        }
        if !t.has_head && t.comments.is_empty() {
            self.threads.remove(&key.thread);
            if let Some(set) = self.by_page.get_mut(&key.page) {
                set.remove(&key.thread);
                if set.is_empty() {
                    self.by_page.remove(&key.page);
                }
            }
        }
    }

    /// Every file of the page's threads.
    pub fn files_of_page(&self, page: &str) -> Vec<String> {
        let mut out = Vec::new();
        for id in self.by_page.get(page).into_iter().flatten() {
            if let Some(t) = self.threads.get(id) {
                let dir = thread_dir(page, id);
                if t.has_head {
                    out.push(format!("{dir}thread.md"));
                }
                out.extend(t.comments.iter().map(|c| format!("{dir}{c}.md")));
            }
        }
        out
    }
}
