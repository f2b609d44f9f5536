//! The scenario format: what one test case's images look like and how they are damaged.
//!
//! These types are the schema of `specs/**/*.yaml` (see `docs/SCENARIOS.md` for every feature
//! with an example and `docs/scenario.schema.json` for the generated JSON Schema). They are
//! parsed by [`crate::yaml`] only. Every struct refuses unknown fields, so a misspelt key is an
//! error with its line and column, never a silently ignored setting.
//!
//! Sizes and offsets are in **bytes** unless a field's name or doc says sectors.

use crate::values::{FieldValue, FourCc, HexBytes, Size, UniqueId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vhd_validator::rules::Code;

/// Rule codes of the catalogue drawn for fuzzing.
#[cfg(feature = "arbitrary")]
fn arbitrary_codes(u: &mut arbitrary::Unstructured) -> arbitrary::Result<Vec<Code>> {
    let n = u.int_in_range(0..=4u8)?;
    (0..n).map(|_| u.choose(Code::ALL).copied()).collect()
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// One test case: the main image (with its parent chain), the findings its valid layout
/// yields, and the corruptions applied after it is laid out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Namespaced case id (`dynamic/bat/overlapping-blocks`). Default: the file's path under
    /// the scenario directory given to the generator, without the extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What the case is and what it must yield, in one or two sentences.
    pub description: String,
    /// Specification reference (`§Hard Disk Footer Format: Checksum`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub spec: String,
    /// Extra feature tags; the generator adds the automatic ones (disk type, block size, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The one seed every derived value comes from (unique ids, time stamps, random data,
    /// shuffled block order). `vhd-generate --seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    /// Rule codes that the images yield without any mutation (a legal but unusual layout:
    /// e.g. `HEADER-BLOCK-SIZE-UNUSUAL` for 4 MiB blocks). Part of the expected codes; a code
    /// not in the catalogue fails the parse.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arbitrary_codes))]
    pub expect_findings: Vec<Code>,
    /// Check options the case must be validated with (recorded in the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckSpec>,
    /// Ids of the known faults of other implementations the case exposes
    /// (`vhd_validator::faults::FAULTS`); copied, sorted, to the manifest's `exposes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposes: Vec<String>,
    /// For a case some profile rejects: the content model is the reading a lenient reader that
    /// accepts the case must return (the manifest's `reference_sha256`). Needs a content the
    /// model follows (no mutation that alters it).
    #[serde(default, skip_serializing_if = "is_default")]
    pub reference_reading: bool,
    /// The main image (for a differencing disk: the child; its parents nest under `parent`).
    pub image: Image,
    /// Corruptions applied in order after every image of the chain is laid out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
    /// A template update (the main image must be a differencing disk): the new parent and
    /// more children are written beside the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
}

/// Check options recorded with the case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Chain depth limit (images, child included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<usize>,
}

/// Disk type (footer bytes 60..64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Kind {
    /// Type 2: data then footer.
    Fixed,
    /// Type 3: footer copy, dynamic disk header, BAT, blocks, footer.
    Dynamic,
    /// Type 4: a dynamic layout whose clear sectors come from `parent`.
    Differencing,
}

impl Kind {
    /// `fixed`, `dynamic` or `differencing`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Fixed => "fixed",
            Kind::Dynamic => "dynamic",
            Kind::Differencing => "differencing",
        }
    }

    /// Whether the image has a dynamic disk header and BAT.
    pub fn is_sparse(self) -> bool {
        !matches!(self, Kind::Fixed)
    }
}

/// One image of the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// Disk type.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Current size (the virtual disk size), bytes.
    pub size: Size,
    /// Block size of a dynamic or differencing disk: a power of two from 512 B to 2 GiB.
    /// Default 2 MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<Size>,
    /// File name. Default `disk.vhd` for the main image, `parentN.vhd` for the N-th ancestor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Hard disk footer fields (both copies).
    #[serde(default, skip_serializing_if = "is_default")]
    pub footer: FooterSpec,
    /// Dynamic disk header fields.
    #[serde(default, skip_serializing_if = "is_default")]
    pub header: HeaderSpec,
    /// Where structures go in the file.
    #[serde(default, skip_serializing_if = "is_default")]
    pub layout: LayoutSpec,
    /// Parent locators. Default for a differencing disk: a `W2ku` and a `W2ru` locator with
    /// derived paths; for other disks none. `[]` writes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locators: Option<Vec<LocatorSpec>>,
    /// The parent image (differencing disks only; required for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Box<Image>>,
    /// Data written to the virtual disk, in order (later writes win where they overlap).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<Write>,
    /// Blocks allocated without data (dynamic and differencing disks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocate: Vec<Allocate>,
}

