//! The data behind `--map`: the virtual disk cut into equal cells, with the bytes each chain
//! level supplies in each cell and the bytes marked redundant or conflicting. Memory is the
//! cell count times the chain depth, whatever the disk size; the CLI draws it.

use crate::format::SECTOR_SIZE;

/// What a range of the virtual disk is, for [`Map::add`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mark {
    /// Supplied by chain level `n` (0 = the child).
    Level(usize),
    /// Supplied by no level (reads as zero).
    Zero,
    /// A redundant write of the child (same bytes as the chain below).
    Redundant,
    /// A template-update conflict.
    Conflict,
}

/// The virtual disk in cells of `cell_bytes` bytes (the last cell may be shorter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Map {
    /// Bytes per cell: a multiple of 512; 512 means the map is exact (one cell per sector).
    pub cell_bytes: u64,
    /// Virtual disk size in bytes.
    pub size: u64,
    /// Chain depth (levels 0..depth).
    pub depth: usize,
    /// Per cell, `depth + 1` counters: bytes supplied by level 0..depth, then by no level.
    pub supply: Vec<u64>,
    /// Per cell, redundant bytes.
    pub redundant: Vec<u64>,
    /// Per cell, conflicting bytes.
    pub conflict: Vec<u64>,
}

impl Map {
    /// A map of a disk of `size` bytes and `depth` levels in at most `cells` cells (at least 1).
    pub fn new(size: u64, depth: usize, cells: usize) -> Map {
        let cells = (cells.max(1)) as u64;
        let cell_bytes = size.div_ceil(cells).div_ceil(SECTOR_SIZE).max(1) * SECTOR_SIZE;
        let n = usize::try_from(size.div_ceil(cell_bytes)).unwrap_or(0);
        Map { cell_bytes, size, depth, supply: vec![0; n * (depth + 1)], redundant: vec![0; n], conflict: vec![0; n] }
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.redundant.len()
    }

    /// Counts `[offset, offset + len)` (bytes) as `mark`.
    pub fn add(&mut self, mark: Mark, offset: u64, len: u64) {
        let end = offset.saturating_add(len).min(self.size);
        let mut at = offset;
        while at < end {
            let cell = at / self.cell_bytes;
            let next = (cell + 1).saturating_mul(self.cell_bytes).min(end);
            let Ok(c) = usize::try_from(cell) else { return };
            let n = next - at;
            let slot = match mark {
                Mark::Level(l) => self.supply.get_mut(c * (self.depth + 1) + l.min(self.depth)),
                Mark::Zero => self.supply.get_mut(c * (self.depth + 1) + self.depth),
                Mark::Redundant => self.redundant.get_mut(c),
                Mark::Conflict => self.conflict.get_mut(c),
            };
            if let Some(s) = slot {
                *s += n;
            }
            at = next;
        }
    }

    /// The topmost level (lowest number, the child first) that supplies any byte of cell `c`,
    /// or `None` when no level does: on an aggregated map a cell with a little child data shows
    /// the child, so scattered writes on a 2 TiB disk stay visible.
    pub fn top_level(&self, c: usize) -> Option<usize> {
        let row = self.supply.get(c * (self.depth + 1)..(c + 1) * (self.depth + 1))?;
        row.iter().take(self.depth).position(|&v| v > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_split_ranges_and_show_the_topmost_level() {
        let mut m = Map::new(4096, 2, 8);
        assert_eq!((m.cell_bytes, m.cells()), (512, 8));
        m.add(Mark::Level(0), 0, 700);
        m.add(Mark::Level(1), 700, 2000);
        m.add(Mark::Zero, 2700, 1396);
        assert_eq!(m.top_level(0), Some(0));
        assert_eq!(m.top_level(1), Some(0));
        assert_eq!(m.top_level(2), Some(1));
        assert_eq!(m.top_level(7), None);
        let m = Map::new(2040 << 30, 3, 4096);
        assert!(m.cells() <= 4096 && m.cell_bytes.is_multiple_of(512));
    }
}
