//! The structure-aware reducer: makes a scenario smaller while a caller's predicate still holds.
//!
//! [`candidates`] lists one-step reductions of a decoded [`Scenario`], largest first: a mutation
//! alone, no writes at all, a chain level spliced out (or the child dropped), a level's writes
//! dropped, one write dropped, the virtual size halved (every level together, writes clipped),
//! the block size halved (down to 4 KiB), one parent locator fewer, a write's sector count
//! halved, a write's pattern turned into a plain fill, and a level's layout, footer and header
//! options back to their defaults. Every candidate is strictly smaller by [`weight`], so
//! [`shrink`] (greedy: take the first candidate the predicate accepts, start again) ends. A
//! candidate the generator cannot lay out is simply one the predicate refuses.
//!
//! Used by differential exploration (`explore`) and for crashes of the `scenario_roundtrip` fuzz
//! target (`fuzz/fuzz.sh shrink`): it edits the decoded scenario, never its serialized bytes.

use crate::plan;
use crate::scenario::{FooterSpec, HeaderSpec, Image, Kind, LayoutSpec, LocatorCode, LocatorSpec, Pattern, Scenario};
use crate::values::Size;

/// Smallest block size the reducer goes down to (bytes).
pub const MIN_BLOCK_SIZE: u64 = 4096;

/// The image at chain `level` of `s` (0: the main image).
fn level_mut(s: &mut Scenario, level: usize) -> Option<&mut Image> {
    let mut cur = &mut s.image;
    for _ in 0..level {
        cur = cur.parent.as_deref_mut()?;
    }
    Some(cur)
}

fn depth(s: &Scenario) -> usize {
    plan::chain_of(s).len()
}

/// A size measure: every reduction of [`candidates`] lowers it.
pub fn weight(s: &Scenario) -> u64 {
    let mut w = 0u64;
    for img in plan::chain_of(s) {
        w = w.saturating_add(1 << 40);
        w = w.saturating_add((img.writes.len() as u64) << 32);
        w = w.saturating_add((img.locators.as_ref().map_or(2, Vec::len) as u64) << 28);
        w = w.saturating_add(img.size.0 >> 9);
        w = w.saturating_add(img.block_size.map_or(0, |b| b.0 >> 12));
        for wr in &img.writes {
            w = w.saturating_add(wr.count.unwrap_or(1));
            w = w.saturating_add(wr.sector.unwrap_or(0) >> 3);
            w = w.saturating_add(u64::from(!matches!(wr.pattern, Pattern::Fill(_))));
        }
        w = w.saturating_add(u64::from(img.layout != LayoutSpec::default()) << 20);
        w = w.saturating_add(u64::from(img.footer != FooterSpec::default()) << 20);
        w = w.saturating_add(u64::from(img.header != HeaderSpec::default()) << 20);
    }
    w.saturating_add((s.mutations.len() as u64) << 36)
}

/// Removes chain level `level` (>= 1) from `s`: its child takes its parent. Mutations aimed at
/// it make the candidate impossible (`None`); those aimed deeper move up one level.
fn splice(s: &Scenario, level: usize) -> Option<Scenario> {
    let mut c = s.clone();
    if c.mutations.iter().any(|m| m.image == Some(level)) {
        return None;
    }
    for m in &mut c.mutations {
        if let Some(i) = m.image.filter(|&i| i > level) {
            m.image = Some(i - 1);
        }
    }
    let child = level_mut(&mut c, level - 1)?;
    let removed = child.parent.take()?;
    child.parent = removed.parent;
    child.parent.as_ref()?;
    Some(c)
}

/// [`splice`], the removed level's writes moved onto its parent (after the parent's own, so
/// they still win where they overlap): the virtual disk keeps its content, one level fewer.
fn splice_keeping_writes(s: &Scenario, level: usize) -> Option<Scenario> {
    let writes = level_mut(&mut s.clone(), level).map(|i| i.writes.clone()).unwrap_or_default();
    if writes.is_empty() {
        return None;
    }
    let mut c = splice(s, level)?;
    let parent = level_mut(&mut c, level)?;
    parent.writes.extend(writes.into_iter().map(|mut w| {
        w.bitmap = crate::scenario::BitmapMode::Written;
        w
    }));
    Some(c)
}

