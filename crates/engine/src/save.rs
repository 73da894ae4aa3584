//! Saving a page: planned (read and merged three ways) without the writer, committed with it
//! only if the page is still as merged with; planned again when it changed meanwhile. A revert
//! is a save of an old text.

use crate::Engine;
use crate::read::too_large_page;
use crate::state::PageMeta;
use crate::sync::meta_of;
use crate::writer::default_message;
use casebook_core::{Author, Error, PagePath, ReadScope, Result, Revision};
use casebook_store::{BlobId, Change, CommitError, MERGE_LINES, MergeOutcome, Store};
use serde::Serialize;

/// A save request.
#[derive(Debug, Clone)]
pub struct Save<'a> {
    pub path: &'a PagePath,
    pub markdown: &'a str,
    pub message: &'a str,
    pub base: Option<&'a Revision>,
    pub author: &'a Author,
}

/// The result of a save.
#[derive(Debug, Clone, Serialize)]
pub enum SaveOutcome {
    Saved {
        path: PagePath,
        revision: Revision,
        /// True when the save was merged with edits made since its base revision.
        merged: bool,
        created: bool,
        /// True when the text was the same as the page's, so nothing was committed.
        unchanged: bool,
    },
    /// The edits could not be merged with edits made since the base revision; nothing was
    /// committed.
    Conflict {
        base: String,
        theirs: String,
        yours: String,
        /// The revision the page is at now, to base a new attempt on.
        current: Option<Revision>,
        /// Why the edits were not merged.
        reason: ConflictReason,
    },
}

/// Why a save's edits were not merged with the page as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConflictReason {
    /// Both changed the same lines, or lines next to each other.
    Overlap,
    /// The page was deleted since the base revision.
    Deleted,
    /// The edits overlap and span `lines` lines, more than a save merges (`limit`): the merge
    /// was not tried.
    TooLarge { lines: usize, limit: usize },
    /// The page changed again each time the save was merged with it.
    Busy,
}

impl ConflictReason {
    /// A short code for the reason, as the API reports it.
    pub fn code(&self) -> &'static str {
        match self {
            ConflictReason::Overlap => "overlap",
            ConflictReason::Deleted => "deleted",
            ConflictReason::TooLarge { .. } => "too_large",
            ConflictReason::Busy => "busy",
        }
    }
}

impl std::fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConflictReason::Overlap => {
                f.write_str("the page changed since your base revision and the edits overlap")
            }
            ConflictReason::Deleted => f.write_str("the page was deleted since your base revision"),
            ConflictReason::TooLarge { lines, limit } => write!(
                f,
                "the page changed since your base revision and the edits span {lines} lines, \
                 more than the {limit} a save merges automatically"
            ),
            ConflictReason::Busy => {
                f.write_str("the page kept changing while your edits were being merged with it")
            }
        }
    }
}

