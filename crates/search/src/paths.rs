//! Documents' paths by segment, for answers that name many documents (backlinks, related
//! pages). The path column's dictionary is read once per segment into one string and its
//! ends; a path is then a slice, where a lookup in the column's dictionary scans a block of it.
//! Segments never change, so a segment's table holds until a merge replaces the segment.

use crate::ix_err;
use casebook_core::Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tantivy::columnar::StrColumn;
use tantivy::index::SegmentId;
use tantivy::{DocAddress, Searcher};

/// Every path of one segment, in the column's order, with the column that maps a document to
/// its path's ordinal.
pub(crate) struct SegmentPaths {
    column: StrColumn,
    text: String,
    ends: Vec<u32>,
}

impl SegmentPaths {
    fn read(column: StrColumn) -> Result<SegmentPaths> {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(column.num_terms());
        let mut terms =
            column.dictionary().stream().map_err(|e| ix_err("cannot read the paths")(e.into()))?;
        while terms.advance() {
            text.push_str(&String::from_utf8_lossy(terms.key()));
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        Ok(SegmentPaths { column, text, ends })
    }

    /// The path of document `doc` of the segment.
    pub(crate) fn of(&self, doc: tantivy::DocId) -> Option<&str> {
        let ord = usize::try_from(self.column.term_ords(doc).next()?).ok()?;
        let end = *self.ends.get(ord)? as usize;
        let start = if ord == 0 { 0 } else { self.ends[ord - 1] as usize };
        self.text.get(start..end)
    }

    fn bytes(&self) -> usize {
        self.text.len() + self.ends.len() * 4
    }
}

/// The tables of the segments read so far.
#[derive(Default)]
pub(crate) struct PathTables {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentPaths>>>,
}

impl PathTables {
    /// The table of the segment `segment_ord` of `searcher` (`None` when it has no path column,
    /// as an empty segment has not).
    pub(crate) fn segment(
        &self,
        searcher: &Searcher,
        segment_ord: u32,
    ) -> Result<Option<Arc<SegmentPaths>>> {
        let reader = searcher.segment_reader(segment_ord);
        let id = reader.segment_id();
        if let Some(found) = self.lock().get(&id) {
            return Ok(Some(found.clone()));
        }
        let Some(column) =
            reader.fast_fields().str("path").map_err(ix_err("cannot read the paths"))?
        else {
            return Ok(None);
        };
        let table = Arc::new(SegmentPaths::read(column)?);
        let mut segments = self.lock();
        // Tables of segments merged away since are dropped as new ones come.
        let live: std::collections::HashSet<SegmentId> =
            searcher.segment_readers().iter().map(|r| r.segment_id()).collect();
        segments.retain(|id, _| live.contains(id));
        segments.insert(id, table.clone());
        tracing::trace!(bytes = segments.values().map(|t| t.bytes()).sum::<usize>(), "path tables");
        Ok(Some(table))
    }

    /// A reader of the paths of `searcher`'s documents.
    pub(crate) fn reader<'s>(&'s self, searcher: &'s Searcher) -> PathReader<'s> {
        PathReader { tables: self, searcher, open: HashMap::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<SegmentPaths>>> {
        self.segments.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Paths of one searcher's documents, each segment's table fetched once.
pub(crate) struct PathReader<'s> {
    tables: &'s PathTables,
    searcher: &'s Searcher,
    open: HashMap<u32, Option<Arc<SegmentPaths>>>,
}

impl PathReader<'_> {
    /// The path of the document at `addr`.
    pub(crate) fn of(&mut self, addr: DocAddress) -> Result<Option<String>> {
        let table = match self.open.entry(addr.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.tables.segment(self.searcher, addr.segment_ord)?)
            }
        };
        Ok(table.as_ref().and_then(|t| t.of(addr.doc_id)).map(String::from))
    }
}
