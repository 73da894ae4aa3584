//! Where the tests find the real model, shared by the semantic, engine and server tests (the
//! others include this file by path).

use std::path::{Path, PathBuf};

/// `CASEBOOK_TEST_MODEL`, or `target/models/all-MiniLM-L6-v2` as `.ci/run` leaves it; `None`
/// (with "skipped" printed) without either, which fails the test under
/// `CASEBOOK_REQUIRE_MODEL=1` (CI).
pub fn test_model() -> Option<PathBuf> {
    let dir = std::env::var_os("CASEBOOK_TEST_MODEL").map(PathBuf::from).or_else(|| {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/models/all-MiniLM-L6-v2");
        dir.exists().then_some(dir)
    });
    if dir.is_none() {
        let why = "skipped: no model (set CASEBOOK_TEST_MODEL; .ci/run fetches one)";
        assert!(std::env::var("CASEBOOK_REQUIRE_MODEL").is_err(), "{why}");
        eprintln!("{why}");
    }
    dir
}
