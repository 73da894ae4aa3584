//! Changing fields of a page's front matter as a person would by hand: only the lines of the
//! fields that change are rewritten; order, comments, blank lines, line endings and keys nobody
//! asked about stay byte for byte. Also merges two people's changes of a front matter field by
//! field, so two edits of neighbouring lines are not a conflict when they touch different keys.
//!
//! The block is read line by line, not as YAML: a top-level entry is a line `key:` at the first
//! column and the lines after it that are indented (or list items `- `), with the comments and
//! blank lines just before it. Nothing here fails: a block it cannot follow is left as it is
//! and the new value appended, which YAML reads as the last word.

use serde_json::Value;

/// The parts of a page with front matter: the opening fence line, the block, the closing fence
/// line and the body. `None` when the page has no complete block.
pub fn front_matter_parts(source: &str) -> Option<(&str, &str, &str, &str)> {
    let (block, body) = super::split_front_matter(source);
    let block = block?;
    let start = block.as_ptr() as usize - source.as_ptr() as usize;
    let end = start + block.len();
    let body_start = body.as_ptr() as usize - source.as_ptr() as usize;
    Some((&source[..start], block, &source[end..body_start], body))
}

/// `source` with each `(key, value)` of `changes` set in its front matter: a value replaces the
/// key's line(s), or is appended at the end of the block when the key is not there; `None` (or
/// an empty string or list) removes the key's line(s). Lists keep the style of the line they
/// replace (`[a, b]` or `- a` lines); scalars are quoted only when YAML would read them
/// otherwise. A page without front matter gets a block when something is set.
pub fn set_fields(source: &str, changes: &[(String, Option<Value>)]) -> String {
    let Some((open, block, close, body)) = front_matter_parts(source) else {
        let nl = if source.contains("\r\n") { "\r\n" } else { "\n" };
        let mut block = String::new();
        for (key, value) in changes {
            if let Some(v) = value.as_ref().filter(|v| !is_blank(v)) {
                block.push_str(&entry_text(key, v, None, nl));
            }
        }
        if block.is_empty() {
            return source.to_string();
        }
        let (bom, rest) = match source.strip_prefix('\u{feff}') {
            Some(rest) => ("\u{feff}", rest),
            None => ("", source),
        };
        return format!("{bom}---{nl}{block}---{nl}{rest}");
    };
    let nl = if open.ends_with("\r\n") { "\r\n" } else { "\n" };
    let mut entries = entries(block);
    for (key, value) in changes {
        let value = value.as_ref().filter(|v| !is_blank(v));
        // The last of duplicated keys is the one YAML readers keep.
        let at = entries.iter().rposition(|e| e.key.as_deref() == Some(key.as_str()));
        match (at, value) {
            (Some(i), Some(v)) => {
                let e = &entries[i];
                let text = format!("{}{}", e.leading, entry_text(key, v, Some(e.own()), nl));
                entries[i].text = text;
            }
            (Some(i), None) => {
                let leading = entries[i].leading.clone();
                entries[i].text = leading;
            }
            (None, Some(v)) => {
                // After the last entry: a block ending without a line end gets one first.
                if let Some(last) = entries.last_mut()
                    && !last.text.ends_with('\n')
                {
                    last.text.push_str(nl);
                }
                entries.push(Entry::new(Some(key.clone()), entry_text(key, v, None, nl)));
            }
            (None, None) => {}
        }
    }
    let mut out = String::with_capacity(source.len() + 64);
    out.push_str(open);
    entries.iter().for_each(|e| out.push_str(&e.text));
    out.push_str(close);
    out.push_str(body);
    out
}