impl Engine {
    /// Saves a page: one commit, merged three ways if the page moved on since `base`.
    ///
    /// The page is read and merged without the writer, so a long merge holds up no other
    /// write; with the writer held, the save commits only if the page's blob at the head is
    /// still the one merged with (a commit meanwhile to another file does not matter: the
    /// commit is built on the head). If the page changed, the save is planned again, a few
    /// times; then once more with the writer held, merging only what costs a millisecond or two.
    pub fn save(&self, req: Save<'_>) -> Result<SaveOutcome> {
        if req.markdown.len() > self.inner.opts.max_page_bytes {
            return Err(Error::too_large(format!(
                "the page is {} bytes; the limit is {} bytes",
                req.markdown.len(),
                self.inner.opts.max_page_bytes
            )));
        }
        let file = req.path.file();
        let store = &self.inner.store;
        let max = self.inner.opts.max_page_bytes;
        let mut planned = None;
        for _ in 0..SAVE_PLANS {
            let head = store.head()?;
            let plan = plan_save(&req, &file, head.as_ref(), store, MERGE_LINES, max)?;
            let SavePlan::Write { against, text, merged } = plan else {
                // Nothing to write: the answer holds for this head, which the engine catches
                // up with, as it would have after taking the writer.
                self.sync()?;
                planned = Some((head, plan));
                break;
            };
            // The blob is written ahead, so the commit only finds it there, and the page's
            // title and type are worked out ahead for the engine to catch up with.
            let blob = store.write_blob(text.as_bytes())?;
            let prepared = Prepared::new(self, req.path, meta_of(blob, req.path, &text));
            let committed = self.with_writer(|w| {
                let now = match w.head()? {
                    Some(h) => w.blob_at(&h, &file)?,
                    None => None,
                };
                if now != against {
                    return Ok(None);
                }
                let rev = self.commit_page(w, &req, &file, &text, against.is_none())?;
                Ok(Some(rev))
            })?;
            drop(prepared);
            if let Some(rev) = committed {
                return Ok(SaveOutcome::Saved {
                    path: req.path.clone(),
                    revision: rev,
                    merged,
                    created: against.is_none(),
                    unchanged: false,
                });
            }
        }
        let (head, plan) = match planned {
            Some(done) => done,
            // The page kept changing: plan under the writer, so nothing can change it again.
            None => self.with_writer(|w| {
                let head = w.head()?;
                let plan =
                    match plan_save(&req, &file, head.as_ref(), &*w, LOCKED_MERGE_LINES, max)? {
                        SavePlan::Conflict {
                            base,
                            theirs,
                            reason: ConflictReason::TooLarge { lines, .. },
                        } if lines <= MERGE_LINES => {
                            SavePlan::Conflict { base, theirs, reason: ConflictReason::Busy }
                        }
                        SavePlan::Write { against, text, merged } => SavePlan::Committed {
                            rev: self.commit_page(w, &req, &file, &text, against.is_none())?,
                            merged,
                            created: against.is_none(),
                        },
                        other => other,
                    };
                Ok((head, plan))
            })?,
        };
        match plan {
            SavePlan::Committed { rev, merged, created } => Ok(SaveOutcome::Saved {
                path: req.path.clone(),
                revision: rev,
                merged,
                created,
                unchanged: false,
            }),
            SavePlan::Unchanged { merged } => Ok(SaveOutcome::Saved {
                path: req.path.clone(),
                revision: self
                    .last_change(req.path)
                    .map(|c| c.revision.clone())
                    .or_else(|| self.head())
                    .ok_or_else(|| Error::internal("no revision after save"))?,
                merged,
                created: false,
                unchanged: true,
            }),
            SavePlan::Conflict { base, theirs, reason } => Ok(SaveOutcome::Conflict {
                base,
                theirs,
                yours: req.markdown.to_string(),
                // A revision whose page is `theirs`: the commit that last changed it, or if
                // the head moved on since, the head it was read at.
                current: if self.head() == head {
                    self.last_change(req.path).map(|c| c.revision.clone())
                } else {
                    head
                },
                reason,
            }),
            SavePlan::Write { .. } => Err(Error::internal("a save planned and not written")),
        }
    }

    /// Commits `text` as the page of `req`, with the writer held.
    fn commit_page(
        &self,
        w: &mut casebook_store::Writer<'_>,
        req: &Save<'_>,
        file: &str,
        text: &str,
        created: bool,
    ) -> std::result::Result<Revision, CommitError> {
        let message =
            default_message(req.message, if created { "Create" } else { "Update" }, req.path);
        let change = Change::Put { path: file.to_string(), content: text.as_bytes().to_vec() };
        w.commit(&[change], req.author, &message)
    }

    /// Restores the page's text as it was at `rev`, as a new commit.
    pub fn revert(&self, path: &PagePath, rev: &Revision, author: &Author) -> Result<SaveOutcome> {
        let old = self.page(path, Some(rev), &ReadScope::everything())?;
        let message = format!(
            "Revert {path} to {}",
            old.revision.as_ref().map(|r| r.short()).unwrap_or(rev.short())
        );
        self.save(Save { path, markdown: &old.markdown, message: &message, base: None, author })
    }
}

/// Times a save is read and merged without the writer before it is planned with the writer
/// held (when the page keeps changing in between).
const SAVE_PLANS: usize = 3;

/// The most lines a save's merge may compare with the writer held (see [`MERGE_LINES`]): a
/// millisecond or two of work.
const LOCKED_MERGE_LINES: usize = 1_000;

/// What a save does, worked out from the page at one head.
enum SavePlan {
    /// Write `text` over the page whose blob at the head is `against` (`None`: no page).
    Write { against: Option<BlobId>, text: String, merged: bool },
    /// Written, with the writer held.
    Committed { rev: Revision, merged: bool, created: bool },
    /// The page has the text already.
    Unchanged { merged: bool },
    /// A person must decide.
    Conflict { base: String, theirs: String, reason: ConflictReason },
}

/// A page summary in `Inner::prepared`, there for as long as this lives.
struct Prepared<'a> {
    engine: &'a Engine,
    path: String,
    blob: BlobId,
}

