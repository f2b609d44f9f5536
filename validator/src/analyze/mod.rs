//! Chain analysis of differencing disks: where the space goes and what a template update would
//! break (spec §Differencing Hard Disk Image, §Block Allocation Table and Data Blocks).
//!
//! [`analyze`] walks a chain through the [`ChainReader`]'s per-level API and reports:
//! - **ownership**: per level, allocated blocks and sectors, sectors owned (sector-bitmap bit set)
//!   versus only allocated, the bytes of the virtual disk each level supplies; per allocated block
//!   of the child, which level supplies each sector run;
//! - **waste**: per sparse level, owned sectors whose bytes equal what the levels below read
//!   there (redundant writes), owned all-zero sectors (over a zero or a non-zero parent),
//!   allocated blocks with no owned sector, and the bytes a compaction would free (blocks whose
//!   every owned sector is redundant, with their sector bitmaps);
//! - **alignment**: the partition table ([`partition`]), each partition's cluster size, and how
//!   many owned runs start or end inside a cluster or inside a sector-bitmap byte, with the most
//!   split clusters; outside partitions (or without a table) a grid of the default cluster size
//!   from sector 0;
//! - **template update** (with a new parent): the sectors where the old and the new parent read
//!   differently, split into not owned by the child (safe: the update shows through), owned with
//!   the new parent's bytes (safe, redundant after the update) and owned with other bytes
//!   (conflicts), with byte ranges and the conflicting clusters per partition.
//!
//! # Cost
//! Time is linear in the BAT entries and in the allocated data of the sparse levels (each owned
//! sector is read once, with the bytes below it) plus, for an update, the data the two parents
//! hold; nothing is read for unallocated space. Memory: the reader's BATs, 64 KiB buffers, the
//! lists capped by [`AnalyzeOptions::max_listed`], the map's cells, and for an update the two
//! parents' extent lists.

pub mod map;
pub mod partition;

use crate::chain::{ChainReader, Extent, Piece, ReadError};
use crate::format::{SectorBitmap, SECTOR_SIZE};
use map::{Map, Mark};
use partition::{Partition, Scheme, DEFAULT_CLUSTER};
use serde::Serialize;

/// Options of [`analyze`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AnalyzeOptions {
    /// Cluster size in bytes for every partition (a multiple of 512); `None`: the boot sector's,
    /// else 4096.
    pub cluster_size: Option<u64>,
    /// Most entries kept in each list (blocks, ranges, examples, clusters). At least 1.
    pub max_listed: usize,
    /// Cells of the map (0: no map).
    pub map_cells: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions { cluster_size: None, max_listed: 10, map_cells: 0 }
    }
}

/// Why an analysis could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    /// Reading an image failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The new parent does not fit the chain.
    #[error("{0}")]
    Mismatch(String),
}

/// Waste of one sparse level (sectors of 512 bytes unless named bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Waste {
    /// Owned sectors whose bytes equal what the levels below read there.
    pub redundant_sectors: u64,
    /// Owned sectors that are all zero.
    pub zero_sectors: u64,
    /// Of those, sectors where the levels below also read zero.
    pub zero_over_zero_sectors: u64,
    /// Of those, sectors where the levels below read non-zero bytes.
    pub zero_over_data_sectors: u64,
    /// Allocated blocks with no owned sector.
    pub empty_blocks: u64,
    /// Allocated blocks whose owned sectors (if any) are all redundant: a compaction drops them.
    pub freeable_blocks: u64,
    /// Bytes a compaction frees: freeable blocks times (block size + sector bitmap bytes).
    pub compaction_bytes: u64,
}

impl Waste {
    fn add(&mut self, o: &Waste) {
        self.redundant_sectors += o.redundant_sectors;
        self.zero_sectors += o.zero_sectors;
        self.zero_over_zero_sectors += o.zero_over_zero_sectors;
        self.zero_over_data_sectors += o.zero_over_data_sectors;
        self.empty_blocks += o.empty_blocks;
        self.freeable_blocks += o.freeable_blocks;
        self.compaction_bytes += o.compaction_bytes;
    }
}

