//! Compression detection, a decompressing reader, a compressing writer, and
//! the hashing adapters that compute a layer's two digests in one pass.

use std::io::{self, BufReader, Chain, Cursor, Read, Write};

use ocikit_types::{Compression, Digester};

use super::BUF_SIZE;
use crate::Error;

/// How many bytes [`Decompressor::detect`] looks at: enough for the tar
/// `ustar` magic at offset 257.
const PEEK: usize = 512;

/// Guesses a layer's compression from its first bytes.
///
/// gzip starts with `1f 8b`, zstd with `28 b5 2f fd`; anything else is taken
/// for a plain tar stream (whose `ustar` magic sits at offset 257, though old
/// v7 archives lack it, so it is not required).
///
/// ```
/// use ocikit_image::detect_compression;
/// use ocikit_types::Compression;
/// assert_eq!(detect_compression(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
/// assert_eq!(detect_compression(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
/// assert_eq!(detect_compression(b"hello"), Compression::None);
/// ```
pub fn detect_compression(prefix: &[u8]) -> Compression {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

type Prefixed<R> = BufReader<Chain<Cursor<Vec<u8>>, R>>;

enum Inner<R: Read> {
    Plain(Prefixed<R>),
    #[cfg(feature = "gzip")]
    Gzip(Box<flate2::bufread::MultiGzDecoder<Prefixed<R>>>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::read::Decoder<'static, Prefixed<R>>),
}

/// A reader that decompresses a layer blob into its tar stream.
///
/// It reads the source through a 1 MiB buffer, and handles multi-member
/// gzip and multi-frame zstd streams.
///
/// ```
/// use std::io::Read;
/// use ocikit_image::Decompressor;
/// use ocikit_types::Compression;
/// let mut d = Decompressor::detect(&b"plain bytes"[..])?;
/// assert_eq!(d.compression(), Compression::None);
/// let mut s = String::new();
/// d.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "plain bytes");
/// # Ok::<(), ocikit_image::Error>(())
/// ```
pub struct Decompressor<R: Read> {
    inner: Inner<R>,
    compression: Compression,
}

impl<R: Read> std::fmt::Debug for Decompressor<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Decompressor<R> {
    /// Decompresses `reader` as `compression` (for instance the one a
    /// layer's media type names, [`ocikit_types::MediaType::layer_compression`]).
    ///
    /// # Errors
    /// [`Error::CompressionUnsupported`] when the feature for it is off.
    pub fn new(reader: R, compression: Compression) -> Result<Self, Error> {
        Self::with_prefix(Vec::new(), reader, compression)
    }

    /// Decompresses `reader` after guessing its compression from its first
    /// bytes with [`detect_compression`].
    ///
    /// # Errors
    /// [`Error::Archive`] when the first bytes cannot be read, and
    /// [`Error::CompressionUnsupported`] when the feature is off.
    pub fn detect(mut reader: R) -> Result<Self, Error> {
        let mut prefix = vec![0; PEEK];
        let mut len = 0;
        while len < PEEK {
            match reader.read(&mut prefix[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Error::Archive { source }),
            }
        }
        prefix.truncate(len);
        let compression = detect_compression(&prefix);
        tracing::debug!(?compression, "detected layer compression");
        Self::with_prefix(prefix, reader, compression)
    }

    fn with_prefix(prefix: Vec<u8>, reader: R, compression: Compression) -> Result<Self, Error> {
        let buffered = BufReader::with_capacity(BUF_SIZE, Cursor::new(prefix).chain(reader));
        let inner = match compression {
            Compression::None => Inner::Plain(buffered),
            #[cfg(feature = "gzip")]
            Compression::Gzip => {
                Inner::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
            }
            #[cfg(feature = "zstd")]
            Compression::Zstd => Inner::Zstd(
                zstd::stream::read::Decoder::with_buffer(buffered)
                    .map_err(|source| Error::Archive { source })?,
            ),
            other => return Err(unsupported(other)),
        };
        Ok(Decompressor { inner, compression })
    }

    /// The compression being undone.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Reads what is left of the compressed source (bytes after the end of
    /// the compressed stream) to its end and returns the source. Only
    /// unpacking (Linux) needs it.
    #[cfg(target_os = "linux")]
    pub(crate) fn finish(self) -> io::Result<R> {
        use io::BufRead as _;
        let mut rest = match self.inner {
            Inner::Plain(r) => r,
            #[cfg(feature = "gzip")]
            Inner::Gzip(d) => d.into_inner(),
            #[cfg(feature = "zstd")]
            Inner::Zstd(d) => d.finish(),
        };
        loop {
            let n = rest.fill_buf()?.len();
            if n == 0 {
                break;
            }
            rest.consume(n);
        }
        Ok(rest.into_inner().into_inner().1)
    }
}

impl<R: Read> Read for Decompressor<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(r) => r.read(buf),
            #[cfg(feature = "gzip")]
            Inner::Gzip(r) => r.read(buf),
            #[cfg(feature = "zstd")]
            Inner::Zstd(r) => r.read(buf),
        }
    }
}

