//! The wiki's link prefixes (`.casebook/links.toml`): site-absolute links of imported static
//! sites mapped to wiki folders. The file lives in the content repository, so the mapping
//! travels with the pages; the engine reads it per head.

use crate::Engine;
use casebook_core::{Error, Result};
use casebook_markdown::LinkPrefixes;
use casebook_store::FileDelta;
use std::collections::BTreeMap;

/// Where the link prefixes are kept in the content repository.
pub const LINKS_FILE: &str = ".casebook/links.toml";

#[derive(serde::Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
struct LinksFile {
    /// Site prefix → wiki folder.
    #[serde(default)]
    prefixes: BTreeMap<String, String>,
}

/// Reads the file's text.
pub fn parse(text: &str) -> Result<LinkPrefixes> {
    let file: LinksFile = toml::from_str(text)
        .map_err(|e| Error::invalid(format!("{LINKS_FILE} cannot be read: {}", e.message())))?;
    LinkPrefixes::new(file.prefixes).map_err(|e| Error::invalid(format!("{LINKS_FILE}: {e}")))
}

/// The file's text for these prefixes.
pub fn to_text(prefixes: &LinkPrefixes) -> String {
    let file = LinksFile { prefixes: prefixes.pairs().collect() };
    let body = toml::to_string(&file).unwrap_or_default();
    format!(
        "# Site-absolute link prefixes of imported pages and the wiki folders they stand for:\n\
         # a link to \"/prefix/a/b/\" is looked up as a page under the folder.\n{body}"
    )
}

impl Engine {
    /// The link prefixes in force at the head.
    pub fn link_prefixes(&self) -> LinkPrefixes {
        self.snapshot().link_prefixes.clone()
    }

    /// Reads the prefixes from the blob of [`LINKS_FILE`] (none when absent). A file that cannot
    /// be read counts as no prefixes, with a warning: content must never stop the wiki.
    pub(crate) fn read_link_prefixes(&self, blob: Option<casebook_store::BlobId>) -> LinkPrefixes {
        let Some(blob) = blob else {
            return LinkPrefixes::default();
        };
        let text = match self.inner.store.blob(blob, self.inner.opts.max_page_bytes) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read {LINKS_FILE}");
                return LinkPrefixes::default();
            }
        };
        parse(&text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "link prefixes ignored");
            LinkPrefixes::default()
        })
    }

    /// After a commit changed [`LINKS_FILE`]: takes the new prefixes into the snapshot (which
    /// makes cached renderings stale) and returns index updates for the pages whose links may
    /// resolve differently now (those mentioning an old or a new prefix), apart from the pages
    /// the commit changed anyway.
    pub(crate) fn apply_link_prefixes(&self, deltas: &[FileDelta]) -> Vec<FileDelta> {
        let Some(d) = deltas.iter().find(|d| d.path == LINKS_FILE) else {
            return Vec::new();
        };
        let new = self.read_link_prefixes(d.new);
        let (old, pages) = {
            let snap = self.snapshot();
            if snap.link_prefixes == new {
                return Vec::new();
            }
            let touched: std::collections::HashSet<&str> =
                deltas.iter().map(|d| d.path.as_str()).collect();
            let pages: Vec<(String, casebook_store::BlobId)> = snap
                .pages
                .iter()
                .map(|(p, m)| (format!("{p}.md"), m.blob))
                .filter(|(f, _)| !touched.contains(f.as_str()))
                .collect();
            (snap.link_prefixes.clone(), pages)
        };
        let needles: Vec<String> = old
            .pairs()
            .chain(new.pairs())
            .map(|(from, _)| from.trim_end_matches('/').to_string())
            .collect();
        let mut extra = Vec::new();
        for (file, blob) in pages {
            let Ok(bytes) = self.inner.store.blob(blob, self.inner.opts.max_page_bytes) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            if needles.iter().any(|n| text.contains(n.as_str())) {
                extra.push(FileDelta { path: file, old: Some(blob), new: Some(blob) });
            }
        }
        {
            let mut snap = self.inner.snap.write().unwrap_or_else(|e| e.into_inner());
            snap.link_prefixes = new;
            snap.generation += 1;
        }
        tracing::info!(
            pages = extra.len(),
            "link prefixes changed; re-indexing the pages that use them"
        );
        extra
    }
}

/// Reads `--map-links FROM=TO` values given on the command line.
pub fn parse_pairs(values: &[String]) -> Result<LinkPrefixes> {
    let pairs = values
        .iter()
        .map(|v| LinkPrefixes::parse_pair(v))
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(Error::invalid)?;
    LinkPrefixes::new(pairs).map_err(Error::invalid)
}