/// Ownership and waste of one chain level.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LevelReport {
    /// Chain level (0 = the child).
    pub level: usize,
    /// "fixed", "dynamic" or "differencing".
    pub kind: &'static str,
    /// Current size in bytes.
    pub current_size: u64,
    /// Block size in bytes (sparse disks).
    pub block_size: Option<u64>,
    /// Allocated blocks that start inside the current size (fixed disks: 0).
    pub allocated_blocks: u64,
    /// Sectors of those blocks inside the current size (fixed disks: the data sectors).
    pub allocated_sectors: u64,
    /// Sectors whose bitmap bit is set (fixed disks: the data sectors).
    pub owned_sectors: u64,
    /// Allocated sectors whose bit is clear.
    pub unowned_allocated_sectors: u64,
    /// Bytes of the virtual disk this level supplies (what a read returns from its file).
    pub supplied_bytes: u64,
    /// `supplied_bytes` over the virtual disk size.
    pub supplied_share: f64,
    /// Waste (sparse levels only).
    pub waste: Option<Waste>,
}

/// A run of sectors of one block and the level supplying it (`None`: no level, reads zero).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceRun {
    /// First sector (LBA).
    pub first_sector: u64,
    /// Sectors.
    pub sectors: u64,
    /// Supplying level.
    pub level: Option<usize>,
}

/// Which level supplies each sector run of one allocated block of the child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockRuns {
    /// Block number.
    pub block: u64,
    /// Runs in order, adjacent runs of one source merged.
    pub runs: Vec<SourceRun>,
}

/// A cluster split between owners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SplitCluster {
    /// First sector of the cluster.
    pub first_sector: u64,
    /// Sectors per cluster.
    pub sectors: u64,
    /// Partition number, `None` outside partitions.
    pub partition: Option<u32>,
    /// Owned-run boundaries inside the cluster.
    pub boundaries: u64,
}

/// Alignment of one sparse level's owned runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LevelAlignment {
    /// Chain level.
    pub level: usize,
    /// Runs of set bits (merged across block boundaries).
    pub owned_runs: u64,
    /// Runs whose first sector is not the first of its cluster.
    pub start_inside_cluster: u64,
    /// Runs whose end is not a cluster boundary.
    pub end_inside_cluster: u64,
    /// Runs that start inside a sector-bitmap byte (bit not at a multiple of 8 in its block).
    pub start_inside_bitmap_byte: u64,
    /// Runs that end inside a sector-bitmap byte.
    pub end_inside_bitmap_byte: u64,
    /// Clusters holding at least one such boundary (partially owned).
    pub split_clusters: u64,
    /// The clusters with the most boundaries (ties: lowest sector first).
    pub worst: Vec<SplitCluster>,
}

/// Alignment report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Alignment {
    /// Partitioning scheme, `None` when no table was found (then only the grid applies).
    pub scheme: Option<Scheme>,
    /// Partitions in order of first sector.
    pub partitions: Vec<Partition>,
    /// Cluster size (bytes) of the grid from sector 0 used outside partitions.
    pub grid_cluster_size: u64,
    /// Per sparse level.
    pub levels: Vec<LevelAlignment>,
}

/// Byte ranges of one kind, the first few listed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ranges {
    /// Sectors in all ranges.
    pub sectors: u64,
    /// Number of maximal ranges.
    pub count: u64,
    /// The first ranges (virtual byte offset and length).
    pub listed: Vec<Extent>,
    #[serde(skip)]
    last_end: u64,
    #[serde(skip)]
    limit: usize,
}

impl Ranges {
    fn with_limit(limit: usize) -> Ranges {
        Ranges { limit, ..Ranges::default() }
    }

    fn push(&mut self, offset: u64, length: u64) {
        self.sectors += length.div_ceil(SECTOR_SIZE);
        if self.count > 0 && offset == self.last_end {
            if let Some(l) = self.listed.last_mut().filter(|l| l.end() == offset) {
                l.length += length;
            }
        } else {
            self.count += 1;
            if self.listed.len() < self.limit {
                self.listed.push(Extent { offset, length });
            }
        }
        self.last_end = offset + length;
    }
}

/// Conflicting clusters of one partition (or of the grid outside partitions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionConflicts {
    /// Partition number, `None` outside partitions.
    pub partition: Option<u32>,
    /// Cluster size in bytes.
    pub cluster_size: u64,
    /// Distinct clusters holding a conflicting sector.
    pub clusters: u64,
    /// The first cluster numbers (from the partition's first sector).
    pub listed: Vec<u64>,
}