pub(crate) fn unsupported(c: Compression) -> Error {
    match c {
        Compression::Gzip => Error::CompressionUnsupported {
            compression: "gzip",
            feature: "gzip",
        },
        Compression::Zstd => Error::CompressionUnsupported {
            compression: "zstd",
            feature: "zstd",
        },
        _ => Error::CompressionUnsupported {
            compression: "unknown",
            feature: "a newer version",
        },
    }
}

/// A writer that hashes and counts everything written through it.
pub(crate) struct HashWriter<W> {
    inner: W,
    digester: Digester,
}

impl<W: Write> HashWriter<W> {
    pub(crate) fn new(inner: W, digester: Digester) -> Self {
        HashWriter { inner, digester }
    }

    pub(crate) fn into_parts(self) -> (W, Digester) {
        (self.inner, self.digester)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// zstd compression workers.
#[cfg(feature = "zstd")]
const ZSTD_WORKERS: u32 = 2;

/// A writer that compresses.
// One per layer being packed, written through for every entry: kept
// inline rather than boxed (which only gzip-without-zstd builds flag).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Compressor<W: Write> {
    Plain(W),
    #[cfg(feature = "gzip")]
    Gzip(flate2::write::GzEncoder<W>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressor<W> {
    /// `level` is clamped to the algorithm's range; `None` is its default.
    pub(crate) fn new(
        inner: W,
        compression: Compression,
        level: Option<u32>,
    ) -> Result<Self, Error> {
        let _ = &level; // unused when neither compression feature is on
        Ok(match compression {
            Compression::None => Compressor::Plain(inner),
            #[cfg(feature = "gzip")]
            Compression::Gzip => {
                let level = flate2::Compression::new(level.unwrap_or(6).min(9));
                Compressor::Gzip(flate2::GzBuilder::new().write(inner, level))
            }
            #[cfg(feature = "zstd")]
            Compression::Zstd => {
                let level = level.unwrap_or(3).clamp(1, 22) as i32;
                let mut enc = zstd::stream::write::Encoder::new(inner, level)
                    .map_err(|source| Error::Archive { source })?;
                // Compress on a worker thread while this one reads files.
                // zstd's multi-threaded output is the same for any worker
                // count, so layers stay reproducible across machines.
                enc.multithread(ZSTD_WORKERS)
                    .map_err(|source| Error::Archive { source })?;
                Compressor::Zstd(enc)
            }
            other => return Err(unsupported(other)),
        })
    }

    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Plain(w) => Ok(w),
            #[cfg(feature = "gzip")]
            Compressor::Gzip(w) => w.finish(),
            #[cfg(feature = "zstd")]
            Compressor::Zstd(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Plain(w) => w.write(buf),
            #[cfg(feature = "gzip")]
            Compressor::Gzip(w) => w.write(buf),
            #[cfg(feature = "zstd")]
            Compressor::Zstd(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Plain(w) => w.flush(),
            #[cfg(feature = "gzip")]
            Compressor::Gzip(w) => w.flush(),
            #[cfg(feature = "zstd")]
            Compressor::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `n` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn round_trip(c: Compression) {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut w = Compressor::new(Vec::new(), c, None).unwrap();
        w.write_all(&data).unwrap();
        let blob = w.finish().unwrap();
        assert_eq!(detect_compression(&blob), c);
        let mut d = Decompressor::detect(Trickle(&blob, 1)).unwrap();
        assert_eq!(d.compression(), c);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn round_trips_every_compression_with_short_reads() {
        round_trip(Compression::None);
        #[cfg(feature = "gzip")]
        round_trip(Compression::Gzip);
        #[cfg(feature = "zstd")]
        round_trip(Compression::Zstd);
    }
}
