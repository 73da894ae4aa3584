//! What one person may read: the whole wiki, or the whole wiki but some folders; and the one
//! place that says which folder a page, a file, a discussion or a search document is in.

use crate::{FolderPath, Result};
use std::sync::Arc;

/// Where repository files about a page (its discussions) live, followed by the page's path.
const DISCUSSIONS: &str = ".casebook/discussions/";

/// The folder that holds what `path` names, as folder rules see it: the part before the last
/// `/` of the page it belongs to, or `""` for the top of the wiki. The one mapping every door
/// uses, whatever the names hold (`#`, `%`, `?`, spaces, dots, any script):
///
/// - a page path (`deals/Acme`), a page's file (`deals/Acme.md`) or an attachment
///   (`deals/img/logo.png`): its parent folder;
/// - a discussion file (`.casebook/discussions/<page path>/<thread id>/<file>`): the folder of
///   the page it discusses;
/// - a search document of a thread (`<page path>#<thread id>`): the folder of the page (a thread
///   id has no `/`, so the last `/` is the page's own);
/// - any other file under `.casebook/` (page types, settings): the top of the wiki.
///
/// Nothing is cut at a `#`: page names may contain one (`C# team/Plan`).
pub fn folder_of(path: &str) -> &str {
    let page = match path.strip_prefix(DISCUSSIONS) {
        // `<page path>/<thread id>/<file>`: drop the last two segments. A shorter path (a
        // thread's own folder, say) drops what it has, so it is never read as a sibling.
        Some(rest) => {
            let mut page = rest;
            for _ in 0..2 {
                page = page.rsplit_once('/').map_or("", |(p, _)| p);
            }
            page
        }
        None if path.starts_with(".casebook/") => return "",
        None => path,
    };
    page.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// The form in which folder names are compared: case folded by upper- then lower-casing, so that
/// names differing only in case match in any script (`Straße` and `STRASSE`, `Σ` and `ς`).
pub fn fold_case(s: &str) -> String {
    s.to_uppercase().to_lowercase()
}

/// Whether `s` is the id of a discussion thread or comment: the UTC time and four hex digits,
/// `20261201-093000-3fa2`.
pub fn is_discussion_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b[8] == b'-'
        && b[15] == b'-'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
        && b[16..].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// The search document's id of a thread: `<page path>#<thread id>`.
pub fn thread_doc_id(page: &str, thread: &str) -> String {
    format!("{page}#{thread}")
}

/// A search document's id read back: the page, and the thread when the document is one. Only a
/// `#` followed by a whole thread id at the end separates them, so a page named `C# team/Plan`
/// stays a page.
pub fn split_doc_id(id: &str) -> (&str, Option<&str>) {
    match id.rsplit_once('#') {
        Some((page, thread)) if !page.is_empty() && is_discussion_id(thread) => {
            (page, Some(thread))
        }
        _ => (id, None),
    }
}

/// The folders hidden from one reader. A folder hides everything below it at any depth (the
/// rule `deals/**`) and the discussions of those pages; a page beside it that shares its name
/// (`deals.md`) is not in it. Which folder a thing is in is [`folder_of`]'s answer, compared
/// whole segment by whole segment, ignoring case (so a folder renamed only in case stays hidden).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadScope {
    /// Folder paths as [`fold_case`] writes them, without a trailing `/`.
    hidden: Arc<[String]>,
}

impl ReadScope {
    /// Sees everything.
    pub fn everything() -> ReadScope {
        ReadScope::default()
    }

    /// Sees everything but `folders` (paths as [`folder_rule`] returns them).
    pub fn hiding<I: IntoIterator<Item = String>>(folders: I) -> ReadScope {
        let mut hidden: Vec<String> = folders.into_iter().map(|f| fold_case(&f)).collect();
        hidden.sort();
        hidden.dedup();
        ReadScope { hidden: hidden.into() }
    }

    /// True when nothing is hidden.
    pub fn is_everything(&self) -> bool {
        self.hidden.is_empty()
    }

    /// The hidden folders, as [`fold_case`] writes them.
    pub fn hidden(&self) -> &[String] {
        &self.hidden
    }

    /// Whether a page path, a file path in the repository (an attachment, a page's `.md` file, a
    /// discussion file), or a search document's id (`page#thread`) may be seen.
    pub fn sees(&self, path: &str) -> bool {
        self.hidden.is_empty() || self.sees_folder(folder_of(path))
    }

