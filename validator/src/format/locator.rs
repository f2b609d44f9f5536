//! Parent locator entries (spec §Dynamic Disk Header Format: Parent Locator Entries): eight
//! 24-byte entries at dynamic disk header bytes 576..768, and the payload encodings they point at.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | platform code |
//! | 4 | 4 | platform data space (spec: sectors; Hyper-V and VirtualBox store bytes) |
//! | 8 | 4 | platform data length (bytes) |
//! | 12 | 4 | reserved |
//! | 16 | 8 | platform data offset (absolute byte offset in the file) |

use super::header::DynamicDiskHeader;
use crate::io::ReadAt;
use byteorder::{BigEndian, ByteOrder};

/// Size of one parent locator entry in bytes.
pub const LOCATOR_ENTRY_SIZE: usize = 24;

super::field::field_table! {
    /// A field of a parent locator entry (the table above); [`Field::name`] is the finding path
    /// component (`header.parent_locator[i].data_space`).
    "parent locator entry", LOCATOR_ENTRY_SIZE;
    /// Bytes 0..4.
    PlatformCode = (0, 4, "platform_code"),
    /// Bytes 4..8.
    DataSpace = (4, 4, "data_space"),
    /// Bytes 8..12 (bytes).
    DataLength = (8, 4, "data_length"),
    /// Bytes 12..16.
    Reserved = (12, 4, "reserved"),
    /// Bytes 16..24 (absolute byte offset).
    DataOffset = (16, 8, "data_offset"),
}

/// Platform codes (big-endian four-character codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlatformCode {
    /// 0: no locator.
    None,
    /// `Wi2r`: deprecated relative path.
    Wi2r,
    /// `Wi2k`: deprecated absolute path.
    Wi2k,
    /// `W2ru`: relative path, UTF-16LE.
    W2ru,
    /// `W2ku`: absolute path, UTF-16LE.
    W2ku,
    /// `Mac `: Mac OS alias blob (deprecated).
    Mac,
    /// `MacX`: file URL, UTF-8 (RFC 2396).
    MacX,
    /// Anything else.
    Unknown(u32),
}

impl PlatformCode {
    /// Decodes the raw field.
    pub fn from_raw(v: u32) -> PlatformCode {
        match v {
            0 => PlatformCode::None,
            0x5769_3272 => PlatformCode::Wi2r,
            0x5769_326B => PlatformCode::Wi2k,
            0x5732_7275 => PlatformCode::W2ru,
            0x5732_6B75 => PlatformCode::W2ku,
            0x4D61_6320 => PlatformCode::Mac,
            0x4D61_6358 => PlatformCode::MacX,
            o => PlatformCode::Unknown(o),
        }
    }

    /// The raw field value.
    pub fn raw(self) -> u32 {
        match self {
            PlatformCode::None => 0,
            PlatformCode::Wi2r => 0x5769_3272,
            PlatformCode::Wi2k => 0x5769_326B,
            PlatformCode::W2ru => 0x5732_7275,
            PlatformCode::W2ku => 0x5732_6B75,
            PlatformCode::Mac => 0x4D61_6320,
            PlatformCode::MacX => 0x4D61_6358,
            PlatformCode::Unknown(o) => o,
        }
    }

    /// The four-character name (`W2ku`), or `0x........` for unknown codes and `none` for 0.
    pub fn name(self) -> String {
        match self {
            PlatformCode::None => "none".into(),
            PlatformCode::Unknown(o) => format!("{o:#010x}"),
            k => String::from_utf8_lossy(&k.raw().to_be_bytes()).into_owned(),
        }
    }

    /// Whether the spec marks the code deprecated (Wi2r, Wi2k, Mac).
    pub fn is_deprecated(self) -> bool {
        matches!(self, PlatformCode::Wi2r | PlatformCode::Wi2k | PlatformCode::Mac)
    }

    /// Whether this project can decode and follow the payload (W2ku, W2ru, MacX).
    pub fn is_resolvable(self) -> bool {
        matches!(self, PlatformCode::W2ru | PlatformCode::W2ku | PlatformCode::MacX)
    }
}

/// One decoded parent locator entry, fields as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ParentLocatorEntry {
    /// Bytes 0..4, raw.
    pub platform_code: u32,
    /// Bytes 4..8: space reserved for the payload (sectors per the spec; bytes in practice).
    pub platform_data_space: u32,
    /// Bytes 8..12: payload length in bytes.
    pub platform_data_length: u32,
    /// Bytes 12..16: must be zero.
    pub reserved: u32,
    /// Bytes 16..24: absolute byte offset of the payload.
    pub platform_data_offset: u64,
}

