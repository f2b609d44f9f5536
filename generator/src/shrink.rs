//! A structure-aware shrinker for scenarios: makes a failing scenario smaller while it still
//! fails, by editing the decoded [`Scenario`] (dropping a chain level, a write, an allocation,
//! a locator, a mutation, a declared finding; resetting footer, header and layout overrides;
//! halving sizes and counts), never its serialized bytes. A fuzzer's byte-level minimiser
//! (`cargo fuzz tmin`) scrambles an `Arbitrary`-decoded scenario when it deletes bytes; this
//! keeps the meaning of what is left.
//!
//! Used for crashes of the `scenario_roundtrip` fuzz target (`fuzz/fuzz.sh shrink`) and by
//! anything else that judges a scenario with a predicate (differential exploration).

use crate::scenario::{Image, Kind, Scenario};
use crate::values::Size;

/// Most predicate calls [`shrink`] makes by default.
pub const DEFAULT_MAX_STEPS: usize = 2000;

/// The result of [`shrink`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Shrunk {
    /// The smallest scenario found that still fails.
    pub scenario: Scenario,
    /// Candidates tried (predicate calls).
    pub tried: usize,
    /// Candidates that still failed and were kept.
    pub kept: usize,
}

/// Shrinks `s`, which `fails` must hold for, greedily: tries every one-step simplification in a
/// fixed order and keeps the first that still fails, until none does or `max_steps` predicate
/// calls were made. Deterministic: the same scenario and predicate give the same result.
///
/// `fails` is called on candidate scenarios only (never on `s` itself) and should return true
/// when the candidate shows the same failure (e.g. panics at the same place).
pub fn shrink(s: &Scenario, mut fails: impl FnMut(&Scenario) -> bool, max_steps: usize) -> Shrunk {
    let mut best = s.clone();
    let (mut tried, mut kept) = (0, 0);
    'outer: loop {
        for cand in candidates(&best) {
            if tried >= max_steps {
                break 'outer;
            }
            tried += 1;
            if fails(&cand) {
                best = cand;
                kept += 1;
                continue 'outer;
            }
        }
        break;
    }
    Shrunk { scenario: best, tried, kept }
}

/// Halves a byte count, kept a multiple of 512 and at least 512; `None` when it cannot shrink.
fn half_size(v: u64) -> Option<u64> {
    let h = (v / 2) / 512 * 512;
    (h >= 512 && h < v).then_some(h)
}

/// Every one-step simplification of `s`, roughly largest first.
fn candidates(s: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut Scenario) -> bool| {
        let mut c = s.clone();
        if f(&mut c) && c != *s {
            out.push(c);
        }
    };
    // Drop every mutation, then each one.
    push(&|c| !std::mem::take(&mut c.mutations).is_empty());
    for i in 0..s.mutations.len() {
        push(&|c| {
            c.mutations.remove(i);
            true
        });
    }
    push(&|c| !std::mem::take(&mut c.expect_findings).is_empty());
    push(&|c| c.check.take().is_some());
    // Chain levels: the chain from each level down (drops the levels above it), and each
    // level's parent replaced by its grandparent.
    let depth = chain_depth(&s.image);
    for level in 1..depth {
        push(&|c| match level_of(&c.image, level).cloned() {
            Some(img) => {
                c.image = img;
                true
            }
            None => false,
        });
    }
    for level in 0..depth {
        // Per-level simplifications.
        let edits: [&dyn Fn(&mut Image) -> bool; 12] = [
            &|i| {
                let gp = i.parent.as_mut().and_then(|p| p.parent.take());
                match (gp, i.parent.as_mut()) {
                    (Some(gp), Some(_)) => {
                        i.parent = Some(gp);
                        true
                    }
                    _ => false,
                }
            },
            &|i| !std::mem::take(&mut i.writes).is_empty(),
            &|i| !std::mem::take(&mut i.allocate).is_empty(),
            &|i| i.locators.take().is_some(),
            &|i| std::mem::take(&mut i.layout) != Default::default(),
            &|i| std::mem::take(&mut i.header) != Default::default(),
            &|i| std::mem::take(&mut i.footer) != Default::default(),
            &|i| i.file.take().is_some(),
            &|i| i.block_size.take().is_some(),
            &|i| match half_size(i.size.0) {
                Some(h) => {
                    i.size = Size(h);
                    true
                }
                None => false,
            },
            &|i| match i.block_size.and_then(|b| half_size(b.0)) {
                Some(h) => {
                    i.block_size = Some(Size(h));
                    true
                }
                None => false,
            },
            &|i| {
                // A differencing disk without a parent cannot be planned; a sparse one can
                // become fixed only without blocks.
                if i.kind == Kind::Dynamic && i.allocate.is_empty() && i.locators.is_none() {
                    i.kind = Kind::Fixed;
                    i.block_size = None;
                    true
                } else {
                    false
                }
            },
        ];
        for edit in edits {
            push(&|c| level_of_mut(&mut c.image, level).is_some_and(edit));
        }
        let Some(img) = level_of(&s.image, level) else { continue };
        for i in 0..img.writes.len() {
            push(&|c| {
                level_of_mut(&mut c.image, level).is_some_and(|m| {
                    m.writes.remove(i);
                    true
                })
            });
            push(&|c| {
                level_of_mut(&mut c.image, level).and_then(|m| m.writes.get_mut(i)).is_some_and(|w| {
                    match (w.count, w.length) {
                        (Some(n), _) if n > 1 => w.count = Some(n / 2),
                        (_, Some(l)) if half_size(l.0).is_some() => w.length = half_size(l.0).map(Size),
                        _ => return false,
                    }
                    true
                })
            });
        }
        for i in 0..img.allocate.len() {
            push(&|c| {
                level_of_mut(&mut c.image, level).is_some_and(|m| {
                    m.allocate.remove(i);
                    true
                })
            });
        }
        for i in 0..img.locators.as_ref().map_or(0, Vec::len) {
            push(&|c| {
                level_of_mut(&mut c.image, level).and_then(|m| m.locators.as_mut()).is_some_and(|l| {
                    l.remove(i);
                    true
                })
            });
        }
    }
    push(&|c| std::mem::take(&mut c.seed) != 0);
    out
}

