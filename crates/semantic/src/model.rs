//! A BERT-style sentence encoder (all-MiniLM-L6-v2, bge-small and the like) run on the CPU:
//! the weights from `model.safetensors`, the shape from `config.json`, the vocabulary from
//! `tokenizer.json`. A text's embedding is the mean of its last hidden states, of unit length,
//! so the dot product of two embeddings is their cosine similarity.

use crate::tokenizer::Tokenizer;
use casebook_core::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The most tokens of a text the model reads (sentence-transformers' setting for these models).
pub const MAX_TOKENS: usize = 256;

#[derive(Debug)]
pub struct Model {
    name: String,
    dim: usize,
    heads: usize,
    eps: f32,
    tokenizer: Tokenizer,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    max_positions: usize,
    norm: Norm,
    layers: Vec<Layer>,
}

#[derive(Debug)]
struct Linear {
    /// `[out, in]`, row major, as PyTorch stores it.
    w: Vec<f32>,
    b: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

#[derive(Debug)]
struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
}

#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

impl Model {
    /// Loads the model in `dir` (`config.json`, `model.safetensors`, `tokenizer.json`).
    pub fn load(dir: &Path) -> Result<Model> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                Error::invalid(format!(
                    "the model in {} has no readable {name}: {e}",
                    dir.display()
                ))
            })
        };
        let config: serde_json::Value = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| Error::invalid(format!("config.json: {e}")))?;
        let get = |key: &str| {
            config[key].as_u64().map(|v| v as usize).ok_or_else(|| {
                Error::invalid(format!("config.json of {} has no {key}", dir.display()))
            })
        };
        let (dim, heads, n_layers) =
            (get("hidden_size")?, get("num_attention_heads")?, get("num_hidden_layers")?);
        if heads == 0 || dim % heads != 0 {
            return Err(Error::invalid(
                "config.json: the hidden size is not a multiple of the heads",
            ));
        }
        let eps = config["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32;
        let tokenizer = Tokenizer::from_json(&String::from_utf8_lossy(&read("tokenizer.json")?))?;
        let mut t = Tensors::parse(read("model.safetensors")?)?;
        // Some exports name the weights with a `bert.` prefix.
        if t.has("bert.embeddings.word_embeddings.weight") {
            t.prefix = "bert.".into();
        }
        let word = t.take("embeddings.word_embeddings.weight", &[0, dim])?;
        let position = t.take("embeddings.position_embeddings.weight", &[0, dim])?;
        let max_positions = position.len() / dim;
        let token_type = t.take("embeddings.token_type_embeddings.weight", &[0, dim])?;
        let emb_norm = t.norm("embeddings.LayerNorm", dim)?;
        let mut layers = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let l = format!("encoder.layer.{i}");
            let query = t.linear(&format!("{l}.attention.self.query"))?;
            let key = t.linear(&format!("{l}.attention.self.key"))?;
            let value = t.linear(&format!("{l}.attention.self.value"))?;
            let attn_out = t.linear(&format!("{l}.attention.output.dense"))?;
            let up = t.linear(&format!("{l}.intermediate.dense"))?;
            let down = t.linear(&format!("{l}.output.dense"))?;
            let attn_norm = t.norm(&format!("{l}.attention.output.LayerNorm"), dim)?;
            let out_norm = t.norm(&format!("{l}.output.LayerNorm"), dim)?;
            for lin in [&query, &key, &value, &attn_out] {
                if lin.inputs != dim || lin.outputs != dim {
                    return Err(Error::invalid(format!(
                        "{l}: an attention weight is not {dim}x{dim}"
                    )));
                }
            }
            if up.inputs != dim || down.outputs != dim || down.inputs != up.outputs {
                return Err(Error::invalid(format!("{l}: the feed-forward weights do not fit")));
            }
            layers.push(Layer { query, key, value, attn_out, attn_norm, up, down, out_norm });
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        Ok(Model {
            name,
            dim,
            heads,
            eps,
            tokenizer,
            word,
            position,
            token_type,
            max_positions,
            norm: emb_norm,
            layers,
        })
    }

    /// The model's name (its folder's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The length of an embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many tokens the model reads of `text` (at most [`MAX_TOKENS`]).
    pub fn tokens(&self, text: &str) -> usize {
        self.tokenizer.encode(text, self.max_tokens()).len()
    }

    fn max_tokens(&self) -> usize {
        MAX_TOKENS.min(self.max_positions)
    }

    /// The embedding of `text`: unit length, `dim()` numbers.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let ids = self.tokenizer.encode(text, self.max_tokens());
        self.forward(&ids)
    }

    /// The embeddings of many texts, on up to `threads` threads; `done` is called with the
    /// number finished so far as they finish.
    pub fn embed_all(
        &self,
        texts: &[&str],
        threads: usize,
        done: &(dyn Fn(usize) + Sync),
    ) -> Vec<Vec<f32>> {
        let threads = threads.clamp(1, 16);
        if threads == 1 || texts.len() < 2 {
            return texts
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let v = self.embed(t);
                    done(i + 1);
                    v
                })
                .collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let finished = std::sync::atomic::AtomicUsize::new(0);
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let parts: Vec<Vec<(usize, Vec<f32>)>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(t) = texts.get(i) else { break };
                            mine.push((i, self.embed(t)));
                            done(finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                        }
                        mine
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or_default()).collect()
        });
        for (i, v) in parts.into_iter().flatten() {
            out[i] = v;
        }
        out
    }

    /// The encoder over one sequence of token ids, mean pooled and normalised.
    fn forward(&self, ids: &[u32]) -> Vec<f32> {
        let (n, d) = (ids.len(), self.dim);
        let mut x = vec![0f32; n * d];
        for (i, &id) in ids.iter().enumerate() {
            let id = (id as usize).min(self.word.len() / d - 1);
            let row = &mut x[i * d..(i + 1) * d];
            let w = &self.word[id * d..(id + 1) * d];
            let p = &self.position[i * d..(i + 1) * d];
            for j in 0..d {
                row[j] = w[j] + p[j] + self.token_type[j];
            }
        }
        layer_norm(&mut x, d, &self.norm, self.eps);
        let mut scratch = Scratch::new(n, d, self.layers.first().map_or(0, |l| l.up.outputs));
        for layer in &self.layers {
            self.layer(layer, &mut x, n, &mut scratch);
        }
        let mut pooled = vec![0f32; d];
        for row in x.chunks_exact(d) {
            for (p, v) in pooled.iter_mut().zip(row) {
                *p += v;
            }
        }
        let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        pooled.iter_mut().for_each(|v| *v /= norm);
        pooled
    }

    fn layer(&self, l: &Layer, x: &mut [f32], n: usize, s: &mut Scratch) {
        let d = self.dim;
        let (heads, hd) = (self.heads, self.dim / self.heads);
        l.query.apply(x, n, &mut s.q);
        l.key.apply(x, n, &mut s.k);
        l.value.apply(x, n, &mut s.v);
        let scale = 1.0 / (hd as f32).sqrt();
        for h in 0..heads {
            let off = h * hd;
            // scores = Q_h K_hᵀ / √hd
            gemm(n, hd, n, scale, (&s.q[off..], d, 1), (&s.k[off..], 1, d), (&mut s.scores, n, 1));
            for row in s.scores.chunks_exact_mut(n) {
                softmax(row);
            }
            // context_h = P V_h
            gemm(n, n, hd, 1.0, (&s.scores, n, 1), (&s.v[off..], d, 1), (&mut s.ctx[off..], d, 1));
        }
        l.attn_out.apply(&s.ctx, n, &mut s.q);
        for (a, b) in x.iter_mut().zip(&s.q) {
            *a += b;
        }
        layer_norm(x, d, &l.attn_norm, self.eps);
        l.up.apply(x, n, &mut s.inter);
        s.inter.iter_mut().for_each(|v| *v = gelu(*v));
        l.down.apply(&s.inter, n, &mut s.q);
        for (a, b) in x.iter_mut().zip(&s.q) {
            *a += b;
        }
        layer_norm(x, d, &l.out_norm, self.eps);
    }
}

