//! Page types defined in the repository: one `.casebook/types/<name>.toml` file per type says
//! which fields a typed page (a case story, an insight) carries, of which kind, and which are
//! required. Parsing, validation and the text of a new page are pure: text in, values or
//! messages out. Nothing here touches git, and nothing here fails on what a page says: a page
//! that does not fit its type gets warnings, never an error.

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

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// A number: `12`, `3.5`, `1,200`.
    Number,
    /// An amount: `120000`, `120,000`, `$120k`, `EUR 1.2m`; stored by the form as a plain number.
    Money,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of the listed `options`.
    Enum,
    /// Several values: a YAML list, or text separated by commas.
    List,
}

impl FieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Money => "money",
            FieldKind::Date => "date",
            FieldKind::Enum => "enum",
            FieldKind::List => "list",
        }
    }

    /// Whether the browser filters this kind by a range rather than by value.
    pub fn is_range(self) -> bool {
        matches!(self, FieldKind::Number | FieldKind::Money | FieldKind::Date)
    }
}

/// One field of a type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub key: String,
    #[serde(default)]
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// The allowed values of an `enum` field.
    #[serde(default)]
    pub options: Vec<String>,
    /// Offered as a filter in the browser of records of this type.
    #[serde(default)]
    pub facet: bool,
    /// A hint shown under the field in the form.
    #[serde(default)]
    pub help: String,
}

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
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
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
                        return Err(format!(
                            "the enum field `{}` needs a list of options",
                            f.key
                        ));
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
        self.fields
            .iter()
            .filter_map(|f| f.check(fm.get(&f.key)))
            .collect()
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
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }
}

/// Whether a front matter value counts as not given.
fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Field {
    /// What is wrong with the field's value in a page, if anything.
    pub fn check(&self, value: Option<&Value>) -> Option<String> {
        let label = &self.label;
        let v = match value {
            Some(v) if !is_blank(v) => v,
            _ if self.required => return Some(format!("{label} (`{}`) is missing", self.key)),
            _ => return None,
        };
        let shown = || scalar_text(v).unwrap_or_else(|| v.to_string());
        let bad = |what: &str| Some(format!("{label} is `{}`, {what}", shown()));
        match self.kind {
            FieldKind::Text => match v {
                Value::Array(_) | Value::Object(_) => {
                    Some(format!("{label} should be a single value, not a list"))
                }
                _ => None,
            },
            FieldKind::Number => match v {
                Value::Number(_) => None,
                Value::String(s) if parse_number(s).is_some() => None,
                _ => bad("which is not a number"),
            },
            FieldKind::Money => match v {
                Value::Number(_) => None,
                Value::String(s) if parse_money(s).is_some() => None,
                _ => bad("which is not an amount (write it like 120000, 120,000 or $120k)"),
            },
            FieldKind::Date => match v {
                Value::String(s) if parse_date(s).is_some() => None,
                _ => bad("which is not a date written YYYY-MM-DD"),
            },
            FieldKind::Enum => match scalar_text(v) {
                Some(s) if self.option(&s).is_some() => None,
                _ => bad(&format!("which is not one of {}", self.options.join(", "))),
            },
            FieldKind::List => match v {
                Value::Array(items) if items.iter().all(|i| scalar_text(i).is_some()) => None,
                Value::String(_) => None,
                _ => Some(format!("{label} should be a list of values")),
            },
        }
    }

    /// The option `s` stands for, matched without regard to case.
    pub fn option(&self, s: &str) -> Option<&str> {
        let s = s.trim();
        self.options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(s))
            .map(String::as_str)
    }

    /// A form input as a front matter value; `None` when left empty.
    pub fn read_input(&self, raw: &str) -> Result<Option<Value>, String> {
        // One line: line breaks and runs of spaces become one space.
        let raw = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let raw = raw.as_str();
        if raw.is_empty() {
            return Ok(None);
        }
        Ok(Some(match self.kind {
            FieldKind::Text => Value::String(raw.to_string()),
            FieldKind::Number => {
                number_value(parse_number(raw).ok_or_else(|| format!("`{raw}` is not a number"))?)
            }
            FieldKind::Money => number_value(parse_money(raw).ok_or_else(|| {
                format!("`{raw}` is not an amount; write it like 120000, 120,000 or $120k")
            })?),
            FieldKind::Date => {
                parse_date(raw).ok_or_else(|| format!("`{raw}` is not a date (YYYY-MM-DD)"))?;
                Value::String(raw.to_string())
            }
            FieldKind::Enum => Value::String(
                self.option(raw)
                    .ok_or_else(|| format!("choose one of {}", self.options.join(", ")))?
                    .to_string(),
            ),
            FieldKind::List => {
                let items: Vec<Value> = raw
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect();
                if items.is_empty() {
                    return Ok(None);
                }
                Value::Array(items)
            }
        }))
    }

    /// A page's value of this field as a number, for sorting and range filters (money and
    /// numbers; dates are compared as text).
    pub fn number_of(&self, v: &Value) -> Option<f64> {
        match (self.kind, v) {
            (FieldKind::Number | FieldKind::Money, Value::Number(n)) => n.as_f64(),
            (FieldKind::Number, Value::String(s)) => parse_number(s),
            (FieldKind::Money, Value::String(s)) => parse_money(s),
            _ => None,
        }
    }
}

fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Digits with an optional sign, decimal point and thousands separators (`,` `_` or spaces;
/// a comma must separate groups of three, so `1,5` is refused rather than misread).
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let unsigned = int.strip_prefix('-').unwrap_or(int);
    if int.contains(',') {
        let mut groups = unsigned.split(',');
        let first = groups.next()?;
        if first.is_empty() || first.len() > 3 || groups.any(|g| g.len() != 3) {
            return None;
        }
    }
    let digits: String = int
        .chars()
        .filter(|c| !matches!(c, ',' | '_' | ' '))
        .collect();
    let mut text = digits;
    if let Some(f) = frac {
        text.push('.');
        text.push_str(f);
    }
    let body = text.strip_prefix('-').unwrap_or(&text);
    if body.is_empty()
        || !body.chars().all(|c| c.is_ascii_digit() || c == '.')
        || !body.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// An amount of money: a number as [`parse_number`] reads it, with an optional currency sign
/// (`$ € £ ¥`) or three-letter code before or after it, and an optional `k` (thousand) or `m`
/// (million) after it: `120000`, `120,000`, `$120k`, `EUR 1.2m`, `95 000 USD`.
pub fn parse_money(s: &str) -> Option<f64> {
    let mut t = s.trim();
    let strip_code = |t: &str| -> String {
        let t = t.trim();
        if t.len() > 3 {
            let (head, rest) = t.split_at(3);
            if head.chars().all(|c| c.is_ascii_uppercase()) {
                return rest.trim().to_string();
            }
            let (rest, tail) = t.split_at(t.len() - 3);
            if tail.chars().all(|c| c.is_ascii_uppercase()) {
                return rest.trim().to_string();
            }
        }
        t.to_string()
    };
    let owned = strip_code(t);
    t = owned.as_str();
    let t = t
        .trim_start_matches(['$', '€', '£', '¥'])
        .trim_end_matches(['$', '€', '£', '¥'])
        .trim();
    let (num, factor) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        _ => (t, 1.0),
    };
    parse_number(num).map(|n| n * factor)
}