impl ParentLocatorEntry {
    /// Decodes 24 bytes.
    pub fn decode(b: &[u8; LOCATOR_ENTRY_SIZE]) -> ParentLocatorEntry {
        use Field as F;
        ParentLocatorEntry {
            platform_code: BigEndian::read_u32(&b[F::PlatformCode.range()]),
            platform_data_space: BigEndian::read_u32(&b[F::DataSpace.range()]),
            platform_data_length: BigEndian::read_u32(&b[F::DataLength.range()]),
            reserved: BigEndian::read_u32(&b[F::Reserved.range()]),
            platform_data_offset: BigEndian::read_u64(&b[F::DataOffset.range()]),
        }
    }

    /// Encodes the fields verbatim.
    pub fn encode(&self) -> [u8; LOCATOR_ENTRY_SIZE] {
        use Field as F;
        let mut b = [0u8; LOCATOR_ENTRY_SIZE];
        BigEndian::write_u32(&mut b[F::PlatformCode.range()], self.platform_code);
        BigEndian::write_u32(&mut b[F::DataSpace.range()], self.platform_data_space);
        BigEndian::write_u32(&mut b[F::DataLength.range()], self.platform_data_length);
        BigEndian::write_u32(&mut b[F::Reserved.range()], self.reserved);
        BigEndian::write_u64(&mut b[F::DataOffset.range()], self.platform_data_offset);
        b
    }

    /// The platform code, decoded.
    pub fn code(&self) -> PlatformCode {
        PlatformCode::from_raw(self.platform_code)
    }

    /// Whether every field is zero.
    pub fn is_empty(&self) -> bool {
        *self == ParentLocatorEntry::default()
    }

    /// The reserved span in bytes if `platform_data_space` counts sectors (the spec).
    pub fn space_bytes_as_sectors(&self) -> u64 {
        u64::from(self.platform_data_space) * 512
    }

    /// The reserved span in bytes if `platform_data_space` counts bytes (Hyper-V, VirtualBox).
    pub fn space_bytes_as_bytes(&self) -> u64 {
        u64::from(self.platform_data_space)
    }

    /// The span this project takes the payload area to occupy, in bytes: blktap's reading
    /// (`space < 512` means sectors, otherwise bytes), never less than the data length.
    pub fn effective_span(&self) -> u64 {
        let space =
            if self.platform_data_space < 512 { self.space_bytes_as_sectors() } else { self.space_bytes_as_bytes() };
        space.max(u64::from(self.platform_data_length))
    }
}

/// Why a locator payload could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// UTF-16 payload with an odd number of bytes.
    #[error("UTF-16 payload has an odd length ({0} bytes)")]
    OddLength(usize),
    /// Unpaired surrogate in UTF-16.
    #[error("payload is not valid UTF-16LE (unpaired surrogate)")]
    BadUtf16,
    /// Not UTF-8.
    #[error("payload is not valid UTF-8")]
    BadUtf8,
    /// MacX payload without the `file://` scheme.
    #[error("MacX payload is not a file:// URL")]
    NotFileUrl,
    /// Bad percent escape in a URL.
    #[error("file URL has a bad percent escape")]
    BadEscape,
}

/// Decodes a W2ku/W2ru payload: UTF-16 little-endian, no BOM; trailing NULs are dropped.
pub fn decode_utf16le(bytes: &[u8]) -> Result<String, PayloadError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(PayloadError::OddLength(bytes.len()));
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let s = String::from_utf16(&units).map_err(|_| PayloadError::BadUtf16)?;
    Ok(s.trim_end_matches('\0').to_string())
}