/// Hard disk footer fields. Anything not given takes the default of a clean image: features
/// 0x2, creator `win ` 10.0 on `Wi2k` (a creator that no reader sizes by geometry), time
/// stamp and unique id derived from the seed, original size = current size, geometry by the
/// spec's CHS algorithm, saved state 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct FooterSpec {
    /// Creator application (bytes 28..32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_application: Option<FourCc>,
    /// Creator version (bytes 32..36), major in the high 16 bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_version: Option<u32>,
    /// Creator host OS (bytes 36..40): `Wi2k`, `"Mac "` or any four bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_host_os: Option<FourCc>,
    /// Time stamp (bytes 24..28), seconds since 2000-01-01 00:00:00 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u32>,
    /// Unique id (bytes 68..84).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<UniqueId>,
    /// Original size (bytes 40..48).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_size: Option<Size>,
    /// CHS geometry (bytes 56..60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry: Option<GeometrySpec>,
    /// Features (bytes 8..12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<u32>,
    /// Saved state (byte 84).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_state: Option<u8>,
}

/// CHS geometry as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct GeometrySpec {
    /// Cylinders (u16).
    pub cylinders: u16,
    /// Heads (u8).
    pub heads: u8,
    /// Sectors per track (u8).
    pub sectors_per_track: u8,
}

/// Dynamic disk header fields. Defaults: max table entries = blocks the current size needs;
/// for a differencing disk the parent fields describe the real parent (its footer unique id
/// and time stamp, its file name); for a dynamic disk they are zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct HeaderSpec {
    /// Max table entries (bytes 28..32); the BAT gets this many entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_table_entries: Option<u32>,
    /// Parent unique id (bytes 40..56).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_unique_id: Option<UniqueId>,
    /// Parent time stamp (bytes 56..60), seconds since 2000-01-01 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_timestamp: Option<u32>,
    /// Parent unicode name (bytes 64..576), stored UTF-16 big-endian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_name: Option<String>,
    /// The 512 bytes of the parent unicode name field verbatim (zero-padded); wins over
    /// `parent_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_name_hex: Option<HexBytes>,
}

/// Block placement order in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BlockOrder {
    /// Block 0 first (the usual layout).
    #[default]
    Ascending,
    /// Highest block number first.
    Descending,
    /// A permutation drawn from the seed.
    Shuffle,
    /// These block numbers first, in this order; allocated blocks not listed follow ascending.
    Explicit(Vec<u64>),
}

/// An explicit file position for one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct BlockOffset {
    /// Block number.
    pub block: u64,
    /// Byte offset of the block's sector bitmap (a multiple of 512).
    pub offset: Size,
}

/// File layout. Sparse disks: footer copy at 0, dynamic disk header at `header_offset`, then
/// (unless placed explicitly) the BAT, the parent locator data and the blocks, each after the
/// previous one; explicitly placed structures are avoided by the automatic ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    /// Byte offset of the dynamic disk header (footer data offset). Default 512.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_offset: Option<Size>,
    /// Byte offset of the BAT. Default: the first free sector after the header (and after the
    /// locator data when `locators_before_bat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bat_offset: Option<Size>,
    /// Byte that pads the BAT from its last entry to the sector boundary. Default 0xFF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bat_padding: Option<u8>,
    /// Place automatically placed parent locator data before the BAT (Hyper-V style).
    #[serde(default, skip_serializing_if = "is_false")]
    pub locators_before_bat: bool,
    /// Order of the blocks in the file.
    #[serde(default, skip_serializing_if = "is_default")]
    pub block_order: BlockOrder,
    /// Explicit positions of some blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block_offsets: Vec<BlockOffset>,
    /// Free bytes between the metadata and the first automatically placed block (multiple of
    /// 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_after_metadata: Option<Size>,
    /// Free bytes after every automatically placed block (multiple of 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_between_blocks: Option<Size>,
    /// Each automatically placed block's data (after its bitmap) starts at a multiple of this
    /// many bytes (a power of two, at least 512). Default 512.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_alignment: Option<Size>,
    /// Byte filling each sector bitmap past the bits of the block's sectors. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitmap_padding: Option<u8>,
    /// Free bytes between the end of the last structure (fixed: the data) and the footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding_before_footer: Option<Size>,
    /// Write the pre-2004 511-byte trailing footer (the last reserved byte is left out).
    #[serde(default, skip_serializing_if = "is_false")]
    pub short_footer: bool,
}