/// `YYYY-MM-DD` naming a real day.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = s[..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..].parse().ok()?;
    if !s[..4]
        .bytes()
        .chain(s[5..7].bytes())
        .chain(s[8..].bytes())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((y, m, d))
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
        let name = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".toml")
            .to_string();
        self.problem(file, &name, message);
    }

    fn problem(&mut self, file: &str, name: &str, message: String) {
        self.problems.push(TypeProblem {
            file: file.to_string(),
            name: name.to_string(),
            message,
        });
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
    const WORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ];
    let plain = s.starts_with(|c: char| c.is_alphabetic())
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_alphanumeric() || " -_.&()'/+".contains(c))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn yaml_value(v: &Value) -> String {
    match v {
        Value::String(s) => yaml_string(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(yaml_value).collect::<Vec<_>>().join(", ")
        ),
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
            (
                "x",
                "[[fields]]\nkey = \"a\"\nkind = \"enum\"",
                "needs a list of options",
            ),
            (
                "x",
                "[[fields]]\nkey = \"a\"\nkind = \"text\"\noptions = [\"b\"]",
                "only enum",
            ),
            (
                "x",
                "[[fields]]\nkey = \"a\"\nkind = \"text\"\n[[fields]]\nkey = \"a\"\nkind = \"date\"",
                "twice",
            ),
            (
                "x",
                "[[fields]]\nkey = \"title\"\nkind = \"text\"",
                "cannot be a field",
            ),
            (
                "x",
                "[[fields]]\nkey = \"Bad Key\"\nkind = \"text\"",
                "lowercase",
            ),
            ("x", "name = \"y\"", "must agree"),
            ("Bad Name", "", "lowercase"),
            ("x", "folder = \"../up\"", "folder"),
            ("x", "colour = \"red\"", "colour"),
            (
                "x",
                "[[fields]]\nkey = \"a\"\nkind = \"enum\"\noptions = [\"b\", \"B\"]",
                "distinct",
            ),
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
        assert!(
            w[0].contains("`maybe`") && w[0].contains("won, lost"),
            "{w:?}"
        );
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
    fn money_numbers_and_dates() {
        for (s, n) in [
            ("120000", 120000.0),
            ("120,000", 120000.0),
            ("$120k", 120000.0),
            ("EUR 1.5m", 1_500_000.0),
            ("95 000 USD", 95000.0),
            ("€240,000.50", 240000.5),
            ("-3", -3.0),
        ] {
            assert_eq!(parse_money(s), Some(n), "{s}");
        }
        for s in [
            "",
            "lots",
            "1,5",
            "12,34,567",
            "$",
            "k",
            "1.2.3",
            "NaN",
            "inf",
        ] {
            assert_eq!(parse_money(s), None, "{s}");
        }
        assert_eq!(parse_number("1_000.5"), Some(1000.5));
        assert_eq!(parse_number("$5"), None);
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-1-01"), None);
        assert_eq!(parse_date("2024-13-01"), None);
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
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["closed", "customer", "outcome"]
        );
    }

    #[test]
    fn a_new_page_reads_back_as_written() {
        let t = PageType::parse("case-story", GOOD).unwrap();
        let values = vec![
            ("outcome".to_string(), Value::from("won")),
            ("deal_size".to_string(), Value::from(120000)),
            ("closed".to_string(), Value::from("2025-01-31")),
            (
                "people".to_string(),
                serde_json::json!(["Ann", "yes", "a, b"]),
            ),
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
        assert_eq!(
            read.get("people"),
            Some(&serde_json::json!(["Ann", "yes", "a, b"]))
        );
        assert_eq!(read.tags(), ["x"]);
        assert!(t.check(&read).is_empty(), "{:?}", t.check(&read));
        assert!(
            body.starts_with(&format!("\n# {title}\n\nBody.")),
            "{body:?}"
        );
        let plain = new_page_text("Plain", "insight", &[], &[], "No heading.\n");
        assert!(
            plain.ends_with("---\n\n# Plain\n\nNo heading.\n"),
            "{plain}"
        );
    }

    #[test]
    fn a_type_set_keeps_broken_files_as_problems() {
        let set = TypeSet::from_files([
            (
                format!("{TYPES_DIR}case-story.toml"),
                GOOD.as_bytes().to_vec(),
            ),
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
