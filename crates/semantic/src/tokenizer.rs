//! BERT's uncased WordPiece tokenizer, read from a `tokenizer.json`: text is cleaned, lower
//! cased and stripped of accents, split at white space and punctuation, and each word is cut
//! into the longest pieces the vocabulary holds (`##` marking a piece inside a word).

use casebook_core::{Error, Result};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// A word longer than this (in characters) is one unknown token, as in BERT.
const MAX_WORD_CHARS: usize = 100;

#[derive(Debug)]
pub struct Tokenizer {
    vocab: HashMap<String, u32>,
    cls: u32,
    sep: u32,
    unk: u32,
}

impl Tokenizer {
    /// Reads the vocabulary of a Hugging Face `tokenizer.json` with a WordPiece model.
    pub fn from_json(json: &str) -> Result<Tokenizer> {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::invalid(format!("tokenizer.json is not JSON: {e}")))?;
        let model = &v["model"];
        if model["type"] != "WordPiece" {
            return Err(Error::invalid("tokenizer.json: only a WordPiece model can be read"));
        }
        let vocab: HashMap<String, u32> = model["vocab"]
            .as_object()
            .ok_or_else(|| Error::invalid("tokenizer.json has no vocabulary"))?
            .iter()
            .filter_map(|(k, id)| Some((k.clone(), u32::try_from(id.as_u64()?).ok()?)))
            .collect();
        let id = |t: &str| {
            vocab
                .get(t)
                .copied()
                .ok_or_else(|| Error::invalid(format!("tokenizer.json: the vocabulary has no {t}")))
        };
        Ok(Tokenizer { cls: id("[CLS]")?, sep: id("[SEP]")?, unk: id("[UNK]")?, vocab })
    }

    /// The token ids of `text` between `[CLS]` and `[SEP]`, at most `max` in all.
    pub fn encode(&self, text: &str, max: usize) -> Vec<u32> {
        let mut ids = vec![self.cls];
        let room = max.saturating_sub(2);
        'words: for word in basic_words(text) {
            for piece in self.pieces(&word) {
                if ids.len() > room {
                    break 'words;
                }
                ids.push(piece);
            }
        }
        ids.push(self.sep);
        ids
    }

    /// The WordPiece ids of one word: greedy longest match from the left; a word with a part
    /// the vocabulary cannot spell is one `[UNK]`.
    fn pieces(&self, word: &str) -> Vec<u32> {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > MAX_WORD_CHARS {
            return vec![self.unk];
        }
        let mut out = Vec::new();
        let mut start = 0;
        let mut candidate = String::with_capacity(word.len() + 2);
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while end > start {
                candidate.clear();
                if start > 0 {
                    candidate.push_str("##");
                }
                let from = chars[start].0;
                let to = chars.get(end).map_or(word.len(), |c| c.0);
                candidate.push_str(&word[from..to]);
                if let Some(&id) = self.vocab.get(candidate.as_str()) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => out.push(id),
                None => return vec![self.unk],
            }
            start = end;
        }
        out
    }
}

/// BERT's basic tokenization: control characters dropped, CJK ideographs set apart, lower
/// cased, accents stripped (NFD without combining marks), split at white space and around
/// every punctuation character.
fn basic_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    for c in text.chars() {
        if c == '\0' || c == '\u{FFFD}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            flush(&mut word, &mut words);
            continue;
        }
        if is_cjk(c) || is_punctuation(c) {
            flush(&mut word, &mut words);
            words.push(c.to_lowercase().collect());
            continue;
        }
        for l in c.to_lowercase() {
            for d in std::iter::once(l).nfd() {
                if !is_combining_mark(d) {
                    word.push(d);
                }
            }
        }
    }
    flush(&mut word, &mut words);
    words
}

/// Punctuation as BERT counts it: every non-alphanumeric ASCII sign, Latin-1's punctuation
/// marks, and the general and CJK punctuation blocks.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '¡' | '§' | '«' | '¶' | '·' | '»' | '¿')
        || matches!(c as u32, 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003 | 0x3008..=0x3011)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// Combining marks (the accents NFD splits off).
fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        let vocab: Vec<&str> = vec![
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "cafe", ",", "!", "the",
        ];
        let map: serde_json::Map<String, serde_json::Value> =
            vocab.iter().enumerate().map(|(i, t)| (t.to_string(), i.into())).collect();
        let json = serde_json::json!({"model": {"type": "WordPiece", "vocab": map}});
        Tokenizer::from_json(&json.to_string()).unwrap()
    }

    #[test]
    fn words_are_cut_into_the_longest_pieces_and_accents_dropped() {
        let t = tiny();
        assert_eq!(t.encode("Unaffable, the CAFÉ!", 64), [2, 4, 5, 6, 8, 10, 7, 9, 3]);
        assert_eq!(t.encode("unknown", 64), [2, 1, 3], "a word the vocabulary cannot spell");
        assert_eq!(t.encode("the the the the", 4), [2, 10, 10, 3], "cut to the maximum");
    }

    #[test]
    fn basic_words_split_at_punctuation_and_space() {
        assert_eq!(
            basic_words("Hi,there\u{7}  you-all."),
            ["hi", ",", "there", "you", "-", "all", "."]
        );
        assert_eq!(basic_words("naïve Zoë"), ["naive", "zoe"]);
    }
}