/// Merges the front matter blocks of two edits of `base` key by key: a key changed on one side
/// only takes that side's lines, one changed the same way on both is taken once, one added on
/// your side only comes at the end. `None` when both changed one key differently (or a block
/// repeats a key), which is for a person to decide.
pub fn merge_front_matter(base: &str, theirs: &str, yours: &str) -> Option<String> {
    let (b, t, y) = (entries(base), entries(theirs), entries(yours));
    for side in [&b, &t, &y] {
        let mut keys: Vec<&str> = side.iter().map(Entry::id).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
    }
    let find =
        |side: &[Entry], id: &str| side.iter().find(|e| e.id() == id).map(|e| e.text.clone());
    let mut out = String::new();
    let mut tail = String::new();
    for e in &t {
        let id = e.id();
        let (base_text, your_text) = (find(&b, id), find(&y, id));
        let chosen = if your_text == base_text || your_text.as_deref() == Some(e.text.as_str()) {
            Some(e.text.clone())
        } else if base_text.as_deref() == Some(e.text.as_str()) {
            your_text
        } else {
            return None;
        };
        let chosen = chosen.unwrap_or_default();
        if e.key.is_none() && id == END {
            tail = chosen;
        } else {
            out.push_str(&chosen);
        }
    }
    // Keys theirs has not (any more): removed by them, or added by you.
    for e in y.iter().filter(|e| find(&t, e.id()).is_none()) {
        match find(&b, e.id()) {
            Some(base_text) if base_text == e.text => {}
            Some(_) => return None,
            None if e.id() == END => tail = e.text.clone(),
            None => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&e.text);
            }
        }
    }
    out.push_str(&tail);
    Some(out)
}

/// The id of the comments and blank lines after the last key.
const END: &str = "\u{0}end";

#[derive(Debug, Clone)]
struct Entry {
    /// `None` for the lines after the last key.
    key: Option<String>,
    /// The whole text, its line ends included: leading comments and blank lines, the key's
    /// line and the lines that continue it.
    text: String,
    /// The comments and blank lines before the key's line.
    leading: String,
}

impl Entry {
    fn new(key: Option<String>, text: String) -> Entry {
        Entry { key, text, leading: String::new() }
    }

    fn id(&self) -> &str {
        self.key.as_deref().unwrap_or(END)
    }

    /// The key's own lines, without the leading comments.
    fn own(&self) -> &str {
        &self.text[self.leading.len()..]
    }
}

/// The key a top-level line starts, if it does.
fn key_of(line: &str) -> Option<&str> {
    let first = line.chars().next()?;
    if !(first.is_alphanumeric() || first == '_') {
        return None;
    }
    let (key, rest) = line.split_once(':')?;
    let key = key.trim_end();
    let plain = key.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    let rest_ok = rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']);
    (plain && rest_ok).then_some(key)
}

/// Whether a line continues the entry above it: indented, or a list item at the first column.
fn continues(line: &str) -> bool {
    line.starts_with([' ', '\t']) || line.starts_with("- ") || line.trim_end() == "-"
}

fn entries(block: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut pending = String::new();
    let lines: Vec<&str> = block.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(key) = key_of(line) {
            let mut text = std::mem::take(&mut pending);
            let leading = text.clone();
            text.push_str(line);
            i += 1;
            // Continuation lines, and blank lines followed by one (inside a block scalar).
            loop {
                let mut j = i;
                while j < lines.len() && lines[j].trim().is_empty() {
                    j += 1;
                }
                if j < lines.len() && continues(lines[j]) {
                    lines[i..=j].iter().for_each(|l| text.push_str(l));
                    i = j + 1;
                } else {
                    break;
                }
            }
            out.push(Entry { key: Some(key.to_string()), text, leading });
        } else if out.is_empty() || !continues(line) || !pending.is_empty() {
            pending.push_str(line);
            i += 1;
        } else {
            // An indented line after a key's lines and not part of them: keep it with them.
            out.last_mut().map(|e| e.text.push_str(line)).unwrap_or_default();
            i += 1;
        }
    }
    if !pending.is_empty() {
        out.push(Entry { key: None, text: pending.clone(), leading: pending });
    }
    out
}

/// Whether a front matter value counts as not given: null, blank text or an empty list. Setting
/// a field to such a value removes its line.
pub fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// How the lines a value replaces were written.
struct Style<'a> {
    /// `- ` items on their own lines, with this indentation.
    block_indent: Option<&'a str>,
    /// The comment at the end of the key's line, with the spaces before it, and the column it
    /// started at.
    comment: Option<(&'a str, usize)>,
}

fn style_of(old: &str) -> Style<'_> {
    let mut lines = old.split_inclusive('\n');
    let first = lines.next().unwrap_or("").trim_end_matches(['\r', '\n']);
    let after_colon = first.find(':').map(|i| i + 1).unwrap_or(first.len());
    let comment = comment_start(&first[after_colon..]).map(|c| {
        let c = after_colon + c;
        let spaces = first[..c].len() - first[..c].trim_end().len();
        (&first[c - spaces..], c)
    });
    let block_indent = lines.find_map(|l| {
        let t = l.trim_start_matches([' ', '\t']);
        (t.starts_with("- ") || t.trim_end() == "-").then(|| &l[..l.len() - t.len()])
    });
    Style { block_indent, comment }
}

