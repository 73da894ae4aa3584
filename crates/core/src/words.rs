//! Enums spelled as a fixed set of words (a role, a kind of watch): one declaration gives the
//! enum, its word, `Display` and a `FromStr` whose error lists the words it accepts.

use crate::{Error, Result, truncate};

/// The longest piece of rejected input an error message echoes.
const ECHO_BYTES: usize = 40;

/// The words as a person reads them: `reader, editor or admin`.
pub fn word_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The index of the word `input` names (trimmed, any case), or an error saying that `what` (with
/// its article: "a role") is one of `words`.
pub fn parse_word(input: &str, what: &str, words: &[&str]) -> Result<usize> {
    let input = input.trim();
    words.iter().position(|w| w.eq_ignore_ascii_case(input)).ok_or_else(|| {
        Error::invalid(format!(
            "{what} is {}, not '{}'",
            word_list(words),
            truncate(input, ECHO_BYTES)
        ))
    })
}

/// Declares an enum whose every value is spelled as one word. Besides the enum (deriving `Debug`,
/// `Clone`, `Copy`, `PartialEq`, `Eq` and `Hash`, and whatever else its attributes say) it gives
/// `ALL`, `WORDS`, `as_str`, `Display` and `FromStr` (trimmed, any case; the error, kind
/// `InvalidInput`, lists the words accepted).
///
/// ```
/// casebook_core::word_enum! {
///     /// What an account may do.
///     #[derive(PartialOrd, Ord)]
///     pub enum Role("a role") { Reader = "reader", Admin = "admin" }
/// }
/// assert_eq!(" Admin".parse::<Role>().unwrap(), Role::Admin);
/// assert_eq!(Role::Reader.to_string(), "reader");
/// let e = "root".parse::<Role>().unwrap_err();
/// assert_eq!(e.message, "a role is reader or admin, not 'root'");
/// ```
#[macro_export]
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value's word, in the order declared.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<$name> {
                $crate::parse_word(s, $what, $name::WORDS).map(|i| $name::ALL[i])
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    word_enum! {
        enum Light("a light") {
            Red = "red",
            /// Documented variants keep their docs.
            Amber = "amber",
            Green = "green",
        }
    }

    #[test]
    fn words_round_trip_in_any_case() {
        for l in Light::ALL {
            assert_eq!(l.to_string().parse::<Light>().unwrap(), *l);
        }
        assert_eq!(" GREEN\n".parse::<Light>().unwrap(), Light::Green);
        assert_eq!(Light::WORDS, ["red", "amber", "green"]);
    }

    #[test]
    fn a_wrong_word_is_invalid_input_naming_the_words() {
        let e = "blue".parse::<Light>().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert_eq!(e.message, "a light is red, amber or green, not 'blue'");
        let e = "x".repeat(500).parse::<Light>().unwrap_err();
        assert!(e.message.ends_with(&format!("not '{}'", "x".repeat(40))));
    }

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(word_list(&[]), "");
        assert_eq!(word_list(&["page"]), "page");
        assert_eq!(word_list(&["page", "folder"]), "page or folder");
    }
}
