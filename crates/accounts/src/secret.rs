//! Random secrets, their stored digests, and the private database file.

use casebook_core::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// 32 random bytes from the operating system, as 64 hex digits.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    // Without the system's randomness no secret can be made safely; there is no fallback.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    hex(&bytes)
}

/// What is stored in place of a secret.
pub(crate) fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The CSRF token of a session, derived from its secret (which only the browser and the cookie
/// hold), so it needs no storage and cannot be guessed from outside.
pub fn csrf_token(session_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"casebook csrf\0");
    h.update(session_secret.as_bytes());
    hex(&h.finalize())
}

/// Creates the file readable and writable by its owner only (or tightens an existing one).
pub(crate) fn create_private(path: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::internal(format!("cannot create the accounts database {}: {e}", path.display()))
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        opts.open(path).map_err(fail)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    }
    #[cfg(not(unix))]
    {
        opts.open(path).map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_hex() {
        let a = new_secret();
        let b = new_secret();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert_eq!(csrf_token(&a), csrf_token(&a));
        assert_ne!(csrf_token(&a), a);
    }
}