/// Drops the main image: its parent becomes the main image.
fn drop_child(s: &Scenario) -> Option<Scenario> {
    let mut c = s.clone();
    if c.mutations.iter().any(|m| m.image.unwrap_or(0) == 0) {
        return None;
    }
    for m in &mut c.mutations {
        m.image = m.image.map(|i| i - 1);
    }
    let parent = c.image.parent.take()?;
    c.image = *parent;
    c.image.file = None;
    Some(c)
}

/// Sets every level's size to `size`, clipping or dropping writes past the end.
fn resize(s: &Scenario, size: u64) -> Scenario {
    let mut c = s.clone();
    let sectors = size / 512;
    let mut img = Some(&mut c.image);
    while let Some(i) = img {
        i.size = Size(size);
        i.footer.original_size = None;
        i.footer.geometry = None;
        i.writes.retain(|w| w.sector.is_none_or(|s| s < sectors));
        for w in &mut i.writes {
            if let (Some(s), Some(n)) = (w.sector, w.count) {
                w.count = Some(n.min(sectors - s));
            }
        }
        i.allocate.clear();
        img = i.parent.as_deref_mut();
    }
    c
}

/// One-step reductions of `s`, largest first, each named.
pub fn candidates(s: &Scenario) -> Vec<(&'static str, Scenario)> {
    let mut out: Vec<(&'static str, Scenario)> = Vec::new();
    let chain = plan::chain_of(s);
    // The mutation alone.
    if s.mutations.len() > 1 {
        for i in 0..s.mutations.len() {
            let mut c = s.clone();
            c.mutations = s.mutations.get(i).cloned().into_iter().collect();
            out.push(("keep one mutation", c));
        }
    }
    if !s.mutations.is_empty() {
        let mut c = s.clone();
        c.mutations.clear();
        out.push(("drop the mutations", c));
    }
    if chain.iter().any(|i| !i.writes.is_empty()) && !s.mutations.is_empty() {
        let mut c = s.clone();
        let mut lvl = 0;
        while let Some(img) = level_mut(&mut c, lvl) {
            img.writes.clear();
            lvl += 1;
        }
        out.push(("drop every write", c));
    }
    // A shorter chain.
    if s.image.kind == Kind::Differencing {
        out.extend(drop_child(s).map(|c| ("drop the child", c)));
    }
    for level in 1..depth(s) {
        if chain.get(level).is_some_and(|i| i.kind == Kind::Differencing) {
            out.extend(splice(s, level).map(|c| ("splice out a chain level", c)));
            out.extend(
                splice_keeping_writes(s, level).map(|c| ("splice out a chain level, its writes to its parent", c)),
            );
        }
    }
    for (level, img) in chain.iter().enumerate() {
        if !img.writes.is_empty() {
            let mut c = s.clone();
            if let Some(i) = level_mut(&mut c, level) {
                i.writes.clear();
            }
            out.push(("drop a level's writes", c));
        }
        if img.writes.len() > 1 {
            for j in 0..img.writes.len() {
                let mut c = s.clone();
                if let Some(i) = level_mut(&mut c, level) {
                    i.writes.remove(j);
                }
                out.push(("drop a write", c));
            }
        }
    }
    // A smaller disk.
    let size = s.image.size.0;
    if size > 512 && chain.iter().all(|i| i.size.0 == size) {
        let half = (size / 2) / 512 * 512;
        if half >= 512 {
            out.push(("halve the disk size", resize(s, half)));
        }
        let mib = size / (1 << 20) * (1 << 20);
        if mib > 0 && mib < size {
            out.push(("round the disk size down to whole MiB", resize(s, mib)));
        }
    }
    // Every write of every level moved down together (by whole blocks of the largest block
    // size, or by whole sector-bitmap bytes), so that the disk can then shrink.
    let min_sector = chain.iter().flat_map(|i| i.writes.iter()).filter_map(|w| w.sector).min();
    if let Some(lo) = min_sector.filter(|&x| x >= 8) {
        let spb = chain
            .iter()
            .filter(|i| i.kind.is_sparse())
            .map(|i| i.block_size.map_or(plan::DEFAULT_BLOCK_SIZE, |b| b.0) / 512)
            .max()
            .unwrap_or(8)
            .max(8);
        for delta in [lo / spb * spb, lo / 8 * 8] {
            if delta == 0 {
                continue;
            }
            let mut c = s.clone();
            let mut lvl = 0;
            while let Some(img) = level_mut(&mut c, lvl) {
                for w in &mut img.writes {
                    w.sector = w.sector.map(|x| x - delta);
                }
                lvl += 1;
            }
            out.push(("move every write down together", c));
        }
    }
    // A smaller block size.
    let sparse_bs: Vec<u64> = chain
        .iter()
        .filter(|i| i.kind.is_sparse())
        .map(|i| i.block_size.map_or(plan::DEFAULT_BLOCK_SIZE, |b| b.0))
        .collect();
    if sparse_bs.iter().any(|&b| b > MIN_BLOCK_SIZE) {
        let mut c = s.clone();
        let mut lvl = 0;
        while let Some(img) = level_mut(&mut c, lvl) {
            if img.kind.is_sparse() {
                let b = img.block_size.map_or(plan::DEFAULT_BLOCK_SIZE, |b| b.0);
                img.block_size = Some(Size((b / 2).max(MIN_BLOCK_SIZE)));
                img.header.max_table_entries = None;
                img.layout.block_offsets.clear();
                img.allocate.clear();
            }
            lvl += 1;
        }
        out.push(("halve the block size", c));
    }
    // Fewer locators.
    for (level, img) in chain.iter().enumerate() {
        if img.kind != Kind::Differencing {
            continue;
        }
        let list: Vec<LocatorSpec> = match &img.locators {
            Some(l) => l.clone(),
            None => [LocatorCode::W2ku, LocatorCode::W2ru].into_iter().map(plain_locator).collect(),
        };
        if list.len() > 1 {
            for j in 0..list.len() {
                let mut c = s.clone();
                let mut l = list.clone();
                l.remove(j);
                if let Some(i) = level_mut(&mut c, level) {
                    i.locators = Some(l);
                }
                out.push(("drop a parent locator", c));
            }
        }
    }
    // Smaller, plainer writes.
    for (level, img) in chain.iter().enumerate() {
        for (j, w) in img.writes.iter().enumerate() {
            if let Some(n) = w.count.filter(|&n| n > 1) {
                for smaller in [1, n / 2] {
                    let mut c = s.clone();
                    if let Some(wr) = level_mut(&mut c, level).and_then(|i| i.writes.get_mut(j)) {
                        wr.count = Some(smaller.max(1));
                    }
                    out.push(("shorten a write", c));
                }
            }
            if let Some(sec) = w.sector.filter(|&x| x >= 8) {
                // Toward sector 0, keeping the position inside its sector-bitmap byte.
                for lower in [sec & 7, ((sec / 2) & !7) | (sec & 7)] {
                    let mut c = s.clone();
                    if let Some(wr) = level_mut(&mut c, level).and_then(|i| i.writes.get_mut(j)) {
                        wr.sector = Some(lower);
                    }
                    out.push(("move a write toward sector 0", c));
                }
            }
            if !matches!(w.pattern, Pattern::Fill(_)) {
                let mut c = s.clone();
                if let Some(wr) = level_mut(&mut c, level).and_then(|i| i.writes.get_mut(j)) {
                    wr.pattern = Pattern::Fill(0x5Au8.wrapping_add(level as u8));
                }
                out.push(("plain fill pattern", c));
            }
        }
    }
    // Default layout, footer and header options.
    for (level, img) in chain.iter().enumerate() {
        if img.layout != LayoutSpec::default() {
            let mut c = s.clone();
            if let Some(i) = level_mut(&mut c, level) {
                i.layout = LayoutSpec::default();
            }
            out.push(("default layout", c));
        }
        if img.footer != FooterSpec::default() {
            let mut c = s.clone();
            if let Some(i) = level_mut(&mut c, level) {
                i.footer = FooterSpec::default();
            }
            out.push(("default footer fields", c));
        }
        if img.header != HeaderSpec::default() {
            let mut c = s.clone();
            if let Some(i) = level_mut(&mut c, level) {
                i.header = HeaderSpec::default();
            }
            out.push(("default header fields", c));
        }
    }
    let w = weight(s);
    out.retain(|(_, c)| weight(c) < w);
    out
}

/// A locator entry with everything but its platform code derived.
pub fn plain_locator(code: LocatorCode) -> LocatorSpec {
    LocatorSpec {
        code,
        path: None,
        payload_hex: None,
        space: None,
        space_units: Default::default(),
        length: None,
        offset: None,
        slot: None,
    }
}

/// A default for `max_tries` in [`shrink`], enough for any corpus-sized scenario.
pub const DEFAULT_MAX_STEPS: usize = 2000;

/// What [`shrink`] did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Shrunk {
    /// The smallest scenario found for which the predicate holds.
    pub scenario: Scenario,
    /// The reductions taken, in order.
    pub steps: Vec<&'static str>,
    /// Candidates tried (predicate calls).
    pub tries: usize,
}