/// Platform code of a parent locator: a name or any 32-bit integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum LocatorCode {
    /// `W2ku`: absolute Windows path, UTF-16LE.
    W2ku,
    /// `W2ru`: relative Windows path, UTF-16LE.
    W2ru,
    /// `MacX`: `file://` URL, UTF-8.
    MacX,
    /// `Wi2k` (deprecated): absolute path, single-byte characters.
    Wi2k,
    /// `Wi2r` (deprecated): relative path, single-byte characters.
    Wi2r,
    /// `Mac ` (deprecated): alias blob (the generator writes the path's UTF-8 bytes).
    Mac,
    /// 0: an unused entry.
    None,
    /// Any other value.
    Raw(u32),
}

impl LocatorCode {
    /// The raw field value.
    pub fn raw(self) -> u32 {
        use vhd_validator::format::PlatformCode as P;
        match self {
            LocatorCode::W2ku => P::W2ku.raw(),
            LocatorCode::W2ru => P::W2ru.raw(),
            LocatorCode::MacX => P::MacX.raw(),
            LocatorCode::Wi2k => P::Wi2k.raw(),
            LocatorCode::Wi2r => P::Wi2r.raw(),
            LocatorCode::Mac => P::Mac.raw(),
            LocatorCode::None => 0,
            LocatorCode::Raw(v) => v,
        }
    }

    fn from_name(s: &str) -> Option<LocatorCode> {
        Some(match s {
            "W2ku" => LocatorCode::W2ku,
            "W2ru" => LocatorCode::W2ru,
            "MacX" => LocatorCode::MacX,
            "Wi2k" => LocatorCode::Wi2k,
            "Wi2r" => LocatorCode::Wi2r,
            "Mac" | "Mac " => LocatorCode::Mac,
            "none" => LocatorCode::None,
            _ => return None,
        })
    }

    /// The name as written in scenarios (`W2ku`, `Mac`, `none`), or `None` for raw codes.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            LocatorCode::W2ku => "W2ku",
            LocatorCode::W2ru => "W2ru",
            LocatorCode::MacX => "MacX",
            LocatorCode::Wi2k => "Wi2k",
            LocatorCode::Wi2r => "Wi2r",
            LocatorCode::Mac => "Mac",
            LocatorCode::None => "none",
            LocatorCode::Raw(_) => return None,
        })
    }
}

impl Serialize for LocatorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.serialize_u32(self.raw()),
        }
    }
}

