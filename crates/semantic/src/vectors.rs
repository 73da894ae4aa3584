//! The passages' embeddings of every page, kept in memory as 8-bit numbers (a scale per
//! passage: a quarter of the size of floats, near enough for ranking) and on disk as an
//! append-only log in the data dir. They are derived data: a torn write at the end of the log
//! (a crash) is cut off when it is opened, and what is missing is embedded again. The log
//! starts with the model's name and size; a log of another model is set aside, not read.

use casebook_core::{Error, Result};
use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 6] = b"CBVEC\x01";
const PUT: u8 = 1;
const REMOVE: u8 = 2;
/// The longest excerpt of a passage kept for snippets, in bytes.
pub const EXCERPT_BYTES: usize = 320;

/// One passage's embedding, with what a hit shows of it.
#[derive(Debug, Clone)]
pub struct StoredPassage {
    pub heading: String,
    pub excerpt: String,
    scale: f32,
    q: Vec<i8>,
}

#[derive(Debug)]
struct PageVectors {
    version: String,
    passages: Vec<StoredPassage>,
}

/// A page's nearest passage to a query.
#[derive(Debug, Clone, PartialEq)]
pub struct PageMatch {
    pub path: String,
    /// The cosine similarity of the passage and the query (-1 to 1).
    pub score: f32,
    pub heading: String,
    pub excerpt: String,
}

/// A query made ready for the 8-bit passages.
#[derive(Debug, Clone)]
pub struct Query {
    q: Vec<i8>,
    scale: f32,
}

impl Query {
    pub fn new(embedding: &[f32]) -> Query {
        let (q, scale) = quantise(embedding);
        Query { q, scale }
    }

    fn similarity(&self, p: &StoredPassage) -> f32 {
        let dot: i32 = self.q.iter().zip(&p.q).map(|(a, b)| i32::from(*a) * i32::from(*b)).sum();
        dot as f32 * self.scale * p.scale
    }
}

fn quantise(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    (v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect(), scale)
}

#[derive(Debug)]
pub struct Vectors {
    path: PathBuf,
    model: String,
    dim: usize,
    pages: HashMap<String, PageVectors>,
    log: BufWriter<std::fs::File>,
    /// Bytes in the log, and bytes its live records would take.
    log_bytes: u64,
    live_bytes: u64,
}

