//! Page types defined in the repository: one `.casebook/types/<name>.toml` file per type says
//! which fields a typed page (a case story, an insight) carries, of which kind, and which are
//! required. Parsing, validation and the text of a new page are pure: text in, values or
//! messages out. Nothing here touches git, and nothing here fails on what a page says: a page
//! that does not fit its type gets warnings, never an error.

use crate::fields::{Field, FieldKind};
use casebook_core::{FolderPath, PagePath};
use casebook_markdown::FrontMatter;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Where type definitions live in the content repository. The leading dot keeps them from
/// ever being pages.
pub const TYPES_DIR: &str = ".casebook/types/";

/// Front matter keys the wiki itself gives meaning to; a type cannot redefine them.
const RESERVED: &[&str] = &["title", "tags", "tag", "type"];
const MAX_FIELDS: usize = 64;

/// A page type: its fields and where new pages of it start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageType {
    /// What pages say in `type:`; the file's name when left out.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub description: String,
    /// The folder new pages of this type go to.
    #[serde(default)]
    pub folder: String,
    /// A page whose text (without its front matter) new pages start from.
    #[serde(default)]
    pub template: Option<String>,
    /// The text new pages start from, when there is no template page.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub fields: Vec<Field>,
}

/// A type file that could not be used.
#[derive(Debug, Clone, Serialize)]
pub struct TypeProblem {
    /// The file in the repository.
    pub file: String,
    /// The type name the file is for (its file name).
    pub name: String,
    pub message: String,
}

/// Every type of the wiki at one revision, with the files that could not be read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeSet {
    pub types: BTreeMap<String, Arc<PageType>>,
    pub problems: Vec<TypeProblem>,
    /// True when the repository defines no types and the built-in ones are used.
    pub builtin: bool,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `deal_type` → `Deal type`.
fn humanize(s: &str) -> String {
    let s = s.replace(['_', '-'], " ");
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => s,
    }
}

impl PageType {
    /// Reads a type file named `<file_name>.toml`. The message of an error says what to fix.
    pub fn parse(file_name: &str, text: &str) -> Result<PageType, String> {
        let mut t: PageType = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().replace('\n', "; ");
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {msg}")
                }
                None => msg,
            }
        })?;
        if t.name.is_empty() {
            t.name = file_name.to_string();
        }
        if !is_name(&t.name) {
            return Err(format!(
                "the type name `{}` must be lowercase letters, digits and dashes",
                t.name
            ));
        }
        if t.name != file_name {
            return Err(format!(
                "the file is named {file_name}.toml but says name = \"{}\"; they must agree",
                t.name
            ));
        }
        if t.label.trim().is_empty() {
            t.label = humanize(&t.name);
        }
        t.folder = t.folder.trim().trim_matches('/').to_string();
        if !t.folder.is_empty() {
            FolderPath::parse(&t.folder)
                .map_err(|e| format!("folder = \"{}\": {}", t.folder, e.message))?;
        }
        if let Some(tpl) = &t.template {
            PagePath::parse(tpl).map_err(|e| format!("template = \"{tpl}\": {}", e.message))?;
        }
        if t.fields.len() > MAX_FIELDS {
            return Err(format!("a type may have at most {MAX_FIELDS} fields"));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &mut t.fields {
            if !is_key(&f.key) {
                return Err(format!(
                    "the field key `{}` must be lowercase letters, digits and underscores, starting with a letter",
                    f.key
                ));
            }
            if RESERVED.contains(&f.key.as_str()) {
                return Err(format!(
                    "`{}` is given by every page already and cannot be a field",
                    f.key
                ));
            }
            if !seen.insert(f.key.clone()) {
                return Err(format!("the field `{}` is defined twice", f.key));
            }
            if f.label.trim().is_empty() {
                f.label = humanize(&f.key);
            }
            match f.kind {
                FieldKind::Enum => {
                    f.options = f.options.iter().map(|o| o.trim().to_string()).collect();
                    if f.options.is_empty() {
                        return Err(format!("the enum field `{}` needs a list of options", f.key));
                    }
                    let mut opts = std::collections::HashSet::new();
                    for o in &f.options {
                        if o.is_empty() || !opts.insert(o.to_lowercase()) {
                            return Err(format!(
                                "the options of `{}` must be distinct and not empty",
                                f.key
                            ));
                        }
                    }
                }
                other if f.long && other != FieldKind::Text => {
                    return Err(format!(
                        "`{}` is a {} field; only text fields can be long",
                        f.key,
                        other.as_str()
                    ));
                }
                other if !f.options.is_empty() => {
                    return Err(format!(
                        "`{}` is a {} field; only enum fields have options",
                        f.key,
                        other.as_str()
                    ));
                }
                _ => {}
            }
        }
        Ok(t)
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// What is wrong with a page's fields, one message each; empty when it fits.
    pub fn check(&self, fm: &FrontMatter) -> Vec<String> {
        self.fields.iter().filter_map(|f| f.check(fm.get(&f.key))).collect()
    }

    /// Reads the form of a new page: the value of each field as it goes into the front
    /// matter, or what to fix, by field key.
    pub fn read_form(
        &self,
        inputs: &HashMap<String, String>,
    ) -> Result<Vec<(String, Value)>, BTreeMap<String, String>> {
        let mut values = Vec::new();
        let mut errors = BTreeMap::new();
        for f in &self.fields {
            let raw = inputs.get(&f.key).map(String::as_str).unwrap_or("");
            match f.read_input(raw) {
                Ok(Some(v)) => values.push((f.key.clone(), v)),
                Ok(None) if f.required => {
                    errors.insert(f.key.clone(), "this field is required".to_string());
                }
                Ok(None) => {}
                Err(e) => {
                    errors.insert(f.key.clone(), e);
                }
            }
        }
        if errors.is_empty() { Ok(values) } else { Err(errors) }
    }
}