impl<'de> Deserialize<'de> for LocatorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LocatorCode, D::Error> {
        use serde::de::{self, Visitor};
        struct V;
        impl Visitor<'_> for V {
            type Value = LocatorCode;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a platform code: W2ku, W2ru, MacX, Wi2k, Wi2r, Mac, none, or a 32-bit integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LocatorCode, E> {
                let v = u32::try_from(v).map_err(|_| E::custom("platform code does not fit 32 bits"))?;
                let named = [
                    LocatorCode::W2ku,
                    LocatorCode::W2ru,
                    LocatorCode::MacX,
                    LocatorCode::Wi2k,
                    LocatorCode::Wi2r,
                    LocatorCode::Mac,
                    LocatorCode::None,
                ];
                Ok(named.into_iter().find(|c| c.raw() == v).unwrap_or(LocatorCode::Raw(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LocatorCode, E> {
                self.visit_u64(u64::try_from(v).map_err(|_| E::custom("platform code cannot be negative"))?)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LocatorCode, E> {
                LocatorCode::from_name(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for LocatorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LocatorCode".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Platform code: a name or a 32-bit integer.",
            "oneOf": [
                { "enum": ["W2ku", "W2ru", "MacX", "Wi2k", "Wi2r", "Mac", "none"] },
                { "type": "integer", "minimum": 0, "maximum": 4294967295u64 }
            ]
        })
    }
}

/// Units in which a locator's platform data space is recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SpaceUnits {
    /// 512-byte sectors, as the spec says.
    #[default]
    Sectors,
    /// Bytes, as Hyper-V and VirtualBox write.
    Bytes,
}

/// One parent locator entry and its data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct LocatorSpec {
    /// Platform code.
    pub code: LocatorCode,
    /// The path to encode. Default, from the parent's file name NAME: `C:\vhd-corpus\NAME`
    /// (W2ku, Wi2k), `.\NAME` (W2ru, Wi2r), `/vhd-corpus/NAME` (MacX, Mac).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The payload bytes verbatim instead of the encoded path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_hex: Option<HexBytes>,
    /// Bytes reserved for the payload (a multiple of 512 when recorded in sectors). Default:
    /// the payload length rounded up to a sector (at least one sector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<Size>,
    /// How the data space field records `space`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub space_units: SpaceUnits,
    /// Platform data length to record instead of the payload's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Byte offset of the payload. Default: placed automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Size>,
    /// Entry index 0..8. Default: the next unused entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u8>,
}

/// Data pattern of a write.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Pattern {
    /// Zero bytes (stored as zeros; sets bitmap bits like any write).
    Zero,
    /// Every byte is this value.
    Fill(u8),
    /// Each sector holds the u64 `base + LBA` (big-endian) repeated 64 times.
    Counter(u64),
    /// ChaCha8 bytes, seekable by LBA: the stream seeded with this value (default: derived
    /// from the scenario seed, the image's chain level and the write's index), word position
    /// `LBA x 128`.
    Random(Option<u64>),
    /// A partition table with one partition: sector 0 holds an MBR (type 0x07) or, for GPT, a
    /// protective MBR, sector 1 the GPT header and sectors 2-33 the entry array (one basic
    /// data entry; CRC32s filled in; no backup table). Other sectors of the write are zero.
    PartitionTable(PartitionTable),
}

/// Partitioning scheme of a `partition-table` pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PartitionScheme {
    /// Master boot record; the partition starts at sector 63 by default.
    Mbr,
    /// GUID partition table; the partition starts at sector 2048 by default.
    Gpt,
}

/// The `partition-table` pattern's table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct PartitionTable {
    /// The scheme.
    pub scheme: PartitionScheme,
    /// First sector of the partition (default 63 for MBR, 2048 for GPT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    /// Sectors of the partition (default: to the end of the disk; GPT: to the last usable
    /// sector, 33 before the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sectors: Option<u64>,
}

/// Repetition of a write: `count` copies, copy `k` starting `k x stride` sectors after the
/// first (file-system-like cluster writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Number of copies (at least 1).
    pub count: u64,
    /// Sectors from the start of one copy to the start of the next (at least the write's
    /// length).
    pub stride: u64,
}

/// A template update: a new version of the main image's parent, and more children of the old
/// parent. `vhd-analyze --new-parent` compares the two parents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// File name of the new parent (default `new-parent.vhd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Writes applied to a copy of the old parent to make the new one (after its own writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<Write>,
    /// More children of the old parent: copies of the main image with other writes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<UpdateChild>,
}

/// Another child of the old parent in a template update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct UpdateChild {
    /// File name.
    pub file: String,
    /// Its writes (in place of the main image's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<Write>,
}

/// Which sector bitmap bits a write sets (dynamic and differencing disks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BitmapMode {
    /// The bits of the written sectors (partial bitmaps for partial blocks).
    #[default]
    Written,
    /// Every bit of each touched block (within the disk), as QEMU does: in a differencing
    /// disk the unwritten sectors of the block then read as zeros, not from the parent.
    Block,
    /// No bit: the data is stored but the bitmap says the sectors are not in this file.
    None,
}

