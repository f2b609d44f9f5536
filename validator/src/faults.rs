//! Known faults of other VHD implementations: what each one misreads or accepts, and the corpus
//! case that exposes it.
//!
//! A corpus case lists the faults it exposes in the manifest's `exposes` field; the reader
//! conformance reports (`vhd-validate conform`) print, per fault, which implementations the
//! case catches (a failing outcome on it). docs/CONFORMANCE.md "Known faults" is that table,
//! and expect-file reasons of such failures start with the fault id. Ids are stable.

/// One known fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fault {
    /// Stable id (kebab-case), used in `exposes` and at the start of expect-file reasons.
    pub id: &'static str,
    /// The implementations the fault was found in (conformance names: `qemu-img`, `libvhdi`,
    /// `7zip`, or another project's name).
    pub found_in: &'static [&'static str],
    /// The corpus case that exposes it (its manifest lists the id in `exposes`).
    pub case: &'static str,
    /// What goes wrong, in one sentence.
    pub summary: &'static str,
}

/// Every known fault, by id.
pub const FAULTS: &[Fault] = &[
    Fault {
        id: "w2ku-locator-ignored",
        found_in: &["7zip", "libvhdi"],
        case: "differencing/locator/w2ku-only-resolves",
        summary: "the parent is found only through the W2ku (absolute Unicode path) locator, which the \
                  reader ignores: it refuses a chain that resolves",
    },
    Fault {
        id: "bitmap-mid-byte-stale",
        found_in: &["libvhdi"],
        case: "dynamic/bitmap/mid-byte-stale",
        summary: "a dynamic disk's clear sectors in the middle of a sector-bitmap byte hold stale data; \
                  the reader returns that data instead of zeros",
    },
    Fault {
        id: "odd-size-footer-after-data",
        found_in: &["xmount"],
        case: "fixed/file/odd-size-footer-after-data",
        summary: "a fixed disk whose current size is not a whole number of sectors, with the footer \
                  right after the data (xmount's shape): the file size is not a multiple of 512",
    },
    Fault {
        id: "qemu-creator-chs-size",
        found_in: &["qemu-img"],
        case: "dynamic/creator/qemu-chs-divergence",
        summary: "a `qemu` creator disk whose C x H x S product differs from its current size: QEMU \
                  10.0.2 sizes it from the geometry",
    },
    Fault {
        id: "footer-copy-size-read",
        found_in: &["qemu-img"],
        case: "dynamic/footer/copy-size-mismatch",
        summary: "the footer copy at offset 0 disagrees with the trailing footer on the current size; \
                  QEMU reads the copy",
    },
    Fault {
        id: "bitmap-ignored",
        found_in: &["qemu-img"],
        case: "dynamic/bitmap/zero-sector-nonzero",
        summary: "the reader ignores a dynamic disk's sector bitmaps and returns the stored bytes of \
                  sectors whose bit is clear",
    },
    Fault {
        id: "differencing-bitmap-partial-byte",
        found_in: &["libvhdi"],
        case: "differencing/bitmap/partial-bytes",
        summary: "a clear sector after set sectors in the same sector-bitmap byte of a differencing \
                  disk is read as zeros instead of from the parent",
    },
];

/// The fault with id `id`.
pub fn find(id: &str) -> Option<&'static Fault> {
    FAULTS.iter().find(|f| f.id == id)
}

/// Whether `id` is a known fault id.
pub fn is_known(id: &str) -> bool {
    find(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut ids: Vec<&str> = FAULTS.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FAULTS.len());
        for f in FAULTS {
            assert!(f.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{}", f.id);
            assert!(!f.found_in.is_empty() && !f.case.is_empty(), "{}", f.id);
        }
        assert!(is_known("bitmap-ignored") && !is_known("nope"));
    }
}