/// Encodes a path as a W2ku/W2ru payload (UTF-16 little-endian, no terminator).
pub fn encode_utf16le(path: &str) -> Vec<u8> {
    path.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Decodes a MacX payload (`file://` URL, UTF-8, percent-escapes) to a path.
/// `file://localhost/p` and `file:///p` both give `/p`.
pub fn decode_macx(bytes: &[u8]) -> Result<String, PayloadError> {
    let s = std::str::from_utf8(bytes).map_err(|_| PayloadError::BadUtf8)?;
    let s = s.trim_end_matches('\0');
    let rest = s.strip_prefix("file://").ok_or(PayloadError::NotFileUrl)?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    // `percent_decode` passes a malformed escape through; the payload is refused instead.
    let escapes_ok =
        rest.split('%').skip(1).all(|e| e.as_bytes().get(..2).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    if !escapes_ok {
        return Err(PayloadError::BadEscape);
    }
    let out: Vec<u8> = percent_encoding::percent_decode_str(rest).collect();
    String::from_utf8(out).map_err(|_| PayloadError::BadUtf8)
}

/// The bytes a MacX payload escapes: all but ASCII letters, digits and `/-._~`.
const MACX_ESCAPED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Encodes an absolute path as a MacX payload (`file://` + percent-escaped UTF-8).
pub fn encode_macx(path: &str) -> Vec<u8> {
    format!("file://{}", percent_encoding::utf8_percent_encode(path, MACX_ESCAPED)).into_bytes()
}

/// Decodes a deprecated Wi2k/Wi2r payload: single-byte characters, read as Latin-1.
pub fn decode_legacy(bytes: &[u8]) -> String {
    bytes.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect()
}

/// Largest payload read and decoded, in bytes (64 KiB: a Windows path of 32 767 UTF-16 code
/// units fits). Longer payloads are not decoded.
pub const PAYLOAD_CAP: u64 = 64 * 1024;

/// Reads the payload of `loc`: `platform data length` bytes at `platform data offset`.
/// `None` when the length is 0 or above [`PAYLOAD_CAP`], when the payload does not lie wholly
/// inside `src`, or on a read error.
pub fn read_payload(src: &dyn ReadAt, loc: &ParentLocatorEntry) -> Option<Vec<u8>> {
    let len = u64::from(loc.platform_data_length);
    if len == 0 || len > PAYLOAD_CAP || !src.contains(loc.platform_data_offset, len) {
        return None;
    }
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    src.read_exact_at(loc.platform_data_offset, &mut buf).ok()?;
    Some(buf)
}

/// Decodes a payload of a W2ku/W2ru (UTF-16LE) or MacX (`file://` URL) locator; `None` for
/// other platform codes.
pub fn decode_payload(code: PlatformCode, bytes: &[u8]) -> Option<Result<String, PayloadError>> {
    match code {
        PlatformCode::W2ku | PlatformCode::W2ru => Some(decode_utf16le(bytes)),
        PlatformCode::MacX => Some(decode_macx(bytes)),
        _ => None,
    }
}

/// The decoded parent paths of `header`'s W2ku, W2ru and MacX parent locators, in entry order,
/// as `(entry index 0..8, platform code, decoded path or why it could not be decoded)`.
///
/// Each payload is `platform data length` bytes read from `src` at the absolute byte offset
/// `platform data offset`. Entries whose payload is empty, longer than [`PAYLOAD_CAP`] (64 KiB)
/// or not wholly inside `src` are left out, as are entries with other platform codes. W2ku/W2ru
/// paths are returned as stored (Windows separators, trailing NULs dropped); MacX URLs are
/// returned as paths (`file://localhost/p` and `file:///p` give `/p`).
pub fn decoded_paths(
    src: &dyn ReadAt,
    header: &DynamicDiskHeader,
) -> Vec<(usize, PlatformCode, Result<String, PayloadError>)> {
    header
        .parent_locators
        .iter()
        .enumerate()
        .filter(|(_, loc)| loc.code().is_resolvable())
        .filter_map(|(i, loc)| {
            let bytes = read_payload(src, loc)?;
            decode_payload(loc.code(), &bytes).map(|r| (i, loc.code(), r))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_round_trip() {
        let p = ".\\dir\\parent é.vhd";
        assert_eq!(decode_utf16le(&encode_utf16le(p)).as_deref(), Ok(p));
        assert_eq!(decode_utf16le(&[0x41]), Err(PayloadError::OddLength(1)));
        assert_eq!(decode_utf16le(&[0x00, 0xD8]), Err(PayloadError::BadUtf16));
    }

    #[test]
    fn macx_round_trip() {
        let p = "/var/lib/images/par ent.vhd";
        assert_eq!(decode_macx(&encode_macx(p)).as_deref(), Ok(p));
        assert_eq!(decode_macx(b"file://localhost/a%20b").as_deref(), Ok("/a b"));
        assert_eq!(decode_macx(b"/a"), Err(PayloadError::NotFileUrl));
        assert_eq!(decode_macx(b"file:///a%2"), Err(PayloadError::BadEscape));
        assert_eq!(decode_macx(b"file:///a%zz"), Err(PayloadError::BadEscape));
        assert_eq!(decode_macx(b"file:///%C3%A9%2f"), Ok("/\u{e9}/".to_string()));
        assert_eq!(encode_macx("/a b/\u{e9}~x.vhd"), b"file:///a%20b/%C3%A9~x.vhd");
    }

    #[test]
    fn codes() {
        assert_eq!(PlatformCode::from_raw(0x5732_6B75), PlatformCode::W2ku);
        assert_eq!(PlatformCode::W2ku.name(), "W2ku");
        assert_eq!(PlatformCode::MacX.raw().to_be_bytes(), *b"MacX");
    }
}
