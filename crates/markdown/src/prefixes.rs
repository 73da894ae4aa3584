//! Site-absolute link prefixes mapped to wiki folders: how a handbook imported from a static site
//! keeps its links. A page of such a site links to `/handbook/sales/` (or to the full address of
//! the site) where the wiki has `handbook/sales/index`; the mapping `/handbook/` → `handbook/`
//! says so. The content repository holds the mapping, so it travels with the pages.

use casebook_core::FolderPath;

/// Link prefixes and the wiki folders they stand for, longest prefix first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkPrefixes {
    /// `(from, to)`: `from` without its trailing `/` (`/handbook`, `https://example.com/docs`,
    /// or empty for the whole site), `to` a folder path (empty for the root).
    entries: Vec<(String, String)>,
}

impl LinkPrefixes {
    /// Checks and orders the pairs `(from, to)`. `from` starts with `/` or is a full `http://` or
    /// `https://` address; `to` is a wiki folder (empty or `/` for the root). A prefix given twice
    /// keeps its last folder.
    pub fn new<I, A, B>(pairs: I) -> Result<LinkPrefixes, String>
    where
        I: IntoIterator<Item = (A, B)>,
        A: AsRef<str>,
        B: AsRef<str>,
    {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (from, to) in pairs {
            let (from, to) = (from.as_ref().trim(), to.as_ref().trim());
            let key = check_from(from)?;
            let folder = FolderPath::parse(to)
                .map_err(|e| format!("'{to}' is not a wiki folder: {}", e.message))?;
            entries.retain(|(k, _)| *k != key);
            entries.push((key, folder.as_str().to_string()));
        }
        entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(LinkPrefixes { entries })
    }

    /// Reads one `FROM=TO` pair as given on the command line.
    pub fn parse_pair(s: &str) -> Result<(String, String), String> {
        let (from, to) = s
            .split_once('=')
            .ok_or_else(|| format!("'{s}' is not of the form /site/prefix/=wiki/folder/"))?;
        check_from(from.trim())?;
        FolderPath::parse(to.trim())
            .map_err(|e| format!("'{}' is not a wiki folder: {}", to.trim(), e.message))?;
        Ok((from.trim().to_string(), to.trim().to_string()))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The pairs as written back: `from` and `to` each with a trailing `/`.
    pub fn pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.entries.iter().map(|(f, t)| {
            let to = if t.is_empty() { "/".to_string() } else { format!("{t}/") };
            (format!("{f}/"), to)
        })
    }

    /// These pairs with `other`'s added; `other` wins for a prefix both have.
    pub fn merged(&self, other: &LinkPrefixes) -> LinkPrefixes {
        let all: Vec<(String, String)> = self.pairs().chain(other.pairs()).collect();
        LinkPrefixes::new(all).unwrap_or_else(|_| other.clone())
    }

    /// The wiki paths a decoded link path stands for, longest prefix first. `path` starts with
    /// `/` or is a full address; a prefix matches whole segments only.
    pub(crate) fn candidates<'a>(&'a self, path: &'a str) -> impl Iterator<Item = String> + 'a {
        self.entries.iter().filter_map(move |(from, to)| {
            let rest = if path == from.as_str() {
                ""
            } else {
                path.strip_prefix(from.as_str())?.strip_prefix('/')?
            };
            Some(match (to.is_empty(), rest.is_empty()) {
                (true, _) => rest.to_string(),
                (false, true) => to.clone(),
                (false, false) => format!("{to}/{rest}"),
            })
        })
    }

    /// True when some prefix is a full address (`https://…`), so such links are worth a look.
    pub(crate) fn has_addresses(&self) -> bool {
        self.entries.iter().any(|(f, _)| !f.starts_with('/'))
    }
}

/// Checks a prefix and returns it without its trailing `/`.
fn check_from(from: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("'{from}' cannot be a link prefix: {why}"));
    if from.is_empty() {
        return bad("it is empty");
    }
    if from.chars().any(|c| c.is_whitespace() || c.is_control()) || from.contains(['#', '?']) {
        return bad("it holds a space, '#' or '?'");
    }
    if let Some(rest) = from.strip_prefix("https://").or_else(|| from.strip_prefix("http://")) {
        if rest.is_empty() || rest.starts_with('/') {
            return bad("the address has no host");
        }
    } else if !from.starts_with('/') || from.starts_with("//") {
        return bad("it must start with '/' or 'https://'");
    }
    if from.split('/').any(|s| s == "." || s == "..") {
        return bad("it has a '.' or '..' segment");
    }
    Ok(from.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_first_on_whole_segments() {
        let m = LinkPrefixes::new([
            ("/handbook/", "hb"),
            ("/handbook/sales/", "sales"),
            ("https://example.com/handbook", "/hb/"),
            ("/", "site"),
        ])
        .unwrap();
        let c: Vec<String> = m.candidates("/handbook/sales/x").collect();
        assert_eq!(c, ["sales/x", "hb/sales/x", "site/handbook/sales/x"]);
        let c: Vec<String> = m.candidates("/handbooks/x").collect();
        assert_eq!(c, ["site/handbooks/x"]);
        let c: Vec<String> = m.candidates("https://example.com/handbook/a").collect();
        assert_eq!(c, ["hb/a"]);
        let c: Vec<String> = m.candidates("/handbook").collect();
        assert_eq!(c, ["hb", "site/handbook"]);
        assert!(m.has_addresses());
    }

    #[test]
    fn bad_prefixes_and_folders_are_refused() {
        for from in ["", "handbook/", "//host/x", "ftp://x/", "https://", "/a b/", "/a/../b"] {
            assert!(LinkPrefixes::new([(from, "x")]).is_err(), "{from:?}");
        }
        for to in ["../x", "a/../b", ".hidden", "a//b"] {
            assert!(LinkPrefixes::new([("/h/", to)]).is_err(), "{to:?}");
        }
        assert!(LinkPrefixes::parse_pair("/handbook/").is_err());
        assert_eq!(
            LinkPrefixes::parse_pair(" /handbook/ = handbook/ ").unwrap(),
            ("/handbook/".to_string(), "handbook/".to_string())
        );
    }

    #[test]
    fn pairs_round_trip_and_merge() {
        let a = LinkPrefixes::new([("/a", "x"), ("/b/", "/")]).unwrap();
        let again = LinkPrefixes::new(a.pairs()).unwrap();
        assert_eq!(a, again);
        let b = LinkPrefixes::new([("/a/", "y")]).unwrap();
        let m = a.merged(&b);
        let c: Vec<String> = m.candidates("/a/p").collect();
        assert_eq!(c, ["y/p"]);
        let c: Vec<String> = m.candidates("/b/p").collect();
        assert_eq!(c, ["p"]);
    }
}