/// Data written to the virtual disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Write {
    /// First sector (LBA). Give `sector` or `offset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<u64>,
    /// Number of sectors. Default (with `sector`): to the end of the disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// First byte (a multiple of 512). Give `sector` or `offset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Size>,
    /// Bytes (a multiple of 512). Default (with `offset`): to the end of the disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Size>,
    /// The data.
    pub pattern: Pattern,
    /// Which bitmap bits the write sets.
    #[serde(default, skip_serializing_if = "is_default")]
    pub bitmap: BitmapMode,
    /// Repeat the write (default: once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
}

/// Bitmap of a block allocated without data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AllocBitmap {
    /// No bit set.
    #[default]
    Empty,
    /// Every bit of the block's sectors within the disk set (data zero).
    Full,
}

/// A block allocated without writing data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Allocate {
    /// Block number (below max table entries; may lie past the disk's last block).
    pub block: u64,
    /// Its sector bitmap.
    #[serde(default, skip_serializing_if = "is_default")]
    pub bitmap: AllocBitmap,
}

/// Which copy of the hard disk footer a mutation edits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Which {
    /// The trailing footer and, for sparse disks, the copy at offset 0.
    #[default]
    Both,
    /// The trailing footer only.
    Tail,
    /// The copy at offset 0 only (sparse disks).
    Copy,
}

/// Hard disk footer fields a mutation can set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FooterField {
    /// Bytes 0..8 (string of up to 8 characters, NUL-padded).
    Cookie,
    /// Bytes 8..12.
    Features,
    /// Bytes 12..16.
    Version,
    /// Bytes 16..24.
    DataOffset,
    /// Bytes 24..28.
    Timestamp,
    /// Bytes 28..32 (four characters or integer).
    CreatorApplication,
    /// Bytes 32..36.
    CreatorVersion,
    /// Bytes 36..40 (four characters or integer).
    CreatorHostOs,
    /// Bytes 40..48.
    OriginalSize,
    /// Bytes 48..56.
    CurrentSize,
    /// Bytes 56..58.
    Cylinders,
    /// Byte 58.
    Heads,
    /// Byte 59.
    SectorsPerTrack,
    /// Bytes 60..64.
    DiskType,
    /// Bytes 64..68 (set `reseal: false`, or the value is replaced by the computed one).
    Checksum,
    /// Bytes 68..84 (unique id string).
    UniqueId,
    /// Byte 84.
    SavedState,
    /// Byte 85 (blktap's hidden flag).
    Hidden,
    /// Byte 86 (the first reserved byte after the hidden flag).
    Reserved,
}

/// Dynamic disk header fields a mutation can set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum HeaderField {
    /// Bytes 0..8.
    Cookie,
    /// Bytes 8..16.
    DataOffset,
    /// Bytes 16..24.
    TableOffset,
    /// Bytes 24..28.
    Version,
    /// Bytes 28..32.
    MaxTableEntries,
    /// Bytes 32..36.
    BlockSize,
    /// Bytes 36..40 (set `reseal: false`).
    Checksum,
    /// Bytes 40..56.
    ParentUniqueId,
    /// Bytes 56..60.
    ParentTimestamp,
    /// Bytes 60..64.
    Reserved1,
    /// Bytes 64..576 (string, stored UTF-16BE).
    ParentName,
    /// Byte 768 (first byte of the trailing reserved area).
    Reserved2,
}

/// Parent locator entry fields a mutation can set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LocatorField {
    /// Bytes 0..4 (name or integer).
    Code,
    /// Bytes 4..8.
    Space,
    /// Bytes 8..12.
    Length,
    /// Bytes 12..16.
    Reserved,
    /// Bytes 16..24.
    Offset,
}

/// A position in an image file that byte-level mutations are relative to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Anchor {
    /// Byte 0.
    #[default]
    File,
    /// The end of the file (as it is when the mutation runs).
    Eof,
    /// The trailing footer (file length less 512, or 511 for a short footer).
    Footer,
    /// The dynamic disk header.
    Header,
    /// The BAT.
    Bat,
    /// The sector bitmap of this block.
    Block(u64),
    /// The data of this block (after its bitmap).
    BlockData(u64),
    /// The payload of the parent locator in this entry.
    Locator(u8),
}

