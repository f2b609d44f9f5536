//! Case-level parallelism of the batch commands (`vhd-validate corpus`, `vhd-generate corpus`
//! and `--check`): cases run on rayon's pool, results are collected in input order, so the
//! output is the same whatever the number of threads.

/// Sets the number of worker threads of the process-wide pool (`--jobs N`); `None` or `0`:
/// one per core. Call it once, before any parallel work.
///
/// # Errors
/// The pool was already built (a second call), or the threads cannot be started.
pub fn set_jobs(jobs: Option<usize>) -> Result<(), String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build_global()
        .map_err(|e| format!("cannot start {} worker threads: {e}", jobs.unwrap_or(0)))
}

/// `f` of every item, run in parallel costliest first (by `cost`, ties in input order), so the
/// longest job never starts last; the results come back in input order.
pub fn map_costliest_first<T, R>(items: &[T], cost: impl Fn(&T) -> u64, f: impl Fn(&T) -> R + Sync) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    use rayon::prelude::*;
    let mut order: Vec<(usize, &T)> = items.iter().enumerate().collect();
    order.sort_by_key(|&(_, t)| std::cmp::Reverse(cost(t)));
    let mut done: Vec<(usize, R)> = order.into_par_iter().with_max_len(1).map(|(i, t)| (i, f(t))).collect();
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_input_order() {
        let items: Vec<u64> = (0..500).map(|i| (i * 7919) % 503).collect();
        let out = super::map_costliest_first(&items, |&c| c, |&c| c * 2);
        assert_eq!(out, items.iter().map(|c| c * 2).collect::<Vec<_>>());
    }
}