/// Buffers one sequence's forward pass reuses from layer to layer.
struct Scratch {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    ctx: Vec<f32>,
    scores: Vec<f32>,
    inter: Vec<f32>,
}

impl Scratch {
    fn new(n: usize, d: usize, inter: usize) -> Scratch {
        Scratch {
            q: vec![0.0; n * d],
            k: vec![0.0; n * d],
            v: vec![0.0; n * d],
            ctx: vec![0.0; n * d],
            scores: vec![0.0; n * n],
            inter: vec![0.0; n * inter],
        }
    }
}

impl Linear {
    /// `out = x Wᵀ + b` for the `n` rows of `x`.
    fn apply(&self, x: &[f32], n: usize, out: &mut [f32]) {
        let (i, o) = (self.inputs, self.outputs);
        gemm(n, i, o, 1.0, (x, i, 1), (&self.w, 1, i), (&mut out[..n * o], o, 1));
        for row in out[..n * o].chunks_exact_mut(o) {
            for (v, b) in row.iter_mut().zip(&self.b) {
                *v += b;
            }
        }
    }
}

/// `c = alpha · a b` for an `m×k` matrix `a` and a `k×n` matrix `b`, each given as a slice
/// with its row and column strides, into `c` (`m×n`, overwritten).
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: (&[f32], usize, usize),
    b: (&[f32], usize, usize),
    c: (&mut [f32], usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(k > 0 && last(m, k, a.1, a.2) < a.0.len(), "gemm: a is too short");
    assert!(last(k, n, b.1, b.2) < b.0.len(), "gemm: b is too short");
    assert!(last(m, n, c.1, c.2) < c.0.len(), "gemm: c is too short");
    #[allow(unsafe_code)]
    // SAFETY: the asserts above check that every element sgemm reads of `a` and `b` and writes
    // of `c` (the last one is at (rows-1)·row stride + (cols-1)·column stride) lies inside its
    // slice; `c` is borrowed mutably, so it overlaps neither input.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.0.as_ptr(),
            a.1 as isize,
            a.2 as isize,
            b.0.as_ptr(),
            b.1 as isize,
            b.2 as isize,
            0.0,
            c.0.as_mut_ptr(),
            c.1 as isize,
            c.2 as isize,
        );
    }
}

