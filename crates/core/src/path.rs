//! Page and folder paths: the only way a name from the outside world becomes a place in the
//! repository. Everything that could escape the repository or hide a file is refused here, once.

use crate::{Error, Result, truncate};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::{Serialize, Serializer};

/// Longest path we accept, in bytes (git itself copes with more, file systems often do not).
const MAX_PATH: usize = 1024;
/// Longest single segment, in bytes (the common file-system limit is 255 for a name).
const MAX_SEGMENT: usize = 240;

/// Characters escaped in a URL path segment. `/` is escaped because segments are joined by hand.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']')
    .add(b'&')
    .add(b'+')
    .add(b';')
    .add(b'=');

/// A validated page path: `sales/playbooks/Discovery Call` for the file
/// `sales/playbooks/Discovery Call.md`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PagePath(String);

/// A validated attachment name: one path segment (`Q3 forecast.xlsx`), kept in its page's
/// attachments folder ([`PagePath::attachments_folder`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttachmentName(String);

/// What a page's attachments folder adds to the page's path: the attachments of
/// `cases/Northwind Deal` are in `cases/Northwind Deal.files/`, beside the page's file.
pub const ATTACHMENTS_SUFFIX: &str = ".files";

/// A validated folder path; the root folder is the empty path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FolderPath(String);

/// The refusal of `s` (shown shortened), saying why.
fn refused(s: &str, why: &str) -> Error {
    Error::invalid(format!("'{}': {why}", truncate(s, 80)))
}

fn check_segments(s: &str, what: &str) -> Result<()> {
    if s.len() > MAX_PATH {
        return Err(Error::invalid(format!("the {what} path is longer than {MAX_PATH} bytes")));
    }
    for seg in s.split('/') {
        let shown = truncate(seg, 60);
        if seg.is_empty() {
            return Err(Error::invalid(format!(
                "the {what} path '{}' has an empty segment",
                truncate(s, 80)
            )));
        }
        if seg == "." || seg == ".." {
            return Err(Error::invalid(format!(
                "the {what} path may not contain '.' or '..' segments"
            )));
        }
        if seg.starts_with('.') {
            return Err(Error::invalid(format!("'{shown}': a name may not start with '.'")));
        }
        if seg.contains('\\') {
            return Err(Error::invalid(format!("'{shown}': a name may not contain a backslash")));
        }
        if seg.chars().any(char::is_control) {
            return Err(Error::invalid(format!(
                "the {what} path may not contain control characters"
            )));
        }
        if seg != seg.trim() {
            return Err(Error::invalid(format!(
                "'{shown}': a name may not start or end with white space"
            )));
        }
        if seg.len() > MAX_SEGMENT {
            return Err(Error::invalid(format!(
                "'{shown}…': a name may be at most {MAX_SEGMENT} bytes long"
            )));
        }
    }
    Ok(())
}

impl PagePath {
    /// Parses a page path as it appears in a URL (already percent-decoded) or in the API.
    pub fn parse(s: &str) -> Result<PagePath> {
        if s.is_empty() {
            return Err(Error::invalid("the page path is empty"));
        }
        if s.starts_with('/') {
            return Err(refused(
                s,
                "a page path is relative to the wiki and may not start with '/'",
            ));
        }
        check_segments(s, "page")?;
        Ok(PagePath(s.to_string()))
    }

