//! A loose object that lies about its size, shared by the store's and the engine's tests
//! (the engine's include this file by path).

use std::path::Path;

/// Writes a loose object into the repository at `git_dir` whose header says it is a blob of
/// `claimed` bytes, holding only a hundred: git tells its size from the header, and reading it
/// whole fails. Returns its id.
pub fn blob_that_cannot_be_read(git_dir: &Path, claimed: u64) -> String {
    let mut raw = format!("blob {claimed}\0").into_bytes();
    raw.extend_from_slice(&[b'x'; 100]);
    // zlib: its header, one stored (uncompressed) block, the checksum.
    let mut z = vec![0x78, 0x01, 0x01];
    let len = raw.len() as u16;
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(&raw);
    let (a, b) = raw.iter().fold((1u32, 0u32), |(a, b), &x| {
        let a = (a + x as u32) % 65521;
        (a, (b + a) % 65521)
    });
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let id = "b100".repeat(10);
    let dir = git_dir.join("objects").join(&id[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&id[2..]), z).unwrap();
    id
}