/// Where a comment starts in the value part of a line (after `key:`), quotes respected.
fn comment_start(value: &str) -> Option<usize> {
    let trimmed = value.trim_start();
    let lead = value.len() - trimmed.len();
    let mut quote: Option<char> = None;
    let mut prev_space = lead > 0 || value.is_empty();
    let mut chars = trimmed.char_indices().peekable();
    let mut first = true;
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => {
                if q == '\'' && chars.peek().map(|p| p.1) == Some('\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None if first && (c == '"' || c == '\'') => quote = Some(c),
            None if c == '#' && prev_space => return Some(lead + i),
            None => {}
        }
        first = false;
        prev_space = c == ' ' || c == '\t';
    }
    None
}

/// The lines of `key: value`, in the style of `old` (the lines it replaces) when there are any.
fn entry_text(key: &str, v: &Value, old: Option<&str>, nl: &str) -> String {
    let style = old.map(style_of);
    let comment = style.as_ref().and_then(|s| s.comment);
    let with_comment = |line: String| match comment {
        Some((text, col)) => {
            let bare = text.trim_start();
            let width = line.chars().count();
            if width < col {
                format!("{line}{}{bare}", " ".repeat(col - width))
            } else {
                format!("{line} {bare}")
            }
        }
        None => line,
    };
    match v {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(item_text).collect();
            match style.as_ref().and_then(|s| s.block_indent) {
                Some(indent) => {
                    let mut out = with_comment(format!("{key}:"));
                    out.push_str(nl);
                    for item in &items {
                        out.push_str(&format!("{indent}- {}{nl}", block_item(item)));
                    }
                    out
                }
                None => {
                    let flow: Vec<String> = items.iter().map(|i| flow_item(i)).collect();
                    format!("{}{nl}", with_comment(format!("{key}: [{}]", flow.join(", "))))
                }
            }
        }
        Value::String(s) if s.contains('\n') => {
            let text = s.replace("\r\n", "\n");
            if text.starts_with([' ', '\t']) || text.lines().any(|l| l.contains('\t')) {
                return format!("{}{nl}", with_comment(format!("{key}: {}", quoted(&text))));
            }
            let chomp = if text.ends_with('\n') { "" } else { "-" };
            let mut out = with_comment(format!("{key}: |{chomp}"));
            out.push_str(nl);
            for line in text.trim_end_matches('\n').split('\n') {
                if line.is_empty() {
                    out.push_str(nl);
                } else {
                    out.push_str(&format!("  {line}{nl}"));
                }
            }
            out
        }
        other => format!("{}{nl}", with_comment(format!("{key}: {}", scalar(other)))),
    }
}

fn item_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A scalar value as YAML writes it after `key: `.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            if reads_back(&format!("k: {s}"), &Value::String(s.clone())) {
                s.clone()
            } else {
                quoted(s)
            }
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An item of a flow list `[a, b]`: plain unless YAML would read it otherwise there.
fn flow_item(s: &str) -> String {
    let as_list = Value::Array(vec![Value::String(s.to_string())]);
    if reads_back(&format!("k: [{s}]"), &as_list) { s.to_string() } else { quoted(s) }
}

/// An item of a block list (`- a`).
fn block_item(s: &str) -> String {
    let as_list = Value::Array(vec![Value::String(s.to_string())]);
    if reads_back(&format!("k:\n- {s}"), &as_list) { s.to_string() } else { quoted(s) }
}