/// Where a mutated BAT entry points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BatTarget {
    /// 0xFFFFFFFF: the block becomes unallocated (the content model follows).
    Unallocated,
    /// This sector number.
    Sector(u32),
    /// Sector 0: the footer copy.
    FooterCopy,
    /// The dynamic disk header's first sector.
    Header,
    /// The BAT's first sector.
    Bat,
    /// The payload of the locator in this entry.
    Locator(u8),
    /// The same sector as this block's entry (two entries share a block).
    Block(u64),
    /// One sector after this block's entry (the spans partly overlap).
    OverlapBlock(u64),
    /// So that the block's last sector is the first sector of the trailing footer.
    IntoFooter,
    /// So that the block starts at the end of the file.
    PastEof,
}

/// What a mutation does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Op {
    /// Writes `hex` at `at + offset` (offset may be negative: `at: eof, offset: -512`).
    SetBytes {
        /// Reference position.
        #[serde(default)]
        at: Anchor,
        /// Bytes from `at`.
        #[serde(default)]
        offset: i64,
        /// The bytes.
        hex: HexBytes,
    },
    /// Writes `length` copies of `byte` at `at + offset`.
    FillBytes {
        /// Reference position.
        #[serde(default)]
        at: Anchor,
        /// Bytes from `at`.
        #[serde(default)]
        offset: i64,
        /// How many bytes.
        length: Size,
        /// The byte value.
        byte: u8,
    },
    /// Sets the file length (truncates or extends with zeros).
    SetFileLength {
        /// New length in bytes.
        length: Size,
    },
    /// Removes this many bytes from the end of the file.
    Truncate {
        /// Bytes removed.
        bytes: Size,
    },
    /// Removes this many bytes just before the trailing footer and moves the footer down (a
    /// file truncated inside its last block whose footer was rewritten).
    CutBeforeFooter {
        /// Bytes removed.
        bytes: Size,
    },
    /// Appends bytes after the trailing footer.
    Append {
        /// How many bytes.
        length: Size,
        /// Their value.
        #[serde(default)]
        byte: u8,
    },
    /// Sets a hard disk footer field and (by default) recomputes the checksum, so that the
    /// field's own rule fires, not FOOTER-CHECKSUM.
    SetFooterField {
        /// The field.
        field: FooterField,
        /// The value.
        value: FieldValue,
        /// Which copy.
        #[serde(default)]
        which: Which,
        /// Recompute the checksum afterwards.
        #[serde(default = "yes")]
        reseal: bool,
    },
    /// Breaks the footer checksum (stores the correct value plus one).
    BreakFooterChecksum {
        /// Which copy.
        #[serde(default)]
        which: Which,
    },
    /// Recomputes the footer checksum (after `set-bytes` in the footer).
    ResealFooter {
        /// Which copy.
        #[serde(default)]
        which: Which,
    },
    /// Sets a dynamic disk header field and (by default) recomputes the header checksum.
    SetHeaderField {
        /// The field.
        field: HeaderField,
        /// The value.
        value: FieldValue,
        /// Recompute the checksum afterwards.
        #[serde(default = "yes")]
        reseal: bool,
    },
    /// Breaks the header checksum (stores the correct value plus one).
    BreakHeaderChecksum {},
    /// Recomputes the header checksum (after `set-bytes` in the header).
    ResealHeader {},
    /// Sets one BAT entry.
    SetBatEntry {
        /// Entry index (block number).
        block: u64,
        /// Where it points.
        to: BatTarget,
    },
    /// Sets or clears sector bitmap bits of an allocated block (bit indexes past the block's
    /// sectors reach the bitmap's padding). The content model follows.
    SetBitmapBits {
        /// Block number.
        block: u64,
        /// First bit (sector within the block).
        start: u64,
        /// Number of bits.
        count: u64,
        /// Set (true) or clear (false).
        value: bool,
    },
    /// Sets a parent locator entry field and (by default) recomputes the header checksum.
    SetLocatorField {
        /// Entry index 0..8.
        slot: u8,
        /// The field.
        field: LocatorField,
        /// The value (`code` takes a platform code name or integer).
        value: FieldValue,
        /// Recompute the header checksum afterwards.
        #[serde(default = "yes")]
        reseal: bool,
    },
    /// Overwrites a locator's payload bytes (and by default records their length).
    SetLocatorPayload {
        /// Entry index 0..8.
        slot: u8,
        /// The new payload bytes (must fit the reserved space).
        hex: HexBytes,
        /// Also set the entry's data length to the new payload's length (reseals the header).
        #[serde(default = "yes")]
        set_length: bool,
    },
    /// Deletes the image's file (e.g. a parent: the chain's parent is missing).
    DeleteFile {},
    /// Renames the image's file (locators and parent name still give the old name).
    RenameFile {
        /// New file name in the case directory.
        to: String,
    },
    /// Turns this image (default: the root of the chain) into a differencing disk whose parent
    /// is chain level `to` (default 0, the main image): footer disk type 4, header parent
    /// fields of `to`, a `W2ru` locator appended before the trailing footer. `A -> B -> A`.
    MakeCycle {
        /// Chain level the image is made to point at.
        #[serde(default)]
        to: usize,
    },
}

