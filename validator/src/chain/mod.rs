//! The reference chain reader: what an image (or differencing chain) means, byte for byte.
//!
//! The reader depends on [`crate::format`] only (never on the checks); [`ResolveOptions`] says
//! where parents may be looked for and how deep a chain is followed.
//!
//! - [`resolve`]: finding a differencing disk's parent (locators, parent unicode name,
//!   search directories), with UUID matching, cycle detection and a depth limit.
//! - [`reader`]: [`ChainReader`] with `read_at`, allocated extents, a streaming SHA-256 digest
//!   and sparse raw export.

pub mod reader;
pub mod resolve;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub use reader::{AllocatedBlock, ChainReader, Extent, ImageProblem, LevelInfo, Piece, ReadError};
pub use resolve::{ParentSearch, ResolveOptions, DEFAULT_MAX_DEPTH, MAX_CHAIN_DEPTH};
