//! A streaming MRT reader over any [`std::io::Read`]: gzip and bzip2 input is recognised by
//! its magic bytes and decompressed on the fly; records are read and decoded one at a time,
//! so memory stays at one record (plus the decompressor's window) whatever the file size.

use super::record::{MrtHeader, MrtRecord, MRT_HEADER_LEN};
use crate::error::{DecodeError, ErrorKind};
use bytes::{Bytes, BytesMut};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::path::Path;

/// The default largest record the reader accepts (64 MiB): far above any real record (a
/// full-table RIB record of a thousand peers is a few hundred KiB), small enough that a
/// corrupt length field cannot exhaust memory.
pub const DEFAULT_MAX_RECORD_LEN: usize = 64 << 20;

/// Size of the buffer between the decompressor and the record decoder.
const READ_BUFFER: usize = 256 << 10;

/// Records are read into chunks of this size and handed out as [`Bytes`] views of the chunk,
/// so a record costs no allocation of its own (a record larger than a chunk gets its own).
const RECORD_CHUNK: usize = 64 << 10;

/// The compression the reader detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Plain MRT.
    None,
    /// gzip (magic `1f 8b`), possibly several members one after the other.
    Gzip,
    /// bzip2 (magic `BZh`), possibly several streams one after the other.
    Bzip2,
}

/// A reading error: the input could not be read, or one record could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum MrtError {
    /// The input (or its decompression) failed. The reader stops.
    #[error("reading MRT input: {0}")]
    Io(#[from] io::Error),
    /// One record could not be decoded. The reader skips it and goes on with the next one,
    /// except after a truncated header or body at the end of the input, or a record longer
    /// than the limit, where it stops.
    #[error("MRT record at offset {file_offset} of the decompressed input: {error}")]
    Record {
        /// Offset of the record's first octet in the decompressed input.
        file_offset: u64,
        /// The record's header, if it could be read.
        header: Option<MrtHeader>,
        /// What is wrong, at which offset from the record's first octet.
        error: DecodeError,
    },
}

/// The input with the magic bytes read for detection put back in front.
type Input<R> = Chain<Cursor<Vec<u8>>, R>;

/// The decompressed byte stream.
enum Source<R: Read> {
    /// Plain MRT already in memory: records are views of it, never copied.
    Memory {
        data: Bytes,
        pos: usize,
    },
    Plain(BufReader<Input<R>>),
    Gzip(Box<BufReader<flate2::read::MultiGzDecoder<Input<R>>>>),
    Bzip2(BufReader<bzip2::read::MultiBzDecoder<Input<R>>>),
}

impl<R: Read> Source<R> {
    /// The buffered bytes not yet consumed (read more when empty; empty at the end).
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Source::Memory { data, pos } => Ok(data.get(*pos..).unwrap_or_default()),
            Source::Plain(r) => r.fill_buf(),
            Source::Gzip(r) => r.fill_buf(),
            Source::Bzip2(r) => r.fill_buf(),
        }
    }

    /// Marks `n` buffered bytes as consumed.
    fn consume(&mut self, n: usize) {
        match self {
            Source::Memory { pos, .. } => *pos += n,
            Source::Plain(r) => r.consume(n),
            Source::Gzip(r) => r.consume(n),
            Source::Bzip2(r) => r.consume(n),
        }
    }
}

/// Reads MRT records one at a time from a plain, gzip or bzip2 stream (RFC 6396).
///
/// As an [`Iterator`] it yields `Ok(record)` for each record (types it does not decode as
/// [`super::MrtBody::Raw`]) and `Err` for a record that cannot be decoded, then continues;
/// after an I/O error or a truncated record at the end it yields `None`.
pub struct MrtReader<R: Read> {
    source: Source<R>,
    compression: Compression,
    /// The record being read; earlier records are frozen views of the same allocation.
    /// (Unused for in-memory input, whose records are views of the input itself.)
    buf: BytesMut,
    offset: u64,
    max_record_len: usize,
    done: bool,
}

impl MrtReader<File> {
    /// Opens a file (plain, gzip or bzip2).
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        MrtReader::new(File::open(path)?)
    }
}

