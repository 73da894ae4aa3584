//! `casebook import`: a folder of markdown (and other files) becomes one commit.

use crate::{Engine, Progress};
use casebook_core::{Author, Error, FolderPath, PagePath, Result, Revision};
use casebook_markdown::LinkPrefixes;
use casebook_store::Change;
use serde::Serialize;
use std::path::Path;

/// Largest attachment imported.
const MAX_ATTACHMENT: u64 = 50 * 1024 * 1024;

/// What an import did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportReport {
    pub pages: usize,
    pub attachments: usize,
    /// Files left out, with the reason.
    pub skipped: Vec<(String, String)>,
    pub revision: Option<Revision>,
}

impl Engine {
    /// Copies every file below `src` into the wiki under `prefix` as one commit by `author`.
    /// Hidden files and folders (`.git`, `.github`) and symbolic links are left out, and so is
    /// any file whose name is not a valid page path or that is too large; the report lists them.
    ///
    /// `links` are added to the wiki's link prefixes (`.casebook/links.toml`) in the same commit,
    /// so that the imported pages' site-absolute links (`/handbook/sales/`) resolve to the
    /// imported pages; a prefix the wiki maps already takes the new folder. Pass
    /// `LinkPrefixes::default()` for none.
    pub fn import(
        &self,
        src: &Path,
        prefix: &FolderPath,
        message: &str,
        author: &Author,
        progress: Option<&Progress>,
        links: &LinkPrefixes,
    ) -> Result<ImportReport> {
        if !src.is_dir() {
            return Err(Error::invalid(format!("{} is not a folder", src.display())));
        }
        let mut files = Vec::new();
        let mut report = ImportReport::default();
        collect(src, "", &mut files, &mut report)?;
        files.sort();
        let total = files.len() as u64;
        let mut changes = Vec::with_capacity(files.len());
        for (i, rel) in files.iter().enumerate() {
            if let Some(p) = progress
                && i % 128 == 0
            {
                p(i as u64, total);
            }
            let full = src.join(rel);
            let target = prefix.join(rel);
            if PagePath::parse(&target).is_err() {
                report.skipped.push((rel.clone(), "not a valid wiki path".into()));
                continue;
            }
            let size = std::fs::metadata(&full).map(|m| m.len()).unwrap_or(0);
            let is_page = rel.ends_with(".md");
            let limit = if is_page { self.max_page_bytes() as u64 } else { MAX_ATTACHMENT };
            if size > limit {
                report.skipped.push((rel.clone(), format!("larger than {limit} bytes")));
                continue;
            }
            let content = std::fs::read(&full)
                .map_err(|e| Error::invalid(format!("cannot read {}: {e}", full.display())))?;
            if is_page {
                if std::str::from_utf8(&content).is_err() {
                    report.skipped.push((rel.clone(), "not valid UTF-8".into()));
                    continue;
                }
                report.pages += 1;
            } else {
                report.attachments += 1;
            }
            changes.push(Change::Put { path: target, content });
        }
        if let Some(p) = progress {
            p(total, total);
        }
        if changes.is_empty() {
            return Ok(report);
        }
        let message = if message.trim().is_empty() {
            format!(
                "Import {} pages from {}",
                report.pages,
                src.file_name().and_then(|n| n.to_str()).unwrap_or("a folder")
            )
        } else {
            message.trim().to_string()
        };
        if !links.is_empty() {
            let merged = self.link_prefixes().merged(links);
            changes.push(Change::Put {
                path: crate::LINKS_FILE.to_string(),
                content: crate::links::to_text(&merged).into_bytes(),
            });
        }
        let rev = self.with_writer(|w| w.commit(&changes, author, &message))?;
        report.revision = Some(rev);
        Ok(report)
    }
}

fn collect(dir: &Path, rel: &str, out: &mut Vec<String>, report: &mut ImportReport) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::invalid(format!("cannot read {}: {e}", dir.display())))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            report
                .skipped
                .push((format!("{rel}{}", name.to_string_lossy()), "name is not UTF-8".into()));
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{rel}{name}");
        let ft =
            entry.file_type().map_err(|e| Error::invalid(format!("cannot read {path}: {e}")))?;
        if ft.is_symlink() {
            report.skipped.push((path, "symbolic link".into()));
        } else if ft.is_dir() {
            collect(&entry.path(), &format!("{path}/"), out, report)?;
        } else if ft.is_file() {
            out.push(path);
        }
    }
    Ok(())
}