/// What re-pointing the child onto a new parent would do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Update {
    /// Sectors where the old and new parent read differently.
    pub changed_sectors: u64,
    /// Changed sectors the child does not own: the update reaches the child's view (safe).
    pub safe: Ranges,
    /// Changed sectors the child owns with the new parent's bytes (safe; redundant after).
    pub redundant: Ranges,
    /// Changed sectors the child owns with other bytes (conflicts).
    pub conflicts: Ranges,
    /// Conflicting clusters per partition (and outside partitions).
    pub conflict_clusters: Vec<PartitionConflicts>,
}

impl Update {
    /// Whether the child can be re-pointed without losing a write (no conflict).
    pub fn is_safe(&self) -> bool {
        self.conflicts.sectors == 0
    }
}

/// The analysis of one chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Analysis {
    /// Virtual disk size in bytes.
    pub virtual_size: u64,
    /// Per level, child first.
    pub levels: Vec<LevelReport>,
    /// Bytes of the virtual disk no level supplies (read as zero).
    pub unsupplied_bytes: u64,
    /// Waste summed over the sparse levels.
    pub waste_total: Waste,
    /// Allocated blocks of the child with their source runs (the first `max_listed`).
    pub blocks: Vec<BlockRuns>,
    /// Allocated blocks of the child not listed.
    pub blocks_not_listed: u64,
    /// Alignment of owned runs.
    pub alignment: Alignment,
    /// Template update, when a new parent was given.
    pub update: Option<Update>,
    /// The map, when cells were asked for.
    #[serde(skip)]
    pub map: Option<Map>,
}

/// Copy buffer: 128 sectors (64 KiB).
const CHUNK: u64 = 64 << 10;

fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// Cluster lookup: partitions sorted by first sector, and the grid outside them.
struct Clusters<'a> {
    parts: &'a [Partition],
    grid: u64,
}

impl Clusters<'_> {
    /// The cluster holding sector `s`: (partition number, first sector of the partition or 0,
    /// sectors per cluster, cluster index).
    fn of(&self, s: u64) -> (Option<u32>, u64, u64, u64) {
        let i = self.parts.partition_point(|p| p.first_sector <= s);
        if let Some(p) = i.checked_sub(1).and_then(|i| self.parts.get(i)).filter(|p| s < p.end_sector()) {
            let k = (p.cluster_size / SECTOR_SIZE).max(1);
            return (Some(p.number), p.first_sector, k, (s - p.first_sector) / k);
        }
        let k = (self.grid / SECTOR_SIZE).max(1);
        (None, 0, k, s / k)
    }

    /// Whether `s` is the first sector of a cluster (or the end of a partition).
    fn at_boundary(&self, s: u64) -> bool {
        let (_, base, k, _) = self.of(s);
        (s - base).is_multiple_of(k) || self.parts.iter().any(|p| p.end_sector() == s)
    }
}

/// Streaming alignment statistics of one level.
struct AlignAcc {
    out: LevelAlignment,
    spb: u64,
    run: Option<(u64, u64)>,
    cur: Option<(Option<u32>, u64, u64, u64)>,
    /// Boundaries counted in `cur` so far.
    pending: u64,
    limit: usize,
}

impl AlignAcc {
    fn new(level: usize, spb: u64, limit: usize) -> AlignAcc {
        AlignAcc {
            out: LevelAlignment { level, ..LevelAlignment::default() },
            spb: spb.max(1),
            run: None,
            cur: None,
            pending: 0,
            limit,
        }
    }

    /// An owned run `[a, b)` (sectors), in increasing order.
    fn run(&mut self, c: &Clusters<'_>, a: u64, b: u64) {
        match self.run {
            Some((s, e)) if e == a => self.run = Some((s, b)),
            Some((s, e)) => {
                self.finish_run(c, s, e);
                self.run = Some((a, b));
            }
            None => self.run = Some((a, b)),
        }
    }

    fn finish_run(&mut self, c: &Clusters<'_>, a: u64, b: u64) {
        self.out.owned_runs += 1;
        if !(a % self.spb).is_multiple_of(8) {
            self.out.start_inside_bitmap_byte += 1;
        }
        if !(b % self.spb).is_multiple_of(8) {
            self.out.end_inside_bitmap_byte += 1;
        }
        for (x, counter) in [(a, 0), (b, 1)] {
            if c.at_boundary(x) {
                continue;
            }
            if counter == 0 {
                self.out.start_inside_cluster += 1;
            } else {
                self.out.end_inside_cluster += 1;
            }
            let (part, base, k, idx) = c.of(x);
            let key = (part, base, k, idx);
            match &mut self.cur {
                Some((p, bs, kk, i)) if (*p, *bs, *kk, *i) == (part, base, k, idx) => {
                    self.pending += 1;
                }
                _ => {
                    self.flush_cluster();
                    self.cur = Some(key);
                    self.pending = 1;
                }
            }
        }
    }