/// Whether the one-key YAML `text` reads as `k` with exactly `value`. Plain text must not
/// start a comment, a quote or anything else, and must not be read as a number, a boolean, a
/// date or null: asking the YAML reader itself settles all of it.
fn reads_back(text: &str, value: &Value) -> bool {
    let s = match value {
        Value::String(s) => s.as_str(),
        Value::Array(items) => items.first().and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    if s.is_empty() || s.trim() != s || s.contains(['\n', '\r', '#', '\t']) {
        return false;
    }
    // Words older YAML readers take for booleans or null, whatever this one makes of them.
    const WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"];
    if WORDS.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    match serde_norway::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map.len() == 1 && map.get("k") == Some(value),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(source: &str, changes: &[(&str, Option<Value>)]) -> String {
        let changes: Vec<(String, Option<Value>)> =
            changes.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        set_fields(source, &changes)
    }

    const PAGE: &str = concat!(
        "---\n",
        "title: Northwind   # shown as the page title\n",
        "# the fields of the case story\n",
        "type: case-story\n",
        "\n",
        "x-custom: {kept: [1, 2]}\n",
        "outcome: won          # won, lost, no-decision\n",
        "competitors:\n",
        "  - Acme\n",
        "  - Globex\n",
        "tags: [a, b]\n",
        "---\n",
        "\n",
        "# Body\n",
    );

    #[test]
    fn only_the_changed_line_changes() {
        let out = set(PAGE, &[("outcome", Some(json!("lost")))]);
        assert_eq!(out, PAGE.replace("outcome: won          # won", "outcome: lost         # won"));
        let diff: Vec<_> = PAGE.lines().zip(out.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert_eq!(out.lines().count(), PAGE.lines().count());
    }

    #[test]
    fn comments_unknown_keys_order_and_body_are_kept() {
        let out = set(PAGE, &[("type", Some(json!("insight")))]);
        assert!(out.contains("title: Northwind   # shown as the page title\n# the fields of the case story\ntype: insight\n\nx-custom: {kept: [1, 2]}\n"), "{out}");
        assert!(out.ends_with("---\n\n# Body\n"));
    }

    #[test]
    fn lists_keep_their_style() {
        let out = set(
            PAGE,
            &[
                ("competitors", Some(json!(["Initech", "a: b"]))),
                ("tags", Some(json!(["x", "y, z"]))),
            ],
        );
        assert!(
            out.contains("competitors:\n  - Initech\n  - \"a: b\"\ntags: [x, \"y, z\"]\n"),
            "{out}"
        );
        let fm = crate::FrontMatter::parse(front_matter_parts(&out).unwrap().1).unwrap();
        assert_eq!(fm.get("competitors"), Some(&json!(["Initech", "a: b"])));
        assert_eq!(fm.get("tags"), Some(&json!(["x", "y, z"])));
        // Lists at the first column are a block list too.
        let out = set("---\nl:\n- a\n- b\nz: 1\n---\n", &[("l", Some(json!(["c"])))]);
        assert_eq!(out, "---\nl:\n- c\nz: 1\n---\n");
    }

    #[test]
    fn absent_fields_are_appended_and_emptied_ones_removed() {
        let out = set(
            PAGE,
            &[("owner", Some(json!("Anna"))), ("competitors", None), ("outcome", Some(json!("")))],
        );
        assert!(
            out.contains("x-custom: {kept: [1, 2]}\ntags: [a, b]\nowner: Anna\n---\n"),
            "{out}"
        );
        assert!(!out.contains("Acme") && !out.contains("outcome"), "{out}");
        // The comment above a removed key stays.
        let out = set(PAGE, &[("type", None)]);
        assert!(out.contains("# the fields of the case story\n\nx-custom"), "{out}");
    }

    #[test]
    fn scalars_are_quoted_only_when_yaml_needs_it() {
        for (value, written) in [
            (json!("Northwind Logistics"), "Northwind Logistics"),
            (json!("2024-11-28"), "2024-11-28"),
            (json!("Acme: the deal"), "\"Acme: the deal\""),
            (json!("no # comment"), "\"no # comment\""),
            (json!("#1"), "\"#1\""),
            (json!("yes"), "\"yes\""),
            (json!("null"), "\"null\""),
            (json!("120000"), "\"120000\""),
            (json!("[x]"), "\"[x]\""),
            (json!("'quoted'"), "\"'quoted'\""),
            (json!("- dash"), "\"- dash\""),
            (json!("say \"hi\""), "say \"hi\""),
            (json!(240000), "240000"),
            (json!(1.5), "1.5"),
            (json!(true), "true"),
        ] {
            let out = set("---\nk: old\n---\n", &[("k", Some(value.clone()))]);
            assert_eq!(out, format!("---\nk: {written}\n---\n"), "{value}");
            let fm = crate::FrontMatter::parse(front_matter_parts(&out).unwrap().1).unwrap();
            assert_eq!(fm.get("k"), Some(&value), "{out}");
        }
    }

    #[test]
    fn a_value_with_a_colon_or_hash_keeps_the_comment_after_it() {
        let page = "---\nname: \"a: b # c\"  # a note\nnext: 1\n---\n";
        let out = set(page, &[("name", Some(json!("d # e")))]);
        assert_eq!(out, "---\nname: \"d # e\"     # a note\nnext: 1\n---\n");
        let out = set("---\nname: 'it''s # x' # note\n---\n", &[("name", Some(json!("x")))]);
        assert_eq!(out, "---\nname: x           # note\n---\n");
    }

    #[test]
    fn pages_without_front_matter_get_a_block() {
        assert_eq!(
            set("# Hi\n", &[("type", Some(json!("insight")))]),
            "---\ntype: insight\n---\n# Hi\n"
        );
        assert_eq!(set("# Hi\n", &[("type", None)]), "# Hi\n");
        assert_eq!(
            set("# Hi\r\n", &[("a", Some(json!(["x"])))]),
            "---\r\na: [x]\r\n---\r\n# Hi\r\n"
        );
    }

    #[test]
    fn crlf_line_ends_are_kept() {
        let page = "---\r\ntitle: T\r\nlist:\r\n  - a\r\nk: v # c\r\n---\r\nbody\r\n";
        let out = set(
            page,
            &[("k", Some(json!("w"))), ("list", Some(json!(["b", "c"]))), ("new", Some(json!(2)))],
        );
        assert_eq!(
            out,
            "---\r\ntitle: T\r\nlist:\r\n  - b\r\n  - c\r\nk: w # c\r\nnew: 2\r\n---\r\nbody\r\n"
        );
    }

    #[test]
    fn multi_line_text_is_a_literal_block() {
        let out = set("---\nnote: x\nz: 1\n---\n", &[("note", Some(json!("one\n\ntwo")))]);
        assert_eq!(out, "---\nnote: |-\n  one\n\n  two\nz: 1\n---\n");
        let fm = crate::FrontMatter::parse(front_matter_parts(&out).unwrap().1).unwrap();
        assert_eq!(fm.get("note"), Some(&json!("one\n\ntwo")));
        // …and replaced whole, blank line included.
        let again = set(&out, &[("note", Some(json!("three")))]);
        assert_eq!(again, "---\nnote: three\nz: 1\n---\n");
    }

    #[test]
    fn a_block_without_a_final_line_end_or_with_duplicates() {
        let out = set("---\na: 1\n---\n", &[("b", Some(json!(2)))]);
        assert_eq!(out, "---\na: 1\nb: 2\n---\n");
        let out = set("---\na: 1\na: 2\n---\n", &[("a", Some(json!(3)))]);
        assert_eq!(out, "---\na: 1\na: 3\n---\n", "the key YAML keeps is the one changed");
        let out = set("---\n---\nbody", &[("b", Some(json!("x")))]);
        assert_eq!(out, "---\nb: x\n---\nbody");
    }

    #[test]
    fn field_by_field_merges() {
        let base = "a: 1 # one\nb: 2\nc:\n  - x\n# end\n";
        let theirs = "a: 10 # one\nb: 2\nc:\n  - x\n# end\n";
        let yours = "a: 1 # one\nb: 20\nc:\n  - x\n  - y\nd: new\n# end\n";
        assert_eq!(
            merge_front_matter(base, theirs, yours).as_deref(),
            Some("a: 10 # one\nb: 20\nc:\n  - x\n  - y\nd: new\n# end\n")
        );
        assert_eq!(merge_front_matter(base, "a: 3\nb: 2\n", "a: 4\nb: 2\n"), None);
        // Removed on one side, untouched on the other: removed.
        assert_eq!(
            merge_front_matter("a: 1\nb: 2\n", "a: 1\n", "a: 5\nb: 2\n").as_deref(),
            Some("a: 5\n")
        );
        // Removed on one side, changed on the other: a person decides.
        assert_eq!(merge_front_matter("a: 1\nb: 2\n", "a: 1\n", "a: 1\nb: 3\n"), None);
        assert_eq!(merge_front_matter("a: 1\na: 2\n", "a: 1\n", "a: 3\n"), None);
    }
}
