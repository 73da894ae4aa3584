//! The fields of page types: the kinds of value a field holds, checking a page's value against
//! its kind, reading a form's input into a value, and the numbers, amounts of money and dates
//! those kinds accept. Pure: values in, values or messages out.

use casebook_markdown::is_blank;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// A text field written over several lines: the editor gives it a text area, and its
    /// line breaks are kept.
    #[serde(default)]
    pub long: bool,
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
        self.options.iter().find(|o| o.eq_ignore_ascii_case(s)).map(String::as_str)
    }

    /// A form input as a front matter value; `None` when left empty.
    pub fn read_input(&self, raw: &str) -> Result<Option<Value>, String> {
        if self.long && self.kind == FieldKind::Text {
            let lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
            let text = lines.join("\n").trim().to_string();
            return Ok((!text.is_empty()).then_some(Value::String(text)));
        }
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
        serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)
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
    let digits: String = int.chars().filter(|c| !matches!(c, ',' | '_' | ' ')).collect();
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
    let t =
        t.trim_start_matches(['$', '€', '£', '¥']).trim_end_matches(['$', '€', '£', '¥']).trim();
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
    if !s[..4].bytes().chain(s[5..7].bytes()).chain(s[8..].bytes()).all(|c| c.is_ascii_digit()) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        for s in ["", "lots", "1,5", "12,34,567", "$", "k", "1.2.3", "NaN", "inf"] {
            assert_eq!(parse_money(s), None, "{s}");
        }
        assert_eq!(parse_number("1_000.5"), Some(1000.5));
        assert_eq!(parse_number("$5"), None);
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-1-01"), None);
        assert_eq!(parse_date("2024-13-01"), None);
    }
}
