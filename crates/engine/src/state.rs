//! The engine's picture of the branch head: which files and pages exist, their titles, and who
//! changed each last. Kept in step with the repository by applying tree diffs, never by rescanning.

use casebook_core::Revision;
use casebook_markdown::Pages;
use casebook_store::{BlobId, CommitInfo};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// What the engine knows about one page without rendering it.
#[derive(Debug, Clone)]
pub struct PageMeta {
    pub blob: BlobId,
    pub title: String,
    pub tags: Vec<String>,
    pub page_type: Option<String>,
    /// The front matter, for typed records (case stories) and their filters.
    pub fields: Arc<casebook_markdown::FrontMatter>,
    /// The page's size when it is over the page limit (committed outside Casebook): it is
    /// then never read, so it has no title but its name, is not indexed, and is not shown.
    pub too_large: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub head: Option<Revision>,
    /// Every file of the head tree (pages, attachments, settings, discussions), sorted so a
    /// folder is a range.
    pub files: BTreeMap<String, BlobId>,
    /// Pages by path, sorted so a folder is a range.
    pub pages: BTreeMap<String, PageMeta>,
    /// Lowercased title or path → path, for links by title.
    pub by_name: HashMap<String, String>,
    /// The last commit that changed each page, when known.
    pub last_change: HashMap<String, Arc<CommitInfo>>,
    /// Bumped whenever a page appears or disappears: cached renderings that show links as
    /// present or missing are stale then.
    pub generation: u64,
    /// The discussions' files, by thread and by page.
    pub threads: crate::threads::ThreadIndex,
    /// The page types defined at the head (reread only when a type file changes).
    pub types: Arc<crate::types::TypeSet>,
    /// Lowercased tag → the pages carrying it, for related pages and tag pages.
    pub by_tag: HashMap<String, BTreeSet<String>>,
    /// Site-absolute link prefixes, from `.casebook/links.toml` at the head.
    pub link_prefixes: casebook_markdown::LinkPrefixes,
}

impl Snapshot {
    /// Notes a file of the head tree (added or changed).
    pub fn put_file(&mut self, path: &str, blob: BlobId) {
        if self.files.insert(path.to_string(), blob).is_none()
            && let Some(key) = crate::threads::parse_file(path)
        {
            self.threads.add(key);
        }
    }

    /// Forgets a file that left the head tree.
    pub fn remove_file(&mut self, path: &str) {
        if self.files.remove(path).is_some()
            && let Some(key) = crate::threads::parse_file(path)
        {
            self.threads.remove(&key);
        }
    }

    pub fn insert_page(&mut self, path: String, meta: PageMeta) {
        let new = !self.pages.contains_key(&path);
        if let Some(old) = self.pages.get(&path) {
            let old_title = old.title.to_lowercase();
            if self.by_name.get(&old_title) == Some(&path) {
                self.by_name.remove(&old_title);
            }
            let old_tags = old.tags.clone();
            self.untag(&path, &old_tags);
        }
        for t in &meta.tags {
            self.by_tag.entry(t.to_lowercase()).or_default().insert(path.clone());
        }
        self.by_name.entry(meta.title.to_lowercase()).or_insert_with(|| path.clone());
        self.by_name.insert(path.to_lowercase(), path.clone());
        self.pages.insert(path, meta);
        if new {
            self.generation += 1;
        }
    }

    pub fn remove_page(&mut self, path: &str) {
        if let Some(old) = self.pages.remove(path) {
            self.untag(path, &old.tags);
            let t = old.title.to_lowercase();
            if self.by_name.get(&t).map(String::as_str) == Some(path) {
                self.by_name.remove(&t);
            }
            let lp = path.to_lowercase();
            if self.by_name.get(&lp).map(String::as_str) == Some(path) {
                self.by_name.remove(&lp);
            }
            self.last_change.remove(path);
            self.generation += 1;
        }
    }
}

impl Snapshot {
    fn untag(&mut self, path: &str, tags: &[String]) {
        for t in tags {
            let key = t.to_lowercase();
            if let Some(set) = self.by_tag.get_mut(&key) {
                set.remove(path);
                if set.is_empty() {
                    self.by_tag.remove(&key);
                }
            }
        }
    }
}

impl Pages for Snapshot {
    fn exists(&self, path: &str) -> bool {
        self.pages.contains_key(path)
    }
    fn find(&self, name: &str) -> Option<String> {
        self.by_name.get(&name.to_lowercase()).cloned()
    }
    fn link_prefixes(&self) -> Option<&casebook_markdown::LinkPrefixes> {
        Some(&self.link_prefixes)
    }
}

/// The pages of a snapshot that a reader may see, for rendering links: a page in a folder closed
/// to the reader does not exist for them, and is not found by its title.
pub(crate) struct Visible<'a> {
    pub snap: &'a Snapshot,
    pub scope: &'a casebook_core::ReadScope,
}

impl Pages for Visible<'_> {
    fn exists(&self, path: &str) -> bool {
        self.scope.sees(path) && self.snap.exists(path)
    }
    fn find(&self, name: &str) -> Option<String> {
        self.snap.find(name).filter(|p| self.scope.sees(p))
    }
    fn link_prefixes(&self) -> Option<&casebook_markdown::LinkPrefixes> {
        self.snap.link_prefixes()
    }
}
