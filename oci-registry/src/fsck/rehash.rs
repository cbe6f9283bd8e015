//! Hashing a stored blob again, streamed: a blob never passes through
//! memory whole.

use std::io::Read;

use ocikit_types::{Digest, Digester};

use crate::storage::BlobContent;

/// How far a rehash got.
pub(super) enum Rehash {
    /// The bytes' digest (of `expected`'s algorithm) and their count.
    Hashed(Digest, u64),
    /// The digest's algorithm is not one we can compute; nothing to say.
    Unsupported,
    /// The bytes could not be read.
    Failed(String),
}

/// Hashes `content` (`size` bytes, as the storage says) with the
/// algorithm of `expected`.
pub(super) fn rehash(content: BlobContent, size: u64, expected: &Digest) -> Rehash {
    let Ok(mut digester) = expected.digester() else {
        return Rehash::Unsupported;
    };
    let result = match content {
        BlobContent::Memory(bytes) => {
            digester.update(&bytes);
            Ok(bytes.len() as u64)
        }
        BlobContent::File(file) => feed(file, &mut digester),
        BlobContent::Remote(blob) => match blob.read_range(0, size) {
            Ok(reader) => feed(reader, &mut digester),
            Err(e) => Err(super::chain(&e)),
        },
    };
    match result {
        Ok(n) => Rehash::Hashed(digester.finalize(), n),
        Err(reason) => Rehash::Failed(reason),
    }
}

fn feed(mut reader: impl Read, digester: &mut Digester) -> Result<u64, String> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                digester.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(super::chain(&e)),
        }
    }
}

/// The hash of bytes held in memory, with the algorithm of `expected`.
pub(super) fn hash_bytes(bytes: &[u8], expected: &Digest) -> Rehash {
    match expected.digester() {
        Ok(mut d) => {
            d.update(bytes);
            Rehash::Hashed(d.finalize(), bytes.len() as u64)
        }
        Err(_) => Rehash::Unsupported,
    }
}