    fn flush_cluster(&mut self) {
        let Some((part, base, k, idx)) = self.cur.take() else { return };
        let n = std::mem::take(&mut self.pending);
        self.out.split_clusters += 1;
        let sc = SplitCluster { first_sector: base + idx * k, sectors: k, partition: part, boundaries: n };
        let pos = self.out.worst.partition_point(|w| w.boundaries >= n);
        if pos < self.limit {
            self.out.worst.insert(pos, sc);
            self.out.worst.truncate(self.limit);
        }
    }

    fn finish(mut self, c: &Clusters<'_>) -> LevelAlignment {
        if let Some((a, b)) = self.run.take() {
            self.finish_run(c, a, b);
        }
        self.flush_cluster();
        self.out
    }
}

/// Analyses `chain` (child first); with `new_parent`, also the update of the child's parent
/// (level 1) to `new_parent`.
///
/// # Errors
/// [`AnalyzeError::Read`] on I/O failure; [`AnalyzeError::Mismatch`] when a new parent is given
/// but the child is not a differencing disk or the sizes differ.
pub fn analyze(
    chain: &ChainReader,
    new_parent: Option<&ChainReader>,
    opts: &AnalyzeOptions,
) -> Result<Analysis, AnalyzeError> {
    let limit = opts.max_listed.max(1);
    let size = chain.size();
    let mut map = (opts.map_cells > 0).then(|| Map::new(size, chain.depth(), opts.map_cells));

    // Partition table and clusters.
    let table = partition::read_table(chain, opts.cluster_size)?;
    let (scheme, parts) = match table {
        Some((s, p)) => (Some(s), p),
        None => (None, Vec::new()),
    };
    let grid = opts.cluster_size.unwrap_or(DEFAULT_CLUSTER);
    let clusters = Clusters { parts: &parts, grid };

    // Supply: which level each byte of the virtual disk comes from.
    let mut supplied = vec![0u64; chain.depth()];
    let mut unsupplied = 0u64;
    chain.pieces(0, 0, size, &mut |len, piece| {
        match piece {
            Piece::File { level, .. } => {
                if let Some(s) = supplied.get_mut(level) {
                    *s += len;
                }
            }
            _ => unsupplied += len,
        }
        Ok(())
    })?;

    // Per level: allocation, ownership, waste, alignment; the child's block runs.
    let mut levels = Vec::new();
    let mut aligns = Vec::new();
    let mut blocks = Vec::new();
    let mut blocks_not_listed = 0u64;
    let mut total = Waste::default();
    let mut mine = vec![0u8; CHUNK as usize];
    let mut below = vec![0u8; CHUNK as usize];
    for i in 0..chain.depth() {
        let Some(info) = chain.level(i) else { break };
        let sectors = info.size.div_ceil(SECTOR_SIZE);
        let mut rep = LevelReport {
            level: i,
            kind: if info.differencing {
                "differencing"
            } else if info.block.is_some() {
                "dynamic"
            } else {
                "fixed"
            },
            current_size: info.size,
            block_size: info.block.map(|g| g.block_size),
            allocated_blocks: 0,
            allocated_sectors: 0,
            owned_sectors: 0,
            unowned_allocated_sectors: 0,
            supplied_bytes: supplied.get(i).copied().unwrap_or(0),
            supplied_share: if size == 0 { 0.0 } else { supplied.get(i).copied().unwrap_or(0) as f64 / size as f64 },
            waste: None,
        };
        let Some(geom) = info.block else {
            rep.allocated_sectors = sectors;
            rep.owned_sectors = sectors;
            levels.push(rep);
            continue;
        };
        let spb = geom.sectors_per_block;
        let mut waste = Waste::default();
        let mut align = AlignAcc::new(i, spb, limit);
        let mut redundant_map: Vec<(u64, u64)> = Vec::new();
        chain.allocated_blocks(i, &mut |ab| {
            let (block, bitmap_at, bits) = (ab.block, ab.bitmap_offset, ab.bitmap);
            let first = block * spb;
            let n = spb.min(sectors.saturating_sub(first));
            rep.allocated_blocks += 1;
            rep.allocated_sectors += n;
            let data_at = bitmap_at.saturating_add(geom.bitmap_bytes());
            let bm = SectorBitmap(bits);
            let mut owned = 0u64;
            let mut redundant = 0u64;
            let mut s = 0u64;
            while s < n {
                let run = bm.run_len(s, n - s).max(1);
                if bm.is_set(s) {
                    owned += run;
                    align.run(&clusters, first + s, first + s + run);
                    // Compare the owned run with what the levels below read, a chunk at a time.
                    let mut done = 0u64;
                    while done < run {
                        let k = (run - done).min(CHUNK / SECTOR_SIZE);
                        let bytes = (k * SECTOR_SIZE) as usize;
                        let in_block = (s + done) * SECTOR_SIZE;
                        let virt = (first + s + done) * SECTOR_SIZE;
                        chain.read_file(i, data_at.saturating_add(in_block), &mut mine[..bytes])?;
                        chain.read_level_at(i + 1, virt, &mut below[..bytes])?;
                        for (j, (m, b)) in mine[..bytes].chunks(512).zip(below[..bytes].chunks(512)).enumerate() {
                            let zero = is_zero(m);
                            if m == b {
                                redundant += 1;
                                if i == 0 {
                                    let at = virt + j as u64 * SECTOR_SIZE;
                                    match redundant_map.last_mut() {
                                        Some((o, l)) if *o + *l == at => *l += SECTOR_SIZE,
                                        _ => redundant_map.push((at, SECTOR_SIZE)),
                                    }
                                }
                            }
                            if zero {
                                waste.zero_sectors += 1;
                                if is_zero(b) {
                                    waste.zero_over_zero_sectors += 1;
                                } else {
                                    waste.zero_over_data_sectors += 1;
                                }
                            }
                        }
                        if let Some(m) = map.as_mut() {
                            for (o, l) in redundant_map.drain(..) {
                                m.add(Mark::Redundant, o, l);
                            }
                        } else {
                            redundant_map.clear();
                        }
                        done += k;
                    }
                }
                s += run;
            }
            rep.owned_sectors += owned;
            waste.redundant_sectors += redundant;
            if owned == 0 {
                waste.empty_blocks += 1;
            }
            if redundant == owned {
                waste.freeable_blocks += 1;
                waste.compaction_bytes += geom.block_size + geom.bitmap_bytes();
            }
            if i == 0 {
                if blocks.len() < limit {
                    let mut runs: Vec<SourceRun> = Vec::new();
                    let mut at = first;
                    chain.pieces(0, first * SECTOR_SIZE, n * SECTOR_SIZE, &mut |len, piece| {
                        let level = match piece {
                            Piece::File { level, .. } => Some(level),
                            _ => None,
                        };
                        let k = len.div_ceil(SECTOR_SIZE);
                        match runs.last_mut() {
                            Some(r) if r.level == level => r.sectors += k,
                            _ => runs.push(SourceRun { first_sector: at, sectors: k, level }),
                        }
                        at += k;
                        Ok(())
                    })?;
                    blocks.push(BlockRuns { block, runs });
                } else {
                    blocks_not_listed += 1;
                }
            }
            Ok(())
        })?;
        rep.unowned_allocated_sectors = rep.allocated_sectors - rep.owned_sectors;
        total.add(&waste);
        rep.waste = Some(waste);
        levels.push(rep);
        aligns.push(align.finish(&clusters));
    }

    let update = match new_parent {
        Some(np) => Some(update(chain, np, &clusters, limit, map.as_mut())?),
        None => None,
    };
    if let Some(m) = map.as_mut() {
        let mut at = 0u64;
        chain.pieces(0, 0, size, &mut |len, piece| {
            // The pieces tile the disk in order.
            match piece {
                Piece::File { level, .. } => m.add(Mark::Level(level), at, len),
                _ => m.add(Mark::Zero, at, len),
            }
            at += len;
            Ok(())
        })?;
    }
    Ok(Analysis {
        virtual_size: size,
        levels,
        unsupplied_bytes: unsupplied,
        waste_total: total,
        blocks,
        blocks_not_listed,
        alignment: Alignment { scheme, partitions: parts.clone(), grid_cluster_size: grid, levels: aligns },
        update,
        map,
    })
}