fn yes() -> bool {
    true
}

/// A corruption: an operation on one image of the chain and the rule codes it must trigger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// The operation: a single-key map `{op-name: {params}}`.
    pub op: Op,
    /// Chain level of the image to mutate: 0 = the main image, 1 = its parent, ... Default 0
    /// (`make-cycle` defaults to the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<usize>,
    /// Rule codes the corrupted case must yield (at least one; a code not in the catalogue fails
    /// the parse).
    #[schemars(length(min = 1))]
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arbitrary_codes))]
    pub expect: Vec<Code>,
    /// Whether the virtual disk content changes in a way the content model does not follow.
    /// Default: false for field, checksum and bitmap-bit edits, true for raw byte and length
    /// edits and BAT re-pointing. When true the manifest carries no virtual disk digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alters_content: Option<bool>,
}

impl Op {
    /// The kebab-case op name (`set-footer-field`).
    pub fn name(&self) -> &'static str {
        match self {
            Op::SetBytes { .. } => "set-bytes",
            Op::FillBytes { .. } => "fill-bytes",
            Op::SetFileLength { .. } => "set-file-length",
            Op::Truncate { .. } => "truncate",
            Op::CutBeforeFooter { .. } => "cut-before-footer",
            Op::Append { .. } => "append",
            Op::SetFooterField { .. } => "set-footer-field",
            Op::BreakFooterChecksum { .. } => "break-footer-checksum",
            Op::ResealFooter { .. } => "reseal-footer",
            Op::SetHeaderField { .. } => "set-header-field",
            Op::BreakHeaderChecksum {} => "break-header-checksum",
            Op::ResealHeader {} => "reseal-header",
            Op::SetBatEntry { .. } => "set-bat-entry",
            Op::SetBitmapBits { .. } => "set-bitmap-bits",
            Op::SetLocatorField { .. } => "set-locator-field",
            Op::SetLocatorPayload { .. } => "set-locator-payload",
            Op::DeleteFile {} => "delete-file",
            Op::RenameFile { .. } => "rename-file",
            Op::MakeCycle { .. } => "make-cycle",
        }
    }

    /// Whether the op, by default, changes virtual disk content beyond what the model follows.
    pub fn alters_content_by_default(&self) -> bool {
        match self {
            Op::SetBytes { .. }
            | Op::FillBytes { .. }
            | Op::SetFileLength { .. }
            | Op::Truncate { .. }
            | Op::CutBeforeFooter { .. } => true,
            Op::SetBatEntry { to, .. } => *to != BatTarget::Unallocated,
            _ => false,
        }
    }
}

impl Mutation {
    /// Whether the content model no longer describes the virtual disk after this mutation.
    pub fn alters_content(&self) -> bool {
        self.alters_content.unwrap_or_else(|| self.op.alters_content_by_default())
    }
}