impl TypeSet {
    /// Reads the type files given as (path in the repository, content); files that are not
    /// `.toml` directly in the types folder are left alone.
    pub fn from_files(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> TypeSet {
        let mut set = TypeSet::default();
        let mut files: Vec<(String, Vec<u8>)> = files.into_iter().collect();
        files.sort();
        for (path, bytes) in files {
            let Some(name) = path
                .strip_prefix(TYPES_DIR)
                .and_then(|n| n.strip_suffix(".toml"))
                .filter(|n| !n.contains('/'))
            else {
                continue;
            };
            let text = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    set.problem(&path, name, "the file is not UTF-8 text".into());
                    continue;
                }
            };
            match PageType::parse(name, &text) {
                Ok(t) => {
                    set.types.insert(t.name.clone(), Arc::new(t));
                }
                Err(message) => set.problem(&path, name, message),
            }
        }
        set
    }

    /// Records a type file that could not be read at all.
    pub fn add_problem(&mut self, file: &str, message: String) {
        let name = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".toml").to_string();
        self.problem(file, &name, message);
    }

    fn problem(&mut self, file: &str, name: &str, message: String) {
        self.problems.push(TypeProblem { file: file.to_string(), name: name.to_string(), message });
    }

    /// The type of that name, without regard to case.
    pub fn get(&self, name: &str) -> Option<&Arc<PageType>> {
        let name = name.trim().to_ascii_lowercase();
        self.types.get(&name)
    }

    /// Why the type of that name could not be read, when its file is broken.
    pub fn problem_for(&self, name: &str) -> Option<&TypeProblem> {
        let name = name.trim().to_ascii_lowercase();
        self.problems.iter().find(|p| p.name == name)
    }

    /// The type a page's front matter names, and what is wrong with the page for it: its
    /// fields against the type, or the type's own file being broken. A `type:` naming no
    /// defined type is a free label, as it always was, and gets no warning.
    pub fn check(&self, fm: &FrontMatter) -> (Option<Arc<PageType>>, Vec<String>) {
        let Some(name) = fm.text("type") else {
            return (None, Vec::new());
        };
        if let Some(t) = self.get(&name) {
            return (Some(t.clone()), t.check(fm));
        }
        match self.problem_for(&name) {
            Some(p) => (
                None,
                vec![format!(
                    "the definition of the type `{}` ({}) cannot be read, so the fields are not checked: {}",
                    p.name, p.file, p.message
                )],
            ),
            None => (None, Vec::new()),
        }
    }
}

/// A YAML scalar for `s`: plain when that reads back as the same text, else double-quoted
/// (a JSON string is a valid YAML double-quoted scalar).
fn yaml_string(s: &str) -> String {
    const WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"];
    let plain = s.starts_with(|c: char| c.is_alphabetic())
        && !s.ends_with(' ')
        && s.chars().all(|c| c.is_alphanumeric() || " -_.&()'/+".contains(c))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain { s.to_string() } else { serde_json::to_string(s).unwrap_or_default() }
}

