//! Value types of the scenario format with their own YAML syntax: byte sizes (`2 MiB`),
//! four-character codes (`"win "`), unique ids, hex byte strings and mutation field values.
//!
//! Each type deserializes from the forms documented in `docs/SCENARIOS.md`, serializes back to
//! a form it accepts (so a saved scenario reproduces itself) and describes itself in the JSON
//! Schema.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A byte count: an integer (bytes) or a string `N UNIT` with UNIT one of `B`, `KiB`, `MiB`,
/// `GiB`, `TiB` (binary multiples; `K`, `M`, `G`, `T` are accepted as the same) or `s` /
/// `sectors` (512 bytes each). Examples: `1048576`, `"1 MiB"`, `"4 sectors"`, `"512K"`.
///
/// The one size grammar of the workspace: scenarios, mutation values and the command lines'
/// size arguments all parse with [`Size::parse`] (which also takes units in any case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Size(pub u64);

const UNITS: [(&str, u64); 5] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)];

impl Size {
    /// Parses the string form; `None` when malformed or overflowing.
    pub fn parse(s: &str) -> Option<Size> {
        let s = s.trim();
        let digits_end = s.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(s.len());
        let (num, unit) = s.split_at(digits_end);
        let num = num.replace('_', "");
        let n = if let Some(hex) = unit.strip_prefix('x').filter(|_| num == "0") {
            return u64::from_str_radix(hex.trim(), 16).ok().map(Size);
        } else {
            num.parse::<u64>().ok()?
        };
        let mult = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" | "kb" => 1 << 10,
            "m" | "mib" | "mb" => 1 << 20,
            "g" | "gib" | "gb" => 1 << 30,
            "t" | "tib" | "tb" => 1 << 40,
            "s" | "sector" | "sectors" => 512,
            _ => return None,
        };
        n.checked_mul(mult).map(Size)
    }

    /// The shortest exact string form (`"2 MiB"`), or `None` when it is not a whole unit.
    pub fn pretty(self) -> Option<String> {
        UNITS
            .iter()
            .find(|(_, m)| *m > 1 && self.0 != 0 && self.0.is_multiple_of(*m))
            .map(|(u, m)| format!("{} {u}", self.0 / m))
    }

    /// The value in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pretty() {
            Some(p) => f.write_str(&p),
            None => write!(f, "{} B", self.0),
        }
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.pretty() {
            Some(p) => s.serialize_str(&p),
            None => s.serialize_u64(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: bytes as an integer, or a string like \"2 MiB\", \"512 KiB\", \"8 sectors\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v).map(Size).map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                Size::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Size {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Bytes: an integer, or a string `N UNIT` (UNIT: B, KiB, MiB, GiB, TiB, K, M, G, T, s/sectors = 512 bytes).",
            "oneOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9_]+\\s*(B|b|K|KiB|k|KB|M|MiB|MB|G|GiB|GB|T|TiB|TB|s|sector|sectors)?\\s*$" }
            ]
        })
    }
}

/// A four-byte field (creator application, creator host OS, platform code) given as a string
/// of exactly four characters (YAML escapes allowed: `"wa\0\0"`) or as an integer (the
/// big-endian value, e.g. `0x5769326B` for `Wi2k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FourCc(pub [u8; 4]);

impl FourCc {
    /// The big-endian integer value.
    pub fn value(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    fn parse_str(s: &str) -> Option<FourCc> {
        let bytes: Vec<u8> = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect::<Option<_>>()?;
        <[u8; 4]>::try_from(bytes.as_slice()).ok().map(FourCc)
    }
}

impl Serialize for FourCc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.iter().all(|b| (0x20..0x7f).contains(b)) {
            s.serialize_str(&self.0.iter().map(|&b| b as char).collect::<String>())
        } else {
            s.serialize_u32(self.value())
        }
    }
}

