//! YAML front matter: the block between `---` lines at the very top of a page.

use serde::Serialize;
use serde_json::{Map, Value};

mod edit;
pub use edit::{front_matter_parts, is_blank, merge_front_matter, set_fields};

/// A page's front matter as JSON-like values: strings, numbers, booleans, lists and maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct FrontMatter(pub Map<String, Value>);

/// Splits `---\n…\n---\n` off the start of a page. Returns the raw block (without the fences)
/// and the body after it; a page without a complete block is all body.
pub fn split_front_matter(source: &str) -> (Option<&str>, &str) {
    let s = source.strip_prefix('\u{feff}').unwrap_or(source);
    let Some(rest) = s.strip_prefix("---\n").or_else(|| s.strip_prefix("---\r\n")) else {
        return (None, source);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == "---" || bare == "..." {
            let raw = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return (Some(raw), body);
        }
        offset += line.len();
    }
    (None, source)
}

impl FrontMatter {
    /// Reads a front matter block. The message of an error is meant for the page's readers.
    pub fn parse(raw: &str) -> Result<FrontMatter, String> {
        if raw.trim().is_empty() {
            return Ok(FrontMatter::default());
        }
        let value: Value = serde_norway::from_str(raw)
            .map_err(|e| format!("the front matter is not valid YAML: {e}"))?;
        match value {
            Value::Object(map) => Ok(FrontMatter(map)),
            Value::Null => Ok(FrontMatter::default()),
            _ => Err("the front matter must be a list of `key: value` lines".to_string()),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A field as text: strings as they are, numbers and booleans written out.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn title(&self) -> Option<String> {
        self.text("title")
    }

    /// `tags: [a, b]`, `tags: a, b` or `tags: a`, trimmed, empty ones dropped, each once.
    pub fn tags(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |s: &str| {
            let t = s.trim().trim_start_matches('#').trim();
            if !t.is_empty() && !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        };
        match self.0.get("tags").or_else(|| self.0.get("tag")) {
            Some(Value::String(s)) => s.split(',').for_each(&mut push),
            Some(Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(s) => push(s),
                        Value::Number(n) => push(&n.to_string()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// The fields shown in the metadata box: everything but the title and tags, which the page
    /// shows elsewhere, with values written out as text.
    pub fn display_fields(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "title" | "tags" | "tag"))
            .map(|(k, v)| (k.clone(), display_value(v)))
            .collect()
    }
}

/// A front matter value as a person reads it: text as is, lists joined with commas, nothing for
/// null.
pub fn display_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(display_value).collect::<Vec<_>>().join(", "),
        Value::Object(_) => v.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_complete_blocks() {
        assert_eq!(split_front_matter("---\na: 1\n---\nbody"), (Some("a: 1\n"), "body"));
        assert_eq!(split_front_matter("---\r\na: 1\r\n---\r\nbody"), (Some("a: 1\r\n"), "body"));
        assert_eq!(split_front_matter("---\na: 1\n"), (None, "---\na: 1\n"));
        assert_eq!(split_front_matter("text\n---\n"), (None, "text\n---\n"));
    }

    #[test]
    fn tags_in_every_spelling() {
        let fm = FrontMatter::parse("tags: [a, b, a]").unwrap();
        assert_eq!(fm.tags(), ["a", "b"]);
        let fm = FrontMatter::parse("tags: \"a, #b\"").unwrap();
        assert_eq!(fm.tags(), ["a", "b"]);
    }

    #[test]
    fn bad_yaml_is_an_error_not_a_panic() {
        assert!(FrontMatter::parse("a: [1, 2").is_err());
        assert!(FrontMatter::parse("- just\n- a list").is_err());
    }
}