fn layer_norm(x: &mut [f32], d: usize, norm: &Norm, eps: f32) {
    for row in x.chunks_exact_mut(d) {
        let mean = row.iter().sum::<f32>() / d as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.gain).zip(&norm.bias) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

/// GELU as BERT has it, with the error function (not the tanh approximation).
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The error function to within 1.5·10⁻⁷ (Abramowitz and Stegun, 7.1.26).
fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_8) * t - 0.284_496_74) * t
            + 0.254_829_6)
            * t
            * (-x * x).exp();
    if x < 0.0 { -y } else { y }
}

/// The tensors of a `.safetensors` file, taken out one by one as 32-bit floats.
struct Tensors {
    /// Put before every name taken.
    prefix: String,
    bytes: Vec<u8>,
    start: usize,
    index: HashMap<String, (String, Vec<usize>, usize, usize)>,
}

impl Tensors {
    fn parse(bytes: Vec<u8>) -> Result<Tensors> {
        let bad = |why: &str| Error::invalid(format!("model.safetensors: {why}"));
        let len = bytes.get(..8).ok_or_else(|| bad("too short"))?;
        let len = u64::from_le_bytes(len.try_into().map_err(|_| bad("too short"))?) as usize;
        let header = bytes.get(8..8 + len).ok_or_else(|| bad("the header is cut short"))?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(header).map_err(|e| bad(&format!("the header: {e}")))?;
        let mut index = HashMap::new();
        for (name, t) in header {
            if name == "__metadata__" {
                continue;
            }
            let dtype = t["dtype"].as_str().unwrap_or_default().to_string();
            let shape = t["shape"]
                .as_array()
                .map(|s| s.iter().filter_map(|v| v.as_u64().map(|v| v as usize)).collect())
                .unwrap_or_default();
            let offs =
                t["data_offsets"].as_array().ok_or_else(|| bad("a tensor without offsets"))?;
            let (from, to) = (
                offs.first().and_then(|v| v.as_u64()).unwrap_or(0) as usize,
                offs.get(1).and_then(|v| v.as_u64()).unwrap_or(0) as usize,
            );
            index.insert(name, (dtype, shape, from, to));
        }
        Ok(Tensors { prefix: String::new(), bytes, start: 8 + len, index })
    }

    fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn linear(&mut self, name: &str) -> Result<Linear> {
        let w = self.take(&format!("{name}.weight"), &[0, 0])?;
        let b = self.take(&format!("{name}.bias"), &[0])?;
        let outputs = b.len();
        Ok(Linear { inputs: w.len() / outputs.max(1), outputs, w, b })
    }

    fn norm(&mut self, name: &str, dim: usize) -> Result<Norm> {
        Ok(Norm {
            gain: self.take(&format!("{name}.weight"), &[dim])?,
            bias: self.take(&format!("{name}.bias"), &[dim])?,
        })
    }

    /// The tensor `name` as floats; `shape` gives the sizes it must have (0: any).
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let name = format!("{}{name}", self.prefix);
        let name = name.as_str();
        let (dtype, have, from, to) = self
            .index
            .remove(name)
            .ok_or_else(|| Error::invalid(format!("model.safetensors has no {name}")))?;
        let fits =
            have.len() == shape.len() && have.iter().zip(shape).all(|(h, w)| *w == 0 || h == w);
        if !fits {
            return Err(Error::invalid(format!(
                "model.safetensors: {name} has the shape {have:?}"
            )));
        }
        let data = self.bytes.get(self.start + from..self.start + to).ok_or_else(|| {
            Error::invalid(format!("model.safetensors: {name} lies outside the file"))
        })?;
        match dtype.as_str() {
            "F32" => Ok(data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            "F16" => Ok(data
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect()),
            other => Err(Error::invalid(format!(
                "model.safetensors: {name} is {other}; F32 or F16 is read"
            ))),
        }
    }
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: normalise.
            let mut e = 127 - 15 + 1;
            let mut f = f;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((f & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_and_gelu_are_right() {
        assert!((erf(0.5) - 0.520_499_9).abs() < 2e-7);
        assert!((erf(-1.5) + 0.966_105_2).abs() < 2e-7);
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
    }

    #[test]
    fn half_floats_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }

    #[test]
    fn gemm_follows_strides() {
        // a = [[1, 2], [3, 4]], b given transposed as w = [[5, 6], [7, 8]] (so b = wᵀ).
        let a = [1.0, 2.0, 3.0, 4.0];
        let w = [5.0, 6.0, 7.0, 8.0];
        let mut c = [0.0; 4];
        gemm(2, 2, 2, 1.0, (&a, 2, 1), (&w, 1, 2), (&mut c, 2, 1));
        assert_eq!(c, [17.0, 23.0, 39.0, 53.0]);
    }
}