impl<'de> Deserialize<'de> for FourCc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FourCc, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FourCc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a four-character string (e.g. \"win \", \"wa\\0\\0\") or a 32-bit integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FourCc, E> {
                u32::try_from(v).map(|v| FourCc(v.to_be_bytes())).map_err(|_| E::custom("value does not fit 32 bits"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FourCc, E> {
                u32::try_from(v).map(|v| FourCc(v.to_be_bytes())).map_err(|_| E::custom("value does not fit 32 bits"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FourCc, E> {
                FourCc::parse_str(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for FourCc {
    fn schema_name() -> Cow<'static, str> {
        "FourCc".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Four bytes: a string of exactly 4 characters (U+0000..U+00FF) or a 32-bit big-endian integer.",
            "oneOf": [
                { "type": "integer", "minimum": 0, "maximum": 4294967295u64 },
                { "type": "string", "minLength": 4, "maxLength": 4 }
            ]
        })
    }
}

/// A 16-byte unique id in stored byte order: 32 hex digits, dashes allowed anywhere
/// (`"0123abcd-..."`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct UniqueId(pub [u8; 16]);

impl Serialize for UniqueId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&vhd_validator::format::format_uuid(&self.0))
    }
}

impl<'de> Deserialize<'de> for UniqueId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UniqueId, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = parse_hex(&s.replace('-', "")).map_err(de::Error::custom)?;
        <[u8; 16]>::try_from(bytes.as_slice())
            .map(UniqueId)
            .map_err(|_| de::Error::custom(format!("a unique id has 16 bytes (32 hex digits), found {}", bytes.len())))
    }
}

impl JsonSchema for UniqueId {
    fn schema_name() -> Cow<'static, str> {
        "UniqueId".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "16 bytes in stored order as 32 hex digits; dashes are ignored.",
            "type": "string",
            "pattern": "^[-0-9a-fA-F]+$"
        })
    }
}

/// Parses hex digits (spaces, `_`, `:` and `-` ignored) into bytes.
///
/// # Errors
/// A message when a character is not a hex digit or the digit count is odd.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s.chars().filter(|c| !" _:-\t\n".contains(*c)).collect();
    vhd_validator::hex::decode(&digits).map_err(|e| match e {
        vhd_validator::hex::HexError::NotHex(i) => {
            format!("{:?} is not a hex byte", digits.get(2 * i..2 * i + 2).unwrap_or(&digits))
        }
        e => e.to_string(),
    })
}

/// Raw bytes given as a hex string (`"00 d8 41 00"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct HexBytes(pub Vec<u8>);

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&vhd_validator::hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HexBytes, D::Error> {
        let s = String::deserialize(d)?;
        parse_hex(&s).map(HexBytes).map_err(de::Error::custom)
    }
}

impl JsonSchema for HexBytes {
    fn schema_name() -> Cow<'static, str> {
        "HexBytes".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Bytes as hex digits; spaces, `_`, `:` and `-` are ignored.",
            "type": "string",
            "pattern": "^[-_: 0-9a-fA-F]*$"
        })
    }
}

/// The value a mutation writes into a field: an integer (decimal or `0x` hex) or a string
/// (cookies, four-character codes, unique ids, names).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum FieldValue {
    /// An integer.
    Int(u64),
    /// A string.
    Text(String),
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Int(v) => s.serialize_u64(*v),
            FieldValue::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FieldValue, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FieldValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an unsigned integer or a string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldValue, E> {
                Ok(FieldValue::Int(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldValue, E> {
                u64::try_from(v).map(FieldValue::Int).map_err(|_| E::custom("field values cannot be negative"))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FieldValue, E> {
                Ok(FieldValue::Int(u64::from(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for FieldValue {
    fn schema_name() -> Cow<'static, str> {
        "FieldValue".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An unsigned integer or a string, as the field calls for.",
            "oneOf": [ { "type": "integer", "minimum": 0 }, { "type": "string" } ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("2 MiB"), Some(Size(2 << 20)));
        assert_eq!(Size::parse("512K"), Some(Size(512 << 10)));
        assert_eq!(Size::parse("3 gib"), Some(Size(3 << 30)));
        assert_eq!(Size::parse("8 sectors"), Some(Size(4096)));
        assert_eq!(Size::parse("1_000"), Some(Size(1000)));
        assert_eq!(Size::parse("0x200"), Some(Size(512)));
        assert_eq!(Size::parse("3 parsecs"), None);
        assert_eq!(Size::parse("99999999999 TiB"), None);
        assert_eq!(Size(2 << 20).pretty().as_deref(), Some("2 MiB"));
        assert_eq!(Size(1536).pretty(), None);
        assert_eq!(Size(3072).pretty().as_deref(), Some("3 KiB"));
        assert_eq!(Size(1000).pretty(), None);
    }

    #[test]
    fn hex_and_fourcc() {
        assert_eq!(parse_hex("00 d8-41"), Ok(vec![0, 0xd8, 0x41]));
        assert!(parse_hex("0").is_err() && parse_hex("zz").is_err());
        assert_eq!(FourCc::parse_str("win "), Some(FourCc(*b"win ")));
        assert_eq!(FourCc::parse_str("wa\0\0"), Some(FourCc(*b"wa\0\0")));
        assert_eq!(FourCc::parse_str("toolong"), None);
    }
}