impl Vectors {
    /// Opens (or starts) the log at `path` for the model `model` of `dim` numbers.
    pub fn open(path: &Path, model: &str, dim: usize) -> Result<Vectors> {
        let io = |what: &str| {
            let path = path.display().to_string();
            let what = what.to_string();
            move |e: std::io::Error| Error::internal(format!("{what} {path}: {e}"))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("cannot make the folder of"))?;
        }
        let header = header(model, dim);
        let mut pages = HashMap::new();
        let mut good = 0u64;
        let mut log_bytes = 0u64;
        if let Ok(mut f) = std::fs::File::open(path) {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).map_err(io("cannot read"))?;
            if bytes.starts_with(&header) {
                good = replay(&bytes, header.len(), dim, &mut pages) as u64;
                log_bytes = good;
                if good < bytes.len() as u64 {
                    tracing::warn!(path = %path.display(), kept = good, "the end of the vector log was torn; it is cut off");
                }
            } else {
                let aside = path.with_extension("other-model");
                tracing::info!(path = %path.display(), "the vector log is of another model; it is set aside and the pages embedded again");
                std::fs::rename(path, &aside).map_err(io("cannot set aside"))?;
            }
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(io("cannot open"))?;
        if good == 0 {
            file.set_len(0).map_err(io("cannot empty"))?;
            file.write_all(&header).map_err(io("cannot write"))?;
            log_bytes = header.len() as u64;
        } else {
            file.set_len(good).map_err(io("cannot cut"))?;
        }
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0)).map_err(io("cannot seek in"))?;
        let mut v = Vectors {
            path: path.to_path_buf(),
            model: model.to_string(),
            dim,
            pages,
            log: BufWriter::new(file),
            log_bytes,
            live_bytes: 0,
        };
        v.live_bytes = v.measure_live();
        Ok(v)
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// How many pages have vectors.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// How many passages have vectors.
    pub fn passages(&self) -> usize {
        self.pages.values().map(|p| p.passages.len()).sum()
    }

    /// The version (blob id) of the page's vectors, if it has any.
    pub fn version(&self, page: &str) -> Option<&str> {
        self.pages.get(page).map(|p| p.version.as_str())
    }

    /// The version (blob id) of each page with vectors.
    pub fn versions(&self) -> HashMap<String, String> {
        self.pages.iter().map(|(k, v)| (k.clone(), v.version.clone())).collect()
    }

    /// Sets the passages of `page` at `version`: (heading, text, embedding) each.
    pub fn put(
        &mut self,
        page: &str,
        version: &str,
        passages: Vec<(String, String, Vec<f32>)>,
    ) -> Result<()> {
        let stored: Vec<StoredPassage> = passages
            .into_iter()
            .map(|(heading, text, e)| {
                let (q, scale) = quantise(&e);
                StoredPassage { heading, excerpt: excerpt(&text), scale, q }
            })
            .collect();
        let rec = put_record(page, version, &stored);
        self.append(&rec)?;
        if let Some(old) = self.pages.remove(page) {
            self.live_bytes -= put_record(page, &old.version, &old.passages).len() as u64 + 8;
        }
        self.live_bytes += rec.len() as u64 + 8;
        self.pages.insert(
            page.to_string(),
            PageVectors { version: version.to_string(), passages: stored },
        );
        Ok(())
    }

    /// Drops the vectors of `page`.
    pub fn remove(&mut self, page: &str) -> Result<()> {
        let Some(old) = self.pages.remove(page) else { return Ok(()) };
        self.live_bytes -= put_record(page, &old.version, &old.passages).len() as u64 + 8;
        let mut rec = vec![REMOVE];
        put_str(&mut rec, page);
        self.append(&rec)
    }

    /// Writes what was appended to the file, and compacts the log when most of it is dead.
    pub fn flush(&mut self) -> Result<()> {
        self.log
            .flush()
            .map_err(|e| Error::internal(format!("cannot write the vector log: {e}")))?;
        if self.log_bytes > 2 * self.live_bytes + (1 << 20) {
            self.compact()?;
        }
        Ok(())
    }

    /// The `k` pages whose best passage is nearest to `query`, among those `sees` lets through.
    pub fn nearest(&self, query: &Query, k: usize, sees: &dyn Fn(&str) -> bool) -> Vec<PageMatch> {
        let mut best: Vec<(f32, &str, &StoredPassage)> = Vec::with_capacity(self.pages.len());
        for (path, page) in &self.pages {
            if let Some((score, p)) = best_passage(query, page)
                && sees(path)
            {
                best.push((score, path, p));
            }
        }
        let k = k.min(best.len());
        if k == 0 {
            return Vec::new();
        }
        best.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        best.truncate(k);
        best.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        best.into_iter().map(|(score, path, p)| matched(path, score, p)).collect()
    }

    /// The nearest passage of `page` to `query`, if the page has vectors.
    pub fn score(&self, query: &Query, page: &str) -> Option<PageMatch> {
        let (score, p) = best_passage(query, self.pages.get(page)?)?;
        Some(matched(page, score, p))
    }

    fn append(&mut self, payload: &[u8]) -> Result<()> {
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        head[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
        self.log
            .write_all(&head)
            .and_then(|()| self.log.write_all(payload))
            .map_err(|e| Error::internal(format!("cannot write the vector log: {e}")))?;
        self.log_bytes += 8 + payload.len() as u64;
        Ok(())
    }

    fn measure_live(&self) -> u64 {
        self.pages
            .iter()
            .map(|(k, v)| put_record(k, &v.version, &v.passages).len() as u64 + 8)
            .sum()
    }

    /// Writes the live records to a new log and puts it in the old one's place.
    fn compact(&mut self) -> Result<()> {
        let tmp = self.path.with_extension("compacting");
        let err =
            |e: std::io::Error| Error::internal(format!("cannot compact the vector log: {e}"));
        let mut out = BufWriter::new(std::fs::File::create(&tmp).map_err(err)?);
        out.write_all(&header(&self.model, self.dim)).map_err(err)?;
        let mut bytes = header(&self.model, self.dim).len() as u64;
        for (path, page) in &self.pages {
            let rec = put_record(path, &page.version, &page.passages);
            out.write_all(&(rec.len() as u32).to_le_bytes()).map_err(err)?;
            out.write_all(&crc32fast::hash(&rec).to_le_bytes()).map_err(err)?;
            out.write_all(&rec).map_err(err)?;
            bytes += 8 + rec.len() as u64;
        }
        let file = out.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        let mut file = std::fs::OpenOptions::new().append(true).open(&self.path).map_err(err)?;
        file.flush().map_err(err)?;
        self.log = BufWriter::new(file);
        self.log_bytes = bytes;
        self.live_bytes = bytes - header(&self.model, self.dim).len() as u64;
        Ok(())
    }
}

fn best_passage<'a>(query: &Query, page: &'a PageVectors) -> Option<(f32, &'a StoredPassage)> {
    page.passages.iter().map(|p| (query.similarity(p), p)).max_by(|a, b| a.0.total_cmp(&b.0))
}

