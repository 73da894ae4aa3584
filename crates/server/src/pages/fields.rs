//! A typed page in the editor as a form: the type's fields as inputs above the body, and the
//! page rebuilt from what came back, changing only the front matter lines of fields the
//! person changed (`set_fields`), so a save diffs and merges like a hand edit of those lines.

use casebook_engine::{
    Field, FieldKind, FrontMatter, PageType, TypeSet, display_value, front_matter_parts, is_blank,
    parse_date, set_fields,
};
use minijinja::context;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Changes to front matter fields: a new value, or `None` to remove the field.
pub(crate) type Changes = Vec<(String, Option<Value>)>;
/// What to fix in a form, by field key.
pub(crate) type FieldErrors = BTreeMap<String, String>;

/// The prefix of a field's form control name: `field.outcome`.
pub(crate) const FIELD_PREFIX: &str = "field.";

/// A typed page split for the form: its type, the text before the body (fences, front matter
/// and the blank lines after it, carried through the form unchanged), the body and the fields.
pub(crate) struct TypedPage {
    pub page_type: Arc<PageType>,
    pub head: String,
    pub body: String,
    pub front_matter: FrontMatter,
}

impl TypedPage {
    /// The page as a form, when its front matter names a type of the wiki and can be read.
    pub(crate) fn split(types: &TypeSet, text: &str) -> Option<TypedPage> {
        let (open, block, close, body) = front_matter_parts(text)?;
        let front_matter = FrontMatter::parse(block).ok()?;
        let page_type = types.check(&front_matter).0?;
        // Blank lines after the front matter stay in the head: a text area drops a first
        // line break, and the body should come back as it went out.
        let lead: usize = body
            .split_inclusive('\n')
            .take_while(|l| l.trim_end_matches(['\r', '\n']).is_empty() && l.ends_with('\n'))
            .map(str::len)
            .sum();
        let head = format!("{open}{block}{close}{}", &body[..lead]);
        Some(TypedPage { page_type, head, body: body[lead..].to_string(), front_matter })
    }

    /// The text of a field's input as the form shows it for the page's value.
    pub(crate) fn shown(&self, f: &Field) -> String {
        match self.front_matter.get(&f.key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::Object(_)) => {
                self.front_matter.get(&f.key).map(Value::to_string).unwrap_or_default()
            }
            Some(v) => display_value(v),
        }
    }

    /// The changes to the front matter the form's inputs make, or what to fix, by field key.
    /// A field counts as changed only when its input differs from what the form showed, in
    /// text and in value, so a value written `$120k` or `Won` is left as it was written.
    pub(crate) fn changes(&self, inputs: &HashMap<String, String>) -> Result<Changes, FieldErrors> {
        let mut changes = Vec::new();
        let mut errors = BTreeMap::new();
        for f in &self.page_type.fields {
            // A field the form did not send (an old form, a script) is left alone.
            let Some(input) = inputs.get(&f.key) else { continue };
            let input = input.replace("\r\n", "\n");
            let shown = self.shown(f);
            if input.trim() == shown.trim() {
                continue;
            }
            let read = f.read_input(&input);
            if let (Ok(now), Ok(before)) = (&read, &f.read_input(&shown))
                && now == before
            {
                continue;
            }
            match read {
                Ok(None) if f.required => {
                    errors.insert(f.key.clone(), "this field is required".to_string());
                }
                Ok(v) => changes.push((f.key.clone(), v)),
                Err(e) => {
                    errors.insert(f.key.clone(), e);
                }
            }
        }
        if errors.is_empty() { Ok(changes) } else { Err(errors) }
    }

    /// The page's text with the form's changes.
    pub(crate) fn rebuild(&self, body: &str, changes: &[(String, Option<Value>)]) -> String {
        set_fields(&format!("{}{body}", self.head), changes)
    }

    /// The fields as the template draws them, with what the person typed (`inputs`, when the
    /// form comes back) and what to fix.
    pub(crate) fn view(
        &self,
        inputs: Option<&HashMap<String, String>>,
        errors: &BTreeMap<String, String>,
    ) -> minijinja::Value {
        let t = &self.page_type;
        // The currency goes beside the amount, when the type has both.
        let money = t.fields.iter().find(|f| f.kind == FieldKind::Money).map(|f| f.key.clone());
        let currency = t
            .field("currency")
            .filter(|c| money.is_some() && matches!(c.kind, FieldKind::Enum | FieldKind::Text));
        let untouched = t.fields.iter().all(|f| self.front_matter.get(&f.key).is_none_or(is_blank));
        let view_of = |f: &Field, with: Option<minijinja::Value>| {
            let value = match inputs.and_then(|i| i.get(&f.key)) {
                Some(typed) => typed.clone(),
                None => self.shown(f),
            };
            let stored = self.front_matter.get(&f.key).filter(|v| !is_blank(v));
            // The label beside the input names the field, and its `*` says it is required: a
            // missing value is only pointed out once some of the fields are filled in, so a
            // new page does not open full of complaints.
            let warning = match stored {
                Some(v) => f.check(Some(v)),
                None if f.required && !untouched => Some("Required, not filled in yet".into()),
                None => None,
            };
            field_view(f, value, errors.get(&f.key), warning, with)
        };
        let fields: Vec<minijinja::Value> = t
            .fields
            .iter()
            .filter(|f| currency.is_none_or(|c| c.key != f.key))
            .map(|f| {
                let with = currency.filter(|_| Some(&f.key) == money.as_ref());
                view_of(f, with.map(|c| view_of(c, None)))
            })
            .collect();
        context! {
            type_name => t.name,
            type_label => t.label,
            fields => fields,
            head => serde_json::to_string(&self.head).unwrap_or_default(),
            errors => !errors.is_empty(),
        }
    }
}