/// Greedily reduces `s` while `holds` accepts the reduced scenario, trying at most `max_tries`
/// candidates. `s` itself is assumed to satisfy `holds`.
pub fn shrink(s: &Scenario, max_tries: usize, holds: &mut dyn FnMut(&Scenario) -> bool) -> Shrunk {
    let mut cur = s.clone();
    let mut steps = Vec::new();
    let mut tries = 0usize;
    // Passes over the candidates; after a reduction is taken the pass goes on from the same
    // position in the new list, so reductions that failed are not retried at once.
    let mut pos = 0usize;
    let mut taken_this_pass = false;
    loop {
        let list = candidates(&cur);
        if pos >= list.len() {
            if !taken_this_pass {
                break;
            }
            pos = 0;
            taken_this_pass = false;
            continue;
        }
        let mut taken = false;
        for (k, (what, c)) in list.into_iter().enumerate().skip(pos) {
            if tries >= max_tries {
                return Shrunk { scenario: cur, steps, tries };
            }
            tries += 1;
            if holds(&c) {
                cur = c;
                steps.push(what);
                pos = k;
                taken = true;
                taken_this_pass = true;
                break;
            }
        }
        if !taken {
            pos = usize::MAX;
        }
    }
    Shrunk { scenario: cur, steps, tries }
}
impl Shrunk {
    /// `s` as it is, no reduction taken.
    pub fn unchanged(s: &Scenario) -> Shrunk {
        Shrunk { scenario: s.clone(), steps: Vec::new(), tries: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    const CHAIN: &str = r"
description: t
seed: 1
image:
  type: differencing
  size: 4 MiB
  block_size: 2 MiB
  writes:
    - {sector: 4099, count: 300, pattern: {random: 5}}
    - {sector: 10, count: 3, pattern: {fill: 1}}
  parent:
    type: differencing
    size: 4 MiB
    block_size: 2 MiB
    writes:
      - {sector: 4096, count: 64, pattern: {counter: 1}}
    parent:
      type: dynamic
      size: 4 MiB
      block_size: 2 MiB
      writes:
        - {sector: 0, count: 100, pattern: {fill: 9}}
";

    #[test]
    fn every_candidate_is_smaller() {
        let s = yaml::parse_scenario(CHAIN, "t").unwrap();
        let w = weight(&s);
        let c = candidates(&s);
        assert!(c.len() > 10);
        assert!(c.iter().all(|(_, x)| weight(x) < w));
    }

    #[test]
    fn shrinks_to_what_the_predicate_needs() {
        // The predicate: some write of the main image starts in the middle of a sector-bitmap
        // byte and the chain has a parent.
        let s = yaml::parse_scenario(CHAIN, "t").unwrap();
        let mut holds = |c: &Scenario| {
            plan::plan_chain(c, c.seed).is_ok()
                && c.image.parent.is_some()
                && c.image.writes.iter().any(|w| w.sector.is_some_and(|x| x % 8 != 0))
        };
        let r = shrink(&s, 1000, &mut holds);
        let chain = plan::chain_of(&r.scenario);
        assert_eq!(chain.len(), 2, "{:?}", r.scenario);
        assert_eq!(r.scenario.image.writes.len(), 1);
        assert!(chain.iter().skip(1).all(|i| i.writes.is_empty()));
        let w = &r.scenario.image.writes[0];
        assert!(w.sector.is_some_and(|x| x < 8) && w.count == Some(1), "{w:?}");
        assert!(r.scenario.image.size.0 <= 4096, "{}", r.scenario.image.size.0);
        assert_eq!(r.scenario.image.block_size, Some(Size(MIN_BLOCK_SIZE)));
        assert!(!r.steps.is_empty() && r.tries <= 1000);
        // A predicate nothing satisfies leaves the scenario as it was.
        let same = shrink(&s, 50, &mut |_| false);
        assert_eq!(same.scenario, s);
        assert!(same.steps.is_empty() && same.tries == 50.min(candidates(&s).len()));
    }
}
