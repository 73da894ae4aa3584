//! Property tests of the path parser: arbitrary strings, and strings built from the pieces that
//! tend to break path handling. 256 cases a property by default; `PROPTEST_CASES=20000` for a
//! longer run (see ARCHITECTURE.md, Testing).

use super::*;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

/// Segments that exercise every rule, beside ordinary names.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9 _()-]{1,12}",
        2 => "\\PC{0,12}",
        2 => any::<String>(),
        3 => prop::sample::select(vec![
            "", ".", "..", "...", ".git", ".hidden", "a.", " a", "a ", "\t", "a\\b", "\\",
            "a\u{0}b", "a\nb", "\r", "\u{7f}", "\u{85}", "\u{a0}x", "x\u{3000}", "\u{200b}",
            "\u{feff}", "\u{202e}", "\u{2028}", "%2e%2e", "%2F", "%", "a%20b", "a#b", "a?b",
            "x.md", "index", "ünïcode", "页面", "😀", "a+b=c&d;e", "[x]", "<b>", "\"q\"",
        ])
        .prop_map(String::from),
        1 => Just("x".repeat(MAX_SEGMENT)),
        1 => Just("é".repeat(MAX_SEGMENT / 2 + 1)),
    ]
}

/// Paths from those segments, with the odd leading or trailing slash.
fn path_like() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(segment(), 1..8),
        prop::sample::select(vec!["", "", "", "/", "//"]),
        prop::sample::select(vec!["", "", "", "/", "//"]),
    )
        .prop_map(|(segs, lead, trail)| format!("{lead}{}{trail}", segs.join("/")))
}

fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![3 => path_like(), 1 => any::<String>(), 1 => "[a./\\\\ ]{0,16}"]
}

/// What every accepted path, page or folder, must be.
fn assert_safe(s: &str) -> std::result::Result<(), TestCaseError> {
    prop_assert!(s.len() <= MAX_PATH);
    prop_assert!(!s.starts_with('/') && !s.ends_with('/'), "{s:?}");
    for seg in s.split('/') {
        prop_assert!(!seg.is_empty(), "empty segment in {s:?}");
        prop_assert!(seg != "." && seg != "..", "dot segment in {s:?}");
        prop_assert!(!seg.starts_with('.'), "hidden name in {s:?}");
        prop_assert!(!seg.contains('\\'), "backslash in {s:?}");
        prop_assert!(!seg.chars().any(char::is_control), "control in {s:?}");
        prop_assert!(seg == seg.trim(), "white space around a name in {s:?}");
        prop_assert!(seg.len() <= MAX_SEGMENT);
    }
    Ok(())
}

/// The URL form decodes, segment by segment, back to the path, and hides nothing.
fn assert_url_round_trip(path: &str, encoded: &str) -> std::result::Result<(), TestCaseError> {
    prop_assert!(
        encoded.bytes().all(|b| b.is_ascii_graphic() && !b"\"#<>?`{}\\^|[]&+;= ".contains(&b)),
        "{encoded:?}"
    );
    let decoded: Vec<String> = encoded
        .split('/')
        .map(|seg| percent_decode_str(seg).decode_utf8().map(|s| s.into_owned()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| TestCaseError::fail(format!("{encoded:?} does not decode: {e}")))?;
    prop_assert_eq!(decoded.join("/"), path);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn page_paths_accepted_are_safe_and_round_trip(s in any_path()) {
        let Ok(p) = PagePath::parse(&s) else {
            return Ok(());
        };
        prop_assert_eq!(p.as_str(), s.as_str());
        assert_safe(p.as_str())?;
        prop_assert_eq!(p.to_string(), s.clone());
        prop_assert_eq!(PagePath::parse(&p.to_string()).ok(), Some(p.clone()));
        prop_assert_eq!(serde_json::to_value(&p).unwrap(), serde_json::Value::String(s.clone()));
        assert_url_round_trip(p.as_str(), &p.url_encoded())?;
        // The file and back.
        prop_assert_eq!(p.file(), format!("{s}.md"));
        prop_assert_eq!(PagePath::from_file(&p.file()), Some(p.clone()));
        // Name and folder put back together.
        let folder = p.folder();
        prop_assert_eq!(FolderPath::parse(folder.as_str()).ok(), Some(folder.clone()));
        prop_assert!(folder.contains(p.as_str()));
        prop_assert_eq!(PagePath::in_folder(&folder, p.name()).ok(), Some(p.clone()));
        prop_assert_eq!(folder.join(p.name()), s.clone());
        prop_assert_eq!(p.segments().collect::<Vec<_>>().join("/"), s);
    }

    #[test]
    fn folder_paths_accepted_are_safe_and_round_trip(s in any_path()) {
        let Ok(f) = FolderPath::parse(&s) else {
            return Ok(());
        };
        prop_assert_eq!(f.as_str(), s.trim_matches('/'));
        if f.is_root() {
            prop_assert_eq!(f.url_encoded(), "");
            prop_assert_eq!(f.parent(), None);
            return Ok(());
        }
        assert_safe(f.as_str())?;
        prop_assert_eq!(FolderPath::parse(&f.to_string()).ok(), Some(f.clone()));
        assert_url_round_trip(f.as_str(), &f.url_encoded())?;
        // A folder's path is also a page's path, and the page lies in the folder's parent.
        let page = PagePath::parse(f.as_str());
        prop_assert!(page.is_ok(), "{:?}", page);
        let parent = f.parent().unwrap();
        prop_assert_eq!(page.unwrap().folder(), parent.clone());
        prop_assert_eq!(parent.join(f.name()), f.as_str());
        let ancestors = f.ancestors();
        prop_assert_eq!(ancestors.last(), Some(&f));
        for a in &ancestors {
            prop_assert_eq!(FolderPath::parse(a.as_str()).ok(), Some(a.clone()));
            prop_assert!(a == &f || a.contains(f.as_str()));
        }
    }

    #[test]
    fn file_names_parse_only_as_pages(s in any_path()) {
        // `from_file` accepts exactly the `.md` files whose stem is a page path.
        match PagePath::from_file(&s) {
            Some(p) => {
                prop_assert_eq!(p.file(), s);
                assert_safe(p.as_str())?;
            }
            None => prop_assert!(
                s.strip_suffix(".md").is_none_or(|stem| PagePath::parse(stem).is_err())
            ),
        }
    }

    #[test]
    fn parse_never_panics_on_anything(s in any::<String>()) {
        let _ = PagePath::parse(&s);
        let _ = FolderPath::parse(&s);
        let _ = PagePath::from_file(&s);
        let _ = PagePath::in_folder(&FolderPath::root(), &s);
    }

    #[test]
    fn contains_agrees_with_segments(f in path_like(), p in path_like()) {
        let (Ok(f), Ok(p)) = (FolderPath::parse(&f), PagePath::parse(&p)) else {
            return Ok(());
        };
        let fs: Vec<&str> = f.as_str().split('/').collect();
        let ps: Vec<&str> = p.segments().collect();
        let below = f.is_root() || (ps.len() > fs.len() && ps[..fs.len()] == fs[..]);
        prop_assert_eq!(f.contains(p.as_str()), below);
    }
}