fn yaml_value(v: &Value) -> String {
    match v {
        Value::String(s) => yaml_string(s),
        Value::Array(items) => {
            format!("[{}]", items.iter().map(yaml_value).collect::<Vec<_>>().join(", "))
        }
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The text of a new page: front matter with the title, type, tags and field values, then
/// `body` with its first `# ` heading (if any) replaced by the title.
pub fn new_page_text(
    title: &str,
    type_name: &str,
    tags: &[String],
    values: &[(String, Value)],
    body: &str,
) -> String {
    let mut out = String::from("---\n");
    out.push_str(&format!("title: {}\n", yaml_string(title)));
    out.push_str(&format!("type: {}\n", yaml_string(type_name)));
    if !tags.is_empty() {
        let tags: Vec<Value> = tags.iter().map(|t| Value::String(t.clone())).collect();
        out.push_str(&format!("tags: {}\n", yaml_value(&Value::Array(tags))));
    }
    for (k, v) in values {
        out.push_str(&format!("{k}: {}\n", yaml_value(v)));
    }
    out.push_str("---\n\n");
    let body = body.trim_start_matches(['\n', '\r']);
    let mut text = String::new();
    let mut replaced = false;
    for line in body.split_inclusive('\n') {
        if !replaced && line.starts_with("# ") {
            text.push_str(&format!("# {title}\n"));
            replaced = true;
        } else {
            text.push_str(line);
        }
    }
    if !replaced {
        out.push_str(&format!("# {title}\n\n"));
    }
    out.push_str(&text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
label = "Case story"
folder = "cases/"
template = "templates/Case Story"

[[fields]]
key = "outcome"
kind = "enum"
options = ["won", "lost"]
required = true
facet = true

[[fields]]
key = "deal_size"
kind = "money"

[[fields]]
key = "closed"
kind = "date"

[[fields]]
key = "count"
kind = "number"

[[fields]]
key = "people"
kind = "list"

[[fields]]
key = "customer"
kind = "text"
required = true
"#;

    fn fm(yaml: &str) -> FrontMatter {
        FrontMatter::parse(yaml).unwrap()
    }

    #[test]
    fn a_good_type_file() {
        let t = PageType::parse("case-story", GOOD).unwrap();
        assert_eq!(t.name, "case-story");
        assert_eq!(t.folder, "cases");
        assert_eq!(t.fields.len(), 6);
        assert_eq!(t.field("deal_size").unwrap().label, "Deal size");
        assert!(t.field("outcome").unwrap().facet);
    }

    #[test]
    fn broken_type_files_say_what_is_wrong() {
        let cases = [
            ("x", "fields = [", "line"),
            ("x", "[[fields]]\nkey = \"a\"\nkind = \"colour\"", "colour"),
            ("x", "[[fields]]\nkey = \"a\"\nkind = \"enum\"", "needs a list of options"),
            ("x", "[[fields]]\nkey = \"a\"\nkind = \"text\"\noptions = [\"b\"]", "only enum"),
            (
                "x",
                "[[fields]]\nkey = \"a\"\nkind = \"text\"\n[[fields]]\nkey = \"a\"\nkind = \"date\"",
                "twice",
            ),
            ("x", "[[fields]]\nkey = \"title\"\nkind = \"text\"", "cannot be a field"),
            ("x", "[[fields]]\nkey = \"Bad Key\"\nkind = \"text\"", "lowercase"),
            ("x", "name = \"y\"", "must agree"),
            ("Bad Name", "", "lowercase"),
            ("x", "folder = \"../up\"", "folder"),
            ("x", "colour = \"red\"", "colour"),
            ("x", "[[fields]]\nkey = \"a\"\nkind = \"enum\"\noptions = [\"b\", \"B\"]", "distinct"),
        ];
        for (name, text, says) in cases {
            let err = PageType::parse(name, text).expect_err(text);
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn each_kind_is_validated() {
        let t = PageType::parse("case-story", GOOD).unwrap();
        assert!(
            t.check(&fm(
                "outcome: Won\ndeal_size: 240000\nclosed: 2024-11-28\ncount: 3\npeople: [a, b]\ncustomer: Acme"
            ))
            .is_empty()
        );
        assert!(
            t.check(&fm(
                "outcome: won\ndeal_size: \"$120k\"\ncount: \"1,200\"\npeople: a, b\ncustomer: 42"
            ))
            .is_empty()
        );
        let w = t.check(&fm(
            "outcome: maybe\ndeal_size: lots\nclosed: 2024-02-30\ncount: many\npeople: {a: 1}\ncustomer: [a]",
        ));
        assert_eq!(w.len(), 6, "{w:?}");
        assert!(w[0].contains("`maybe`") && w[0].contains("won, lost"), "{w:?}");
        assert!(w[1].contains("not an amount"));
        assert!(w[2].contains("not a date"));
        assert!(w[3].contains("not a number"));
        assert!(w[4].contains("list"));
        assert!(w[5].contains("single value"));
        let w = t.check(&fm("outcome: \"\"\ndeal_size: 5"));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w.iter().all(|m| m.contains("missing")));
    }

    #[test]
    fn the_form_reads_inputs_by_kind() {
        let t = PageType::parse("case-story", GOOD).unwrap();
        let inputs: HashMap<String, String> = [
            ("outcome", "WON"),
            ("deal_size", "$120k"),
            ("closed", "2025-01-31"),
            ("count", ""),
            ("people", "Ann, Bo ,"),
            ("customer", "Acme\r\nCorp"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let values = t.read_form(&inputs).unwrap();
        let got: HashMap<_, _> = values.into_iter().collect();
        assert_eq!(got["outcome"], "won");
        assert_eq!(got["deal_size"], 120000);
        assert_eq!(got["people"], serde_json::json!(["Ann", "Bo"]));
        assert_eq!(got["customer"], "Acme Corp");
        assert!(!got.contains_key("count"));
        let mut bad = inputs.clone();
        bad.insert("outcome".into(), "maybe".into());
        bad.insert("customer".into(), " ".into());
        bad.insert("closed".into(), "31/01/2025".into());
        let errors = t.read_form(&bad).unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["closed", "customer", "outcome"]);
    }

    #[test]
    fn a_new_page_reads_back_as_written() {
        let t = PageType::parse("case-story", GOOD).unwrap();
        let values = vec![
            ("outcome".to_string(), Value::from("won")),
            ("deal_size".to_string(), Value::from(120000)),
            ("closed".to_string(), Value::from("2025-01-31")),
            ("people".to_string(), serde_json::json!(["Ann", "yes", "a, b"])),
            ("customer".to_string(), Value::from("true")),
        ];
        let title = "Acme: \"the\" deal # 1";
        let text = new_page_text(
            title,
            "case-story",
            &["x".to_string()],
            &values,
            "# Customer name\n\nBody.\n",
        );
        let (raw, body) = casebook_markdown::split_front_matter(&text);
        let read = FrontMatter::parse(raw.unwrap()).unwrap();
        assert_eq!(read.text("title").as_deref(), Some(title));
        assert_eq!(read.get("customer"), Some(&Value::from("true")));
        assert_eq!(read.get("people"), Some(&serde_json::json!(["Ann", "yes", "a, b"])));
        assert_eq!(read.tags(), ["x"]);
        assert!(t.check(&read).is_empty(), "{:?}", t.check(&read));
        assert!(body.starts_with(&format!("\n# {title}\n\nBody.")), "{body:?}");
        let plain = new_page_text("Plain", "insight", &[], &[], "No heading.\n");
        assert!(plain.ends_with("---\n\n# Plain\n\nNo heading.\n"), "{plain}");
    }

    #[test]
    fn a_type_set_keeps_broken_files_as_problems() {
        let set = TypeSet::from_files([
            (format!("{TYPES_DIR}case-story.toml"), GOOD.as_bytes().to_vec()),
            (format!("{TYPES_DIR}insight.toml"), b"fields = [".to_vec()),
            (format!("{TYPES_DIR}README.md"), b"notes".to_vec()),
            (format!("{TYPES_DIR}old/x.toml"), b"".to_vec()),
        ]);
        assert_eq!(set.types.keys().collect::<Vec<_>>(), ["case-story"]);
        assert_eq!(set.problems.len(), 1);
        let (t, w) = set.check(&fm("type: Insight"));
        assert!(t.is_none());
        assert!(w[0].contains("cannot be read"), "{w:?}");
        let (t, w) = set.check(&fm("type: playbook"));
        assert!(t.is_none() && w.is_empty());
        let (t, w) = set.check(&fm("type: case-story\noutcome: won"));
        assert_eq!(t.unwrap().name, "case-story");
        assert_eq!(w.len(), 1, "{w:?}");
    }
}