fn matched(path: &str, score: f32, p: &StoredPassage) -> PageMatch {
    PageMatch {
        path: path.to_string(),
        score,
        heading: p.heading.clone(),
        excerpt: p.excerpt.clone(),
    }
}

/// The start of a passage's text, cut at a word end.
fn excerpt(text: &str) -> String {
    if text.len() <= EXCERPT_BYTES {
        return text.to_string();
    }
    let mut end = EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text[..end].rfind(char::is_whitespace).unwrap_or(end);
    format!("{}…", text[..cut].trim_end())
}

fn header(model: &str, dim: usize) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&(dim as u32).to_le_bytes());
    put_str(&mut h, model);
    h
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_record(page: &str, version: &str, passages: &[StoredPassage]) -> Vec<u8> {
    let mut rec = vec![PUT];
    put_str(&mut rec, page);
    put_str(&mut rec, version);
    rec.extend_from_slice(&(passages.len() as u32).to_le_bytes());
    for p in passages {
        put_str(&mut rec, &p.heading);
        put_str(&mut rec, &p.excerpt);
        rec.extend_from_slice(&p.scale.to_le_bytes());
        rec.extend(p.q.iter().map(|v| *v as u8));
    }
    rec
}

/// Reads records from `bytes` at `at` into `pages`; answers where the last whole, sound record
/// ends.
fn replay(
    bytes: &[u8],
    mut at: usize,
    dim: usize,
    pages: &mut HashMap<String, PageVectors>,
) -> usize {
    loop {
        let Some(head) = bytes.get(at..at + 8) else { return at };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let sum = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else { return at };
        if crc32fast::hash(payload) != sum {
            return at;
        }
        let mut r = Reader { bytes: payload, at: 0 };
        let ok = (|| {
            match r.u8()? {
                PUT => {
                    let page = r.str()?;
                    let version = r.str()?;
                    let n = r.u32()? as usize;
                    let mut passages = Vec::with_capacity(n.min(4096));
                    for _ in 0..n {
                        let heading = r.str()?;
                        let excerpt = r.str()?;
                        let scale = f32::from_le_bytes(r.take(4)?.try_into().ok()?);
                        let q = r.take(dim)?.iter().map(|b| *b as i8).collect();
                        passages.push(StoredPassage { heading, excerpt, scale, q });
                    }
                    pages.insert(page, PageVectors { version, passages });
                }
                REMOVE => {
                    pages.remove(&r.str()?);
                }
                _ => return None,
            }
            Some(())
        })();
        if ok.is_none() {
            return at;
        }
        at += 8 + len;
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.bytes.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..8).map(|i| ((i * 7 + seed * 13) % 11) as f32 - 5.0).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn vectors_survive_a_reopen_a_torn_tail_and_a_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.log");
        let mut v = Vectors::open(&path, "m", 8).unwrap();
        v.put(
            "a",
            "1",
            vec![("A".into(), "alpha".into(), unit(1)), ("A2".into(), "x".into(), unit(2))],
        )
        .unwrap();
        v.put("b", "1", vec![("B".into(), "beta".into(), unit(3))]).unwrap();
        v.put("a", "2", vec![("A".into(), "alpha two".into(), unit(4))]).unwrap();
        v.remove("b").unwrap();
        v.put("c", "1", vec![("C".into(), "gamma".into(), unit(5))]).unwrap();
        v.flush().unwrap();
        let q = Query::new(&unit(4));
        let top = v.nearest(&q, 1, &|_| true);
        assert_eq!((top[0].path.as_str(), top[0].excerpt.as_str()), ("a", "alpha two"));
        assert!((top[0].score - 1.0).abs() < 0.02, "{}", top[0].score);
        drop(v);
        // A torn record at the end is cut off; everything before it stays.
        let mut bytes = std::fs::read(&path).unwrap();
        let whole = bytes.len();
        bytes.extend_from_slice(&[40, 0, 0, 0, 1, 2, 3, 4, PUT, 9]);
        std::fs::write(&path, &bytes).unwrap();
        let mut v = Vectors::open(&path, "m", 8).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, whole);
        assert_eq!(
            v.versions(),
            HashMap::from([("a".into(), "2".into()), ("c".into(), "1".into())])
        );
        assert!(
            v.nearest(&q, 5, &|p| p != "a").iter().all(|m| m.path != "a"),
            "hidden pages are left out"
        );
        v.compact().unwrap();
        drop(v);
        let v = Vectors::open(&path, "m", 8).unwrap();
        assert_eq!(v.passages(), 2);
        assert!(std::fs::metadata(&path).unwrap().len() < whole as u64);
        // Another model's log is set aside.
        let v = Vectors::open(&path, "other", 8).unwrap();
        assert_eq!(v.pages(), 0);
        assert!(path.with_extension("other-model").exists());
    }
}