/// One field as the template draws it: the control's name, id and kind of input, its label,
/// help, options, value, and what is wrong with it.
fn field_view(
    f: &Field,
    value: String,
    error: Option<&String>,
    warning: Option<String>,
    currency: Option<minijinja::Value>,
) -> minijinja::Value {
    let trimmed = value.trim();
    // A browser shows a date or number input whose value it cannot read as empty, and sends
    // it back empty: such a value gets a text input, so saving keeps it.
    let (input, step, inputmode) = match f.kind {
        FieldKind::Text if f.long => ("textarea", None, None),
        FieldKind::Text | FieldKind::List => ("text", None, None),
        FieldKind::Number if trimmed.is_empty() || trimmed.parse::<f64>().is_ok() => {
            ("number", Some("any"), None)
        }
        FieldKind::Number | FieldKind::Money => ("text", None, Some("decimal")),
        FieldKind::Date if trimmed.is_empty() || parse_date(trimmed).is_some() => {
            ("date", None, None)
        }
        FieldKind::Date => ("text", None, None),
        FieldKind::Enum => ("select", None, None),
    };
    // A value that is not one of the options is offered too, so saving keeps it.
    let mut options: Vec<minijinja::Value> = f
        .options
        .iter()
        .map(|o| context! { value => o, selected => o.eq_ignore_ascii_case(trimmed) })
        .collect();
    if f.kind == FieldKind::Enum && !trimmed.is_empty() && f.option(trimmed).is_none() {
        options.push(context! { value => trimmed, selected => true, unknown => true });
    }
    let id = format!("field-{}", f.key);
    let warning = if error.is_some() { None } else { warning };
    let described: Vec<String> = [
        (!f.help.is_empty()).then(|| format!("{id}-help")),
        error.map(|_| format!("{id}-error")),
        warning.as_ref().map(|_| format!("{id}-warning")),
    ]
    .into_iter()
    .flatten()
    .collect();
    context! {
        key => f.key,
        name => format!("{FIELD_PREFIX}{}", f.key),
        id => id,
        label => f.label,
        kind => f.kind.as_str(),
        input => input,
        step => step,
        inputmode => inputmode,
        required => f.required,
        options => options,
        help => f.help,
        value => value,
        error => error,
        warning => warning,
        describedby => described.join(" "),
        currency => currency,
    }
}
