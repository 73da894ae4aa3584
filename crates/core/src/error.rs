//! The one error type of the library crates. Each error has a kind that the server maps to an HTTP
//! status exactly once, and a message meant for a person (lowercase, no trailing period).

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The page, folder or revision does not exist.
    NotFound,
    /// The request itself is wrong: a bad path, a malformed revision, an empty message.
    InvalidInput,
    /// The state moved on under the caller (and could not be merged).
    Conflict,
    /// The input is larger than allowed.
    TooLarge,
    /// The caller is not signed in and must be to do this.
    Unauthorized,
    /// The caller is signed in but may not do this.
    Forbidden,
    /// A dependency (the repository, the index) cannot serve right now.
    Unavailable,
    /// A bug or an IO failure: logged, never blamed on the user.
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One constructor for each kind: `Error::not_found("…")`.
macro_rules! constructors {
    ($($name:ident => $kind:ident),+ $(,)?) => {
        impl Error {
            $(
                #[doc = concat!("An error of the kind [`ErrorKind::", stringify!($kind), "`].")]
                pub fn $name(message: impl Into<String>) -> Error {
                    Error::new(ErrorKind::$kind, message)
                }
            )+
        }
    };
}

constructors! {
    not_found => NotFound,
    invalid => InvalidInput,
    conflict => Conflict,
    too_large => TooLarge,
    forbidden => Forbidden,
    unauthorized => Unauthorized,
    internal => Internal,
    unavailable => Unavailable,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }

    /// Prefixes the message with what was being done, keeping the kind.
    pub fn context(self, what: impl std::fmt::Display) -> Error {
        Error { kind: self.kind, message: format!("{what}: {}", self.message) }
    }
}
