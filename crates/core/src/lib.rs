#![doc = include_str!("../README.md")]

mod error;
mod path;
mod scope;
mod time;
mod words;

pub use error::{Error, ErrorKind, Result};
pub use path::{ATTACHMENTS_SUFFIX, AttachmentName, FolderPath, PagePath, url_encode_path};
pub use scope::{
    ReadScope, fold_case, folder_of, folder_rule, is_discussion_id, split_doc_id, thread_doc_id,
};
pub use time::Timestamp;
pub use words::{parse_word, word_list};

use serde::{Deserialize, Serialize};

/// The id of a git commit, as 40 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Revision(String);

impl Revision {
    /// Accepts a full or abbreviated (at least 4 digits) hex commit id.
    pub fn parse(s: &str) -> Result<Revision> {
        let s = s.trim();
        if (4..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Revision(s.to_ascii_lowercase()))
        } else {
            Err(Error::invalid(format!(
                "'{}' is not a revision: expected a hex commit id",
                truncate(s, 60)
            )))
        }
    }

    /// Wraps an id that is known to be valid (it came from git).
    pub fn from_git(hex: String) -> Revision {
        Revision(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first seven digits, as people read them.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(7)]
    }
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The person a commit is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl Author {
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Author {
        Author { name: name.into(), email: email.into() }
    }
}

/// Cuts a string to at most `max` bytes on a character boundary (for messages that echo input).
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