impl<'a> Prepared<'a> {
    fn new(engine: &'a Engine, path: &PagePath, meta: PageMeta) -> Prepared<'a> {
        let mut prepared = engine.inner.prepared.lock().unwrap_or_else(|e| e.into_inner());
        let blob = meta.blob;
        prepared.push((path.as_str().to_string(), meta));
        Prepared { engine, path: path.as_str().to_string(), blob }
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        let mut prepared = self.engine.inner.prepared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = prepared.iter().position(|(p, m)| m.blob == self.blob && *p == self.path) {
            prepared.swap_remove(i);
        }
    }
}

/// Reads of the repository a save is planned with: the store's own (no writer held) or the
/// writer's.
trait Reads {
    fn blob_at(&self, at: &Revision, file: &str) -> Result<Option<BlobId>>;
    /// A blob's content, refused (`TooLarge`) from its header when over `max` bytes.
    fn blob(&self, id: BlobId, max: usize) -> Result<Vec<u8>>;
}

impl Reads for Store {
    fn blob_at(&self, at: &Revision, file: &str) -> Result<Option<BlobId>> {
        Store::blob_at(self, at, file)
    }
    fn blob(&self, id: BlobId, max: usize) -> Result<Vec<u8>> {
        Store::blob(self, id, max)
    }
}

impl Reads for casebook_store::Writer<'_> {
    fn blob_at(&self, at: &Revision, file: &str) -> Result<Option<BlobId>> {
        casebook_store::Writer::blob_at(self, at, file)
    }
    fn blob(&self, id: BlobId, max: usize) -> Result<Vec<u8>> {
        casebook_store::Writer::blob(self, id, max)
    }
}

/// Plans the save `req` of `file` on `head`: the text to write (yours, or yours merged with
/// the page as it is when it changed since the base), or why not. Merges compare at most
/// `merge_lines` lines. Texts are compared by their blobs and read only to be merged, under the
/// page limit `max`: a page at the head that came from outside over the limit is replaced
/// without being read.
fn plan_save(
    req: &Save<'_>,
    file: &str,
    head: Option<&Revision>,
    read: &dyn Reads,
    merge_lines: usize,
    max: usize,
) -> Result<SavePlan> {
    let against = match head {
        Some(h) => read.blob_at(h, file)?,
        None => None,
    };
    let text_of = |id: BlobId| -> Result<String> {
        match read.blob(id, max) {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(e) if e.kind == casebook_core::ErrorKind::TooLarge => {
                Err(too_large_page(req.path, e))
            }
            Err(e) => Err(e),
        }
    };
    let mut merged = false;
    let text = match req.base {
        None => req.markdown.to_string(),
        Some(base) => {
            let base_blob = read.blob_at(base, file).map_err(|e| {
                Error::invalid(format!("the base revision is not in this wiki ({})", e.message))
            })?;
            if base_blob == against {
                req.markdown.to_string()
            } else {
                let base = base_blob.map(text_of).transpose()?.unwrap_or_default();
                let Some(current) = against else {
                    // Deleted since the editor opened: a person must decide.
                    return Ok(SavePlan::Conflict {
                        base,
                        theirs: String::new(),
                        reason: ConflictReason::Deleted,
                    });
                };
                let theirs = text_of(current)?;
                match casebook_store::merge3_within(&base, &theirs, req.markdown, merge_lines) {
                    MergeOutcome::Clean(m) => {
                        merged = true;
                        m
                    }
                    MergeOutcome::Conflict => {
                        if let Some(m) = merge_by_field(&base, &theirs, req.markdown, merge_lines) {
                            merged = true;
                            m
                        } else {
                            return Ok(SavePlan::Conflict {
                                base,
                                theirs,
                                reason: ConflictReason::Overlap,
                            });
                        }
                    }
                    MergeOutcome::TooLarge { lines, limit } => {
                        return Ok(SavePlan::Conflict {
                            base,
                            theirs,
                            reason: ConflictReason::TooLarge { lines, limit },
                        });
                    }
                }
            }
        }
    };
    if text.len() > max {
        // Two edits, each within the limit, can merge into a page over it.
        return Err(Error::too_large(format!(
            "merged with the changes saved since your base revision, the page would be {} bytes; \
             the limit is {max} bytes",
            text.len()
        )));
    }
    if against == Some(BlobId::of(text.as_bytes())) {
        return Ok(SavePlan::Unchanged { merged });
    }
    Ok(SavePlan::Write { against, text, merged })
}

/// Merges three texts with front matter part by part when their lines overlap: the front
/// matter key by key (two people changing neighbouring fields of a typed page both win) and
/// the bodies line by line. `None` when either part needs a person, or a text has no front
/// matter.
fn merge_by_field(base: &str, theirs: &str, yours: &str, merge_lines: usize) -> Option<String> {
    use casebook_markdown::{front_matter_parts, merge_front_matter};
    let (b, t, y) =
        (front_matter_parts(base)?, front_matter_parts(theirs)?, front_matter_parts(yours)?);
    if (b.0, b.2) != (t.0, t.2) || (b.0, b.2) != (y.0, y.2) {
        return None;
    }
    let block = merge_front_matter(b.1, t.1, y.1)?;
    let MergeOutcome::Clean(body) = casebook_store::merge3_within(b.3, t.3, y.3, merge_lines)
    else {
        return None;
    };
    Some(format!("{}{block}{}{body}", t.0, t.2))
}