/// Sorted, merged union of two extent lists.
fn union(mut a: Vec<Extent>, b: Vec<Extent>) -> Vec<Extent> {
    a.extend(b);
    a.sort_by_key(|e| e.offset);
    let mut out: Vec<Extent> = Vec::with_capacity(a.len());
    for e in a {
        match out.last_mut() {
            Some(m) if e.offset <= m.end() => m.length = m.end().max(e.end()) - m.offset,
            _ => out.push(e),
        }
    }
    out
}

fn update(
    chain: &ChainReader,
    np: &ChainReader,
    clusters: &Clusters<'_>,
    limit: usize,
    mut map: Option<&mut Map>,
) -> Result<Update, AnalyzeError> {
    let size = chain.size();
    if !chain.level(0).is_some_and(|l| l.differencing) {
        return Err(AnalyzeError::Mismatch("a template update needs a differencing child".into()));
    }
    let old_size = chain.level(1).map_or(0, |l| l.size);
    if np.size() != old_size {
        return Err(AnalyzeError::Mismatch(format!(
            "the new parent's virtual size ({} bytes) differs from the old parent's ({old_size} bytes)",
            np.size()
        )));
    }
    let mut out = Update {
        changed_sectors: 0,
        safe: Ranges::with_limit(limit),
        redundant: Ranges::with_limit(limit),
        conflicts: Ranges::with_limit(limit),
        conflict_clusters: Vec::new(),
    };
    let mut old = vec![0u8; CHUNK as usize];
    let mut new = vec![0u8; CHUNK as usize];
    let mut child = vec![0u8; CHUNK as usize];
    let mut owned = vec![false; (CHUNK / SECTOR_SIZE) as usize];
    let mut last_cluster: Option<(Option<u32>, u64)> = None;
    for e in union(chain.extents_from(1, size), np.extents_before(size)) {
        let start = e.offset / SECTOR_SIZE * SECTOR_SIZE;
        let end = e.end().min(size).div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
        let mut pos = start;
        while pos < end {
            let len = (end - pos).min(CHUNK);
            let bytes = len as usize;
            chain.read_level_at(1, pos, &mut old[..bytes])?;
            np.read_at(pos, &mut new[..bytes])?;
            if old[..bytes] == new[..bytes] {
                pos += len;
                continue;
            }
            chain.read_at(pos, &mut child[..bytes])?;
            owned.fill(false);
            let mut at = 0u64;
            chain.pieces(0, pos, len, &mut |l, piece| {
                if let Piece::File { level: 0, .. } = piece {
                    for s in (at / SECTOR_SIZE)..(at + l).div_ceil(SECTOR_SIZE) {
                        if let Some(o) = owned.get_mut(s as usize) {
                            *o = true;
                        }
                    }
                }
                at += l;
                Ok(())
            })?;
            for (j, ((o, n), c)) in
                old[..bytes].chunks(512).zip(new[..bytes].chunks(512)).zip(child[..bytes].chunks(512)).enumerate()
            {
                if o == n {
                    continue;
                }
                out.changed_sectors += 1;
                let at = pos + j as u64 * SECTOR_SIZE;
                let n_len = SECTOR_SIZE.min(size - at);
                if !owned.get(j).copied().unwrap_or(false) {
                    out.safe.push(at, n_len);
                } else if c == n {
                    out.redundant.push(at, n_len);
                } else {
                    out.conflicts.push(at, n_len);
                    if let Some(m) = map.as_deref_mut() {
                        m.add(Mark::Conflict, at, n_len);
                    }
                    let (part, _, k, idx) = clusters.of(at / SECTOR_SIZE);
                    if last_cluster == Some((part, idx)) {
                        continue;
                    }
                    last_cluster = Some((part, idx));
                    let pos_pc = match out.conflict_clusters.iter().position(|p| p.partition == part) {
                        Some(p) => p,
                        None => {
                            out.conflict_clusters.push(PartitionConflicts {
                                partition: part,
                                cluster_size: k * SECTOR_SIZE,
                                clusters: 0,
                                listed: Vec::new(),
                            });
                            out.conflict_clusters.len() - 1
                        }
                    };
                    if let Some(pc) = out.conflict_clusters.get_mut(pos_pc) {
                        pc.clusters += 1;
                        if pc.listed.len() < limit {
                            pc.listed.push(idx);
                        }
                    }
                }
            }
            pos += len;
        }
    }
    Ok(out)
}
