//! What one person may read: the whole wiki, or the whole wiki but some folders.

use crate::{FolderPath, Result};
use std::sync::Arc;

/// Where repository files about a page (its discussions) live, followed by the page's path.
const DISCUSSIONS: &str = ".casebook/discussions/";

/// The folders hidden from one reader. A folder hides everything below it at any depth (the
/// rule `deals/**`) and the discussions of those pages; a page beside it that shares its name
/// (`deals.md`) is not in it. Comparison ignores case, so a folder renamed only in case stays hidden.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadScope {
    /// Lowercased folder paths, without a trailing `/`.
    hidden: Arc<[String]>,
}

impl ReadScope {
    /// Sees everything.
    pub fn everything() -> ReadScope {
        ReadScope::default()
    }

    /// Sees everything but `folders` (paths as [`folder_rule`] returns them).
    pub fn hiding<I: IntoIterator<Item = String>>(folders: I) -> ReadScope {
        let mut hidden: Vec<String> = folders.into_iter().map(|f| f.to_lowercase()).collect();
        hidden.sort();
        hidden.dedup();
        ReadScope {
            hidden: hidden.into(),
        }
    }

    /// True when nothing is hidden.
    pub fn is_everything(&self) -> bool {
        self.hidden.is_empty()
    }

    /// The hidden folders, lowercased.
    pub fn hidden(&self) -> &[String] {
        &self.hidden
    }

    /// Whether a page path, a file path in the repository (an attachment, a page's `.md` file, a
    /// discussion file), or a search document's path (`page#thread`) may be seen.
    pub fn sees(&self, path: &str) -> bool {
        if self.hidden.is_empty() {
            return true;
        }
        let path = path.strip_prefix(DISCUSSIONS).unwrap_or(path);
        let path = path.split('#').next().unwrap_or(path);
        let path = path.strip_suffix(".md").unwrap_or(path).to_lowercase();
        !self.hidden.iter().any(|f| {
            path.strip_prefix(f.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Whether every path of `paths` may be seen.
    pub fn sees_all<'a>(&self, mut paths: impl Iterator<Item = &'a str>) -> bool {
        self.hidden.is_empty() || paths.all(|p| self.sees(p))
    }
}

/// Reads a folder rule as people write it: `deals`, `deals/`, `/deals/**` and `deals/**` all name
/// the folder `deals` and everything below it. Returns the folder's path.
pub fn folder_rule(rule: &str) -> Result<FolderPath> {
    let trimmed = rule.trim();
    let folder = trimmed
        .strip_suffix("/**")
        .unwrap_or(trimmed)
        .trim_matches('/');
    if folder.is_empty() {
        return Err(crate::Error::invalid(
            "a folder rule names a folder, such as deals/** (the whole wiki cannot be restricted this way; set anonymous access instead)",
        ));
    }
    if folder.contains('*') {
        return Err(crate::Error::invalid(format!(
            "'{}': a folder rule is a folder and everything below it, written as folder/**; other wildcards are not supported",
            crate::truncate(trimmed, 80)
        )));
    }
    FolderPath::parse(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_folder_its_page_and_its_discussions_ignoring_case() {
        let s = ReadScope::hiding(["Deals".to_string()]);
        assert!(!s.sees("deals/Acme"));
        assert!(!s.sees("DEALS/emea/Acme.md"));
        assert!(s.sees("deals"), "the page beside the folder is not in it");
        assert!(!s.sees("deals/Acme#20261127-070847-00af"));
        assert!(!s.sees(".casebook/discussions/deals/Acme/20261127-070847-00af/thread.md"));
        assert!(s.sees("dealsheet"));
        assert!(s.sees("dealership/Acme"));
        assert!(s.sees("playbooks/deals"));
        assert!(s.sees(".casebook/discussions/playbooks/X/1/thread.md"));
        assert!(ReadScope::everything().sees("deals/Acme"));
        assert!(!s.sees_all(["a", "deals/b"].into_iter()));
    }

    #[test]
    fn folder_rules_in_the_spellings_people_use() {
        for r in ["deals", "deals/", "/deals/**", "deals/**", " deals/** "] {
            assert_eq!(folder_rule(r).unwrap().as_str(), "deals", "{r}");
        }
        assert_eq!(folder_rule("a/b/**").unwrap().as_str(), "a/b");
        for bad in ["", "/", "**", "deals/*", "de*ls/**", "../x", ".casebook/**"] {
            assert!(folder_rule(bad).is_err(), "{bad}");
        }
    }
}