    /// Whether the folder `folder` (`""` for the top) and what it holds may be seen: neither
    /// it nor a folder above it is hidden.
    pub fn sees_folder(&self, folder: &str) -> bool {
        if self.hidden.is_empty() || folder.is_empty() {
            return true;
        }
        let folder = fold_case(folder);
        !self.hidden.iter().any(|f| {
            folder
                .strip_prefix(f.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
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
    let folder = trimmed.strip_suffix("/**").unwrap_or(trimmed).trim_matches('/');
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
    fn names_with_hashes_and_other_url_characters_are_whole_segments() {
        let s = ReadScope::hiding(["C# team".to_string(), "a?b/c&d".to_string()]);
        for hidden in [
            "C# team/Plan",
            "c# TEAM/Plan.md",
            "C# team/sub/x.png",
            "C# team/Plan#20261127-070847-00af",
            ".casebook/discussions/C# team/Plan/20261127-070847-00af/thread.md",
            "a?b/c&d/e",
            "A?B/C&D/e%20f#20261127-070847-00af",
        ] {
            assert!(!s.sees(hidden), "{hidden}");
        }
        for seen in [
            "C",
            "C/Plan",
            "C# team",
            "C# team#20261127-070847-00af",
            "C# teams/Plan",
            "a?b/c",
            "a?b/c&d",
            ".casebook/discussions/C# team/20261127-070847-00af/thread.md",
            ".casebook/types/case-story.toml",
        ] {
            assert!(s.sees(seen), "{seen}");
        }
    }

    #[test]
    fn documents_ids_split_only_at_a_thread_id() {
        assert_eq!(split_doc_id("C# team/Plan"), ("C# team/Plan", None));
        assert_eq!(
            split_doc_id("C# team/Plan#20261127-070847-00af"),
            ("C# team/Plan", Some("20261127-070847-00af"))
        );
        assert_eq!(split_doc_id("#20261127-070847-00af").1, None);
        let id = thread_doc_id("a#b/c", "20261127-070847-00af");
        assert_eq!(split_doc_id(&id), ("a#b/c", Some("20261127-070847-00af")));
        assert_eq!(folder_of(&id), "a#b");
    }

    mod property {
        use super::*;
        use crate::PagePath;
        use proptest::prelude::*;

        /// A name made of letters and the characters that mean something in a URL or a path
        /// pattern, with dots, spaces and a few scripts whose case folding is not ASCII's.
        fn name() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    Just("#"),
                    Just("%"),
                    Just("%2F"),
                    Just("+"),
                    Just("&"),
                    Just("?"),
                    Just(" "),
                    Just("."),
                    Just("*"),
                    Just("é"),
                    Just("Straße"),
                    Just("İ"),
                    Just("Σ"),
                    Just("日本"),
                    Just("deals"),
                    Just("a"),
                    Just("B"),
                ],
                1..5,
            )
            .prop_map(|parts| parts.concat())
            .prop_filter("a valid segment", |n| PagePath::parse(n).is_ok())
        }

        fn folder() -> impl Strategy<Value = Vec<String>> {
            proptest::collection::vec(name(), 1..3)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Everything in a hidden folder is hidden through every spelling of its path, in
            /// any case; the page beside it, its parent's pages and a sibling whose name
            /// extends the folder's are not.
            #[test]
            fn a_hidden_folder_hides_all_it_holds_and_nothing_else(
                folder in folder(),
                below in proptest::collection::vec(name(), 0..2),
                page in name(),
                other in name(),
                upper in any::<bool>(),
            ) {
                let f = folder.join("/");
                let scope = ReadScope::hiding([f.clone()]);
                let cased = |s: &str| if upper { s.to_uppercase() } else { s.to_string() };
                let mut inside = vec![f.clone()];
                inside.extend(below.iter().cloned());
                inside.push(page.clone());
                let p = cased(&inside.join("/"));
                prop_assume!(PagePath::parse(&p).is_ok());
                let id = "20261127-070847-00af";
                for hidden in [
                    p.clone(),
                    format!("{p}.md"),
                    format!("{p}/{other}.png"),
                    thread_doc_id(&p, id),
                    format!(".casebook/discussions/{p}/{id}/thread.md"),
                    format!(".casebook/discussions/{p}/{id}/{id}.md"),
                ] {
                    prop_assert!(!scope.sees(&hidden), "{} under {}", hidden, f);
                }
                prop_assert!(!scope.sees_folder(&cased(&f)));

                // The page that shares the folder's name, and its threads.
                let beside_thread = format!(".casebook/discussions/{f}/{id}/thread.md");
                prop_assert!(scope.sees(&f), "{}", f);
                prop_assert!(scope.sees(&thread_doc_id(&f, id)));
                prop_assert!(scope.sees(&beside_thread));
                // A sibling folder whose name extends the hidden one's.
                let sibling = format!("{f}{other}/{page}");
                prop_assume!(!fold_case(&sibling).starts_with(&format!("{}/", fold_case(&f))));
                prop_assert!(scope.sees(&sibling), "{}", sibling);
                // The folder's parent and what it holds beside the folder.
                let parent = folder_of(&f);
                prop_assert!(scope.sees_folder(parent));
                if !parent.is_empty() {
                    let next_to = format!("{parent}/{other}");
                    prop_assert!(scope.sees(&next_to));
                }
            }

            /// `folder_of` agrees across the spellings of one page's things.
            #[test]
            fn every_spelling_of_a_page_is_in_the_same_folder(
                folder in proptest::collection::vec(name(), 0..3),
                page in name(),
            ) {
                let mut all = folder.clone();
                all.push(page);
                let p = all.join("/");
                let f = folder.join("/");
                let id = "20261127-070847-00af";
                let file = format!("{p}.md");
                let doc = thread_doc_id(&p, id);
                let comment = format!(".casebook/discussions/{p}/{id}/{id}.md");
                prop_assert_eq!(folder_of(&p), f.as_str());
                prop_assert_eq!(folder_of(&file), f.as_str());
                prop_assert_eq!(folder_of(&doc), f.as_str());
                prop_assert_eq!(folder_of(&comment), f.as_str());
                prop_assert_eq!(split_doc_id(&doc), (p.as_str(), Some(id)));
            }
        }
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