    /// The page a repository file stands for, if the file is a page (`*.md`, valid path).
    pub fn from_file(file: &str) -> Option<PagePath> {
        let stem = file.strip_suffix(".md")?;
        PagePath::parse(stem).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file in the repository: the path plus `.md`.
    pub fn file(&self) -> String {
        format!("{}.md", self.0)
    }

    /// The last segment, the page's own name.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The folder holding the page (the root for a top-level page).
    pub fn folder(&self) -> FolderPath {
        match self.0.rfind('/') {
            Some(i) => FolderPath(self.0[..i].to_string()),
            None => FolderPath::root(),
        }
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The path percent-encoded segment by segment, for use in a URL.
    pub fn url_encoded(&self) -> String {
        encode_segments(&self.0)
    }

    /// The folder of the page's attachments in the repository: `cases/Northwind Deal.files`
    /// for the page `cases/Northwind Deal`. It sits beside the page's file, in the same folder,
    /// so the same folder rules cover both.
    pub fn attachments_folder(&self) -> String {
        format!("{}{ATTACHMENTS_SUFFIX}", self.0)
    }

    /// The repository file of the page's attachment `name`.
    pub fn attachment_file(&self, name: &AttachmentName) -> String {
        format!("{}/{}", self.attachments_folder(), name.0)
    }

    /// This page's name placed in another folder.
    pub fn in_folder(folder: &FolderPath, name: &str) -> Result<PagePath> {
        if folder.is_root() {
            PagePath::parse(name)
        } else {
            PagePath::parse(&format!("{}/{}", folder.as_str(), name))
        }
    }
}

impl AttachmentName {
    /// Parses an attachment's name as given by a person or a URL (already percent-decoded):
    /// one segment under the rules of every path segment (no `/`, `\`, leading dot, control
    /// character, surrounding white space, at most 240 bytes), and not ending in `.md`, which
    /// would make the file a page.
    pub fn parse(s: &str) -> Result<AttachmentName> {
        if s.is_empty() {
            return Err(Error::invalid("the attachment's name is empty"));
        }
        if s.contains('/') {
            return Err(refused(s, "an attachment's name may not contain '/'"));
        }
        check_segments(s, "attachment")?;
        if s.to_lowercase().ends_with(".md") {
            return Err(Error::invalid(format!(
                "'{}': a file ending in .md would be read as a page; rename it (say, to \
                 '{}.txt') or make it a page",
                truncate(s, 80),
                truncate(s, 80)
            )));
        }
        Ok(AttachmentName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name percent-encoded, for use as one segment of a URL.
    pub fn url_encoded(&self) -> String {
        encode_segments(&self.0)
    }
}

impl std::fmt::Display for AttachmentName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FolderPath {
    pub fn root() -> FolderPath {
        FolderPath(String::new())
    }

    /// Parses a folder path; leading and trailing slashes are tolerated, the empty string is
    /// the root.
    pub fn parse(s: &str) -> Result<FolderPath> {
        let s = s.trim_matches('/');
        if s.is_empty() {
            return Ok(FolderPath::root());
        }
        check_segments(s, "folder")?;
        Ok(FolderPath(s.to_string()))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    pub fn parent(&self) -> Option<FolderPath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => FolderPath(self.0[..i].to_string()),
            None => FolderPath::root(),
        })
    }

    /// True when `path` lies in this folder or any folder below it.
    pub fn contains(&self, path: &str) -> bool {
        self.is_root()
            || (path.len() > self.0.len()
                && path.starts_with(&self.0)
                && path.as_bytes()[self.0.len()] == b'/')
    }

    /// The folder and each folder above it, outermost first, without the root.
    pub fn ancestors(&self) -> Vec<FolderPath> {
        let mut out = Vec::new();
        let mut acc = String::new();
        for seg in self.0.split('/').filter(|s| !s.is_empty()) {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(seg);
            out.push(FolderPath(acc.clone()));
        }
        out
    }

    pub fn url_encoded(&self) -> String {
        encode_segments(&self.0)
    }

    pub fn join(&self, name: &str) -> String {
        if self.is_root() { name.to_string() } else { format!("{}/{name}", self.0) }
    }
}

/// A path of the repository (segments joined by `/`) percent-encoded segment by segment, for
/// use in a URL.
pub fn url_encode_path(s: &str) -> String {
    encode_segments(s)
}

fn encode_segments(s: &str) -> String {
    s.split('/')
        .map(|seg| utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

impl std::fmt::Display for PagePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for FolderPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for PagePath {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Serialize for FolderPath {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for ok in ["Home", "sales/playbooks/Discovery Call", "ünïcode/页面", "a b/c-d_e (f)"] {
            assert_eq!(PagePath::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_escapes_and_hidden_names() {
        for bad in [
            "",
            "../escape",
            "a/../../b",
            "./a",
            ".git/config",
            "a/.hidden",
            "/abs",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            "a\nb",
            " lead",
            "trail ",
        ] {
            assert!(PagePath::parse(bad).is_err(), "accepted {bad:?}");
        }
        assert!(PagePath::parse(&"x".repeat(MAX_SEGMENT + 1)).is_err());
    }

    #[test]
    fn attachment_names() {
        for ok in ["pic.png", "Q3 forecast (final).xlsx", "README", "ünïcode 页面.pdf", "a#b?.txt"]
        {
            assert_eq!(AttachmentName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "", "a/b.png", "..", ".", ".hidden", "a\\b", "a\nb", "a\0b", " x", "x ", "notes.md",
            "N.MD",
        ] {
            assert!(AttachmentName::parse(bad).is_err(), "accepted {bad:?}");
        }
        assert!(AttachmentName::parse(&"x".repeat(MAX_SEGMENT + 1)).is_err());
        let page = PagePath::parse("cases/Northwind Deal").unwrap();
        let name = AttachmentName::parse("pic 1.png").unwrap();
        assert_eq!(page.attachments_folder(), "cases/Northwind Deal.files");
        assert_eq!(page.attachment_file(&name), "cases/Northwind Deal.files/pic 1.png");
        assert_eq!(name.url_encoded(), "pic%201.png");
        assert_eq!(crate::folder_of(&page.attachment_file(&name)), "cases/Northwind Deal.files");
    }

    #[test]
    fn files_and_folders() {
        let p = PagePath::parse("sales/playbooks/Discovery Call").unwrap();
        assert_eq!(p.file(), "sales/playbooks/Discovery Call.md");
        assert_eq!(p.name(), "Discovery Call");
        assert_eq!(p.folder().as_str(), "sales/playbooks");
        assert_eq!(p.url_encoded(), "sales/playbooks/Discovery%20Call");
        assert_eq!(PagePath::from_file("a/b.md").map(|p| p.to_string()), Some("a/b".into()));
        assert_eq!(PagePath::from_file("a/b.png"), None);
        let f = FolderPath::parse("/sales/playbooks/").unwrap();
        assert!(f.contains("sales/playbooks/x"));
        assert!(!f.contains("sales/playbooksx"));
        assert_eq!(f.ancestors().len(), 2);
        assert_eq!(f.parent().unwrap().as_str(), "sales");
    }
}