impl MrtReader<Cursor<Bytes>> {
    /// A reader over a whole file already in memory. Plain MRT is decoded in place: each
    /// record's bytes (and the `raw` BGP message of BGP4MP records) are views of `data`, so
    /// nothing is copied; gzip and bzip2 input is decompressed as a stream, as by
    /// [`MrtReader::new`].
    pub fn from_bytes(data: Bytes) -> io::Result<Self> {
        let plain = !matches!(data.as_ref(), [0x1f, 0x8b, ..] | [b'B', b'Z', b'h', ..]);
        if !plain {
            return MrtReader::new(Cursor::new(data));
        }
        Ok(MrtReader {
            source: Source::Memory { data, pos: 0 },
            compression: Compression::None,
            buf: BytesMut::new(),
            offset: 0,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            done: false,
        })
    }
}

impl<R: Read> MrtReader<R> {
    /// A reader over `input`; reads the first bytes to detect the compression.
    pub fn new(mut input: R) -> io::Result<Self> {
        let mut magic = Vec::with_capacity(3);
        while magic.len() < 3 {
            let mut byte = [0u8; 1];
            match input.read(&mut byte) {
                Ok(0) => break,
                Ok(_) => magic.extend_from_slice(&byte),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let compression = match magic.as_slice() {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [b'B', b'Z', b'h'] => Compression::Bzip2,
            _ => Compression::None,
        };
        let whole = Cursor::new(magic).chain(input);
        let source = match compression {
            Compression::None => Source::Plain(BufReader::with_capacity(READ_BUFFER, whole)),
            Compression::Gzip => Source::Gzip(Box::new(BufReader::with_capacity(
                READ_BUFFER,
                flate2::read::MultiGzDecoder::new(whole),
            ))),
            Compression::Bzip2 => Source::Bzip2(BufReader::with_capacity(
                READ_BUFFER,
                bzip2::read::MultiBzDecoder::new(whole),
            )),
        };
        Ok(MrtReader {
            source,
            compression,
            buf: BytesMut::with_capacity(RECORD_CHUNK),
            offset: 0,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            done: false,
        })
    }

    /// Sets the largest record length accepted ([`DEFAULT_MAX_RECORD_LEN`] by default). A
    /// longer record ends the stream with an error.
    pub fn with_max_record_len(mut self, max: usize) -> Self {
        self.max_record_len = max;
        self
    }

    /// The compression detected from the magic bytes.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Offset in the decompressed input of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads and decodes the next record; `None` at the end of the input.
    #[inline]
    pub fn next_record(&mut self) -> Option<Result<MrtRecord, MrtError>> {
        if self.done {
            return None;
        }
        let (result, stop) = self.read_record();
        self.done = stop;
        result
    }

    /// The next record, and whether the stream ends after it.
    #[inline]
    fn read_record(&mut self) -> (Option<Result<MrtRecord, MrtError>>, bool) {
        let file_offset = self.offset;
        let stop = |reason, header| stop_at(file_offset, reason, header);
        if let Source::Memory { data, pos } = &mut self.source {
            return read_memory_record(data, pos, &mut self.offset, self.max_record_len);
        }
        self.buf.clear();
        if self.buf.capacity() < MRT_HEADER_LEN + 4096 {
            self.buf.reserve(RECORD_CHUNK);
        }
        match self.read_more(MRT_HEADER_LEN) {
            Ok(0) => return (None, true),
            Ok(n) if n < MRT_HEADER_LEN => return stop("truncated header at end of input", None),
            Ok(_) => {}
            Err(e) => return (Some(Err(MrtError::Io(e))), true),
        }
        let Some(fixed) = MrtHeader::parse_fixed(&self.buf) else {
            return stop("truncated header at end of input", None);
        };
        let body_len = usize::try_from(fixed.length)
            .ok()
            .filter(|l| *l <= self.max_record_len);
        let Some(body_len) = body_len else {
            return stop("record longer than the reader's limit", Some(fixed));
        };
        match self.read_more(body_len) {
            Ok(n) if n < body_len => return stop("truncated record at end of input", Some(fixed)),
            Ok(_) => {}
            Err(e) => return (Some(Err(MrtError::Io(e))), true),
        }
        self.offset += (MRT_HEADER_LEN + body_len) as u64;
        let record = self.buf.split().freeze();
        let result = MrtRecord::decode(&record).map_err(|error| MrtError::Record {
            file_offset,
            header: MrtHeader::parse(&record),
            error,
        });
        (Some(result), false)
    }
}

/// The outcome of a record that ends the stream: `reason` at `file_offset`.
fn stop_at(
    file_offset: u64,
    reason: &'static str,
    header: Option<MrtHeader>,
) -> (Option<Result<MrtRecord, MrtError>>, bool) {
    let error = DecodeError::new(ErrorKind::Mrt { reason }, 0);
    (
        Some(Err(MrtError::Record {
            file_offset,
            header,
            error,
        })),
        true,
    )
}

/// [`MrtReader::read_record`] for input in memory: the record is a view of `data` at `pos`,
/// found without copying; the outcomes (and errors) are those of the streaming path.
#[inline]
fn read_memory_record(
    data: &Bytes,
    pos: &mut usize,
    offset: &mut u64,
    max_record_len: usize,
) -> (Option<Result<MrtRecord, MrtError>>, bool) {
    let file_offset = *offset;
    let start = *pos;
    let stop = |reason, header| stop_at(file_offset, reason, header);
    let rest = data.get(start..).unwrap_or_default();
    if rest.is_empty() {
        return (None, true);
    }
    let Some(fixed) = rest.first_chunk::<MRT_HEADER_LEN>() else {
        *pos = data.len();
        return stop("truncated header at end of input", None);
    };
    let [.., l0, l1, l2, l3] = *fixed;
    let body_len = usize::try_from(u32::from_be_bytes([l0, l1, l2, l3]))
        .ok()
        .filter(|l| *l <= max_record_len);
    let Some(body_len) = body_len else {
        *pos = data.len();
        return stop(
            "record longer than the reader's limit",
            MrtHeader::parse_fixed(fixed),
        );
    };
    let len = MRT_HEADER_LEN + body_len;
    if rest.len() < len {
        *pos = data.len();
        return stop(
            "truncated record at end of input",
            MrtHeader::parse_fixed(fixed),
        );
    }
    *pos = start + len;
    *offset += len as u64;
    let record = data.slice(start..start + len);
    let result = MrtRecord::decode(&record).map_err(|error| MrtError::Record {
        file_offset,
        header: MrtHeader::parse(&record),
        error,
    });
    (Some(result), false)
}

impl<R: Read> MrtReader<R> {
    /// Reads up to `n` more bytes of the current record into `buf` (streaming input; records
    /// in memory are read by [`read_memory_record`]); returns how many there were.
    fn read_more(&mut self, n: usize) -> io::Result<usize> {
        read_up_to(&mut self.source, &mut self.buf, n as u64)
    }
}

impl MrtHeader {
    /// The 12-octet header without the microsecond field (the reader reads that with the
    /// body).
    fn parse_fixed(buf: &[u8]) -> Option<MrtHeader> {
        let fixed = buf.first_chunk::<MRT_HEADER_LEN>()?;
        let mut padded = [0u8; MRT_HEADER_LEN + 4];
        if let Some(d) = padded.get_mut(..MRT_HEADER_LEN) {
            d.copy_from_slice(fixed);
        }
        MrtHeader::parse(&padded)
    }
}

/// Appends up to `n` bytes of `src` to `buf`, copied straight out of the source's buffer;
/// returns how many were read (fewer only at the end of the input).
fn read_up_to<R: Read>(src: &mut Source<R>, buf: &mut BytesMut, n: u64) -> io::Result<usize> {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    let mut got = 0;
    while got < n {
        let avail = match src.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        let take = avail.len().min(n - got);
        buf.extend_from_slice(avail.get(..take).unwrap_or(avail));
        src.consume(take);
        got += take;
    }
    Ok(got)
}

impl<R: Read> Iterator for MrtReader<R> {
    type Item = Result<MrtRecord, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mrt::bgp4mp::tests::{MESSAGE_KEEPALIVE_V6, STATE_CHANGE_AS4_ET};
    use crate::mrt::record::MrtBody;
    use std::io::Write;

    fn two_records() -> Vec<u8> {
        let mut v = STATE_CHANGE_AS4_ET.to_vec();
        v.extend_from_slice(&MESSAGE_KEEPALIVE_V6);
        v
    }

    fn kinds(input: &[u8]) -> (Compression, Vec<String>) {
        let reader = MrtReader::new(input).expect("reader");
        let c = reader.compression();
        let v = reader
            .map(|r| match r {
                Ok(MrtRecord {
                    body: MrtBody::StateChange(_),
                    ..
                }) => "state".to_string(),
                Ok(MrtRecord {
                    body: MrtBody::Message(_),
                    ..
                }) => "message".to_string(),
                Ok(other) => format!("{other:?}"),
                Err(e) => format!("error: {e}"),
            })
            .collect();
        (c, v)
    }

    #[test]
    fn plain_gzip_and_bzip2_give_the_same_records() {
        let plain = two_records();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&plain).expect("bzip2");
        let bz = bz.finish().expect("bzip2");
        let expected = vec!["state".to_string(), "message".to_string()];
        assert_eq!(kinds(&plain), (Compression::None, expected.clone()));
        assert_eq!(kinds(&gz), (Compression::Gzip, expected.clone()));
        assert_eq!(kinds(&bz), (Compression::Bzip2, expected));
    }

    #[test]
    fn in_memory_input_gives_the_same_records_as_a_stream() {
        let mut plain = two_records();
        plain.extend_from_slice(&[0, 0, 0, 1, 0, 17, 0, 4, 0, 0, 0, 9, 1, 2]); // truncated
        let whole = plain.get(..plain.len() - 14).expect("two records").to_vec();
        for input in [plain.clone(), whole] {
            let streamed: Vec<String> = MrtReader::new(&input[..])
                .expect("reader")
                .map(|r| format!("{r:?}"))
                .collect();
            let reader = MrtReader::from_bytes(Bytes::from(input.clone())).expect("reader");
            assert_eq!(reader.compression(), Compression::None);
            let in_memory: Vec<String> = reader.map(|r| format!("{r:?}")).collect();
            assert_eq!(streamed, in_memory);
            assert!(!streamed.is_empty());
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let reader = MrtReader::from_bytes(Bytes::from(gz)).expect("reader");
        assert_eq!(reader.compression(), Compression::Gzip);
        assert_eq!(reader.count(), 3, "two records and the truncation error");
    }

    #[test]
    fn concatenated_gzip_members() {
        let mut all = Vec::new();
        for part in [&STATE_CHANGE_AS4_ET[..], &MESSAGE_KEEPALIVE_V6[..]] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(part).expect("gzip");
            all.extend(gz.finish().expect("gzip"));
        }
        assert_eq!(kinds(&all).1, vec!["state", "message"]);
    }

    #[test]
    fn a_bad_record_does_not_stop_the_stream() {
        let mut bad = STATE_CHANGE_AS4_ET.to_vec();
        if let Some(b) = bad.get_mut(27) {
            *b = 9; // unknown address family
        }
        bad.extend_from_slice(&MESSAGE_KEEPALIVE_V6);
        let (_, v) = kinds(&bad);
        assert_eq!(v.len(), 2);
        assert!(v.first().is_some_and(|s| s.starts_with("error")), "{v:?}");
        assert_eq!(v.get(1).map(String::as_str), Some("message"));
    }

    #[test]
    fn truncation_ends_the_stream() {
        let all = two_records();
        for cut in [1, 11, 12, 30, all.len() - 1] {
            let (_, v) = kinds(all.get(..cut).unwrap_or(&[]));
            let last = v.last().cloned().unwrap_or_default();
            assert!(last.starts_with("error"), "cut at {cut}: {v:?}");
        }
        assert!(kinds(&[]).1.is_empty());
    }

    #[test]
    fn oversized_record_stops() {
        let reader = MrtReader::new(&STATE_CHANGE_AS4_ET[..])
            .expect("reader")
            .with_max_record_len(8);
        let v: Vec<_> = reader.collect();
        assert_eq!(v.len(), 1);
        assert!(v.first().is_some_and(|r| r.is_err()));
    }
}
