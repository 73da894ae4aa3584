//! Meaning-based search's model: a small sentence-embedding model run in-process on the CPU,
//! its tokenizer, and the passages a page is split into for it. Nothing leaves the machine.

mod model;
mod passages;
mod tokenizer;
mod vectors;

pub use model::{MAX_TOKENS, Model};
pub use passages::{Passage, split};
pub use tokenizer::Tokenizer;
pub use vectors::{EXCERPT_BYTES, PageMatch, Query, Vectors};