fn chain_depth(img: &Image) -> usize {
    1 + img.parent.as_deref().map_or(0, chain_depth)
}

fn level_of(img: &Image, level: usize) -> Option<&Image> {
    if level == 0 {
        Some(img)
    } else {
        level_of(img.parent.as_deref()?, level - 1)
    }
}

fn level_of_mut(img: &mut Image, level: usize) -> Option<&mut Image> {
    if level == 0 {
        Some(img)
    } else {
        level_of_mut(img.parent.as_deref_mut()?, level - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::scenario;

    /// A predicate that needs a differencing disk over a dynamic parent with a write in the child
    /// at sector 8 or later shrinks to exactly that: one level dropped, the other writes and
    /// locators gone, sizes halved as far as the write allows.
    #[test]
    fn shrinks_to_what_the_predicate_needs() {
        let s = scenario(
            "description: d\nseed: 9\nimage:\n  type: differencing\n  size: 8 MiB\n  block_size: 1 MiB\n  writes:\n    - sector: 0\n      count: 16\n      pattern: zero\n    - sector: 64\n      count: 8\n      pattern: {fill: 1}\n  locators:\n    - code: W2ru\n  parent:\n    type: differencing\n    size: 8 MiB\n    parent:\n      type: dynamic\n      size: 8 MiB\n      writes:\n        - sector: 3\n          pattern: {fill: 2}\n",
        );
        let fails = |c: &Scenario| {
            c.image.kind == Kind::Differencing
                && c.image.parent.as_ref().is_some_and(|p| p.kind == Kind::Dynamic)
                && c.image.writes.iter().any(|w| w.sector.is_some_and(|s| s >= 8))
        };
        assert!(!fails(&s), "the three-level original has a differencing parent");
        let mut with_dynamic_parent = s.clone();
        let grand = with_dynamic_parent.image.parent.as_mut().unwrap().parent.take().unwrap();
        with_dynamic_parent.image.parent = Some(grand);
        let r = shrink(&with_dynamic_parent, fails, DEFAULT_MAX_STEPS);
        let img = &r.scenario.image;
        assert!(fails(&r.scenario));
        assert_eq!(img.writes.len(), 1);
        assert_eq!(img.writes[0].sector, Some(64));
        assert_eq!(img.writes[0].count, Some(1));
        assert!(img.locators.is_none() && img.block_size.is_none());
        let parent = img.parent.as_ref().unwrap();
        assert!(parent.writes.is_empty() && parent.parent.is_none());
        assert_eq!(parent.size.0, 512);
        assert_eq!(r.scenario.seed, 0);
        assert!(r.kept >= 8, "{r:?}");
        // Deterministic.
        let again = shrink(&with_dynamic_parent, fails, DEFAULT_MAX_STEPS);
        assert_eq!(again.scenario, r.scenario);
    }

    #[test]
    fn stops_after_max_steps_and_keeps_a_failing_scenario() {
        let s = scenario("description: d\nimage:\n  type: fixed\n  size: 1 MiB\n");
        let r = shrink(&s, |c| c.image.size.0 >= 4096, 3);
        assert_eq!(r.tried, 3);
        assert!(r.scenario.image.size.0 >= 4096);
        let r = shrink(&s, |c| c.image.size.0 >= 4096, DEFAULT_MAX_STEPS);
        assert_eq!(r.scenario.image.size.0, 4096);
    }
}
