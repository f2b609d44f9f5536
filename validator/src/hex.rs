//! Hexadecimal text of bytes: the one encoder and decoder of the workspace (digests in reports,
//! manifests and command output, unique ids, byte strings in scenarios).

use std::fmt::Write as _;

/// Why [`decode`] refused a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// The string has an odd number of digits (the count).
    #[error("hex string has an odd number of digits ({0})")]
    OddLength(usize),
    /// The byte at this index (digits `2 * index` and `2 * index + 1`) is not two hex digits.
    #[error("byte {0} is not two hex digits")]
    NotHex(usize),
}

/// Lower-case hex of `bytes`: two digits per byte, no separators (`[0x00, 0xab]` → `"00ab"`).
pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The bytes of `digits`: two hex digits (either case) per byte, no separators.
///
/// # Errors
/// [`HexError`] for an odd number of digits or a character that is not a hex digit.
pub fn decode(digits: &str) -> Result<Vec<u8>, HexError> {
    let d = digits.as_bytes();
    if !d.len().is_multiple_of(2) {
        return Err(HexError::OddLength(d.len()));
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    d.chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => u8::try_from(h * 16 + l).map_err(|_| HexError::NotHex(i)),
            _ => Err(HexError::NotHex(i)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lower_case_and_padded() {
        assert_eq!(encode(&[0, 0xAB, 0x0f]), "00ab0f");
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn decodes_either_case_and_refuses_the_rest() {
        assert_eq!(decode("00aB0F"), Ok(vec![0, 0xAB, 0x0F]));
        assert_eq!(decode(&encode(&[1, 2, 255])), Ok(vec![1, 2, 255]));
        assert_eq!(decode("abc"), Err(HexError::OddLength(3)));
        assert_eq!(decode("00zz"), Err(HexError::NotHex(1)));
        assert_eq!(decode("+1"), Err(HexError::NotHex(0)));
    }
}
