//! Case-level parallelism of the batch commands (`vhd-validate corpus` and `check DIR`,
//! `vhd-generate corpus` and `--check`): cases run on rayon's pool or on as many threads,
//! results come back in input order, so the output is the same whatever the number of
//! threads.

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

/// The number of worker threads of the process-wide pool (what [`set_jobs`] set).
pub fn jobs() -> usize {
    rayon::current_num_threads()
}

/// The number of threads `--jobs N` asks for, without starting a pool: `N`, or one per core
/// for `None` or `0` (one when the number of cores is unknown). For [`for_each_in_order`],
/// which starts its own threads.
pub fn jobs_wanted(jobs: Option<usize>) -> usize {
    match jobs {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
    }
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

/// `f` of every item on `jobs` threads, each with its own state from `init` (a cache),
/// `emit` called on the calling thread with each result in item order as soon as it and every
/// earlier one are done: what is emitted does not depend on `jobs`. Workers take runs of
/// consecutive items, shorter towards the end (at most [`MAX_RUN`], one when few are left), so
/// cheap items do not pay a thread hand-over each. Streaming: no run starts more than
/// `2 x jobs x MAX_RUN` items ahead of the last one emitted, so memory does not grow with the
/// number of items. `emit`'s first error stops the run (no further run starts) and is returned.
///
/// # Errors
/// The first error of `emit`.
pub fn for_each_in_order<T, S, R, E>(
    items: &[T],
    jobs: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
    mut emit: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
{
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Condvar, Mutex, PoisonError};
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        let mut state = init();
        return items.iter().try_for_each(|t| emit(f(&mut state, t)));
    }
    let window = 2 * jobs * MAX_RUN;
    // (next item to hand out, items emitted), and the signal that the latter moved.
    let progress = (Mutex::new((0usize, 0usize)), Condvar::new());
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Vec<R>)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (init, f, stop, progress) = (&init, &f, &stop, &progress);
            scope.spawn(move || {
                let mut state = init();
                loop {
                    let (lock, moved) = progress;
                    let mut p = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    while p.0 < items.len() && p.0 >= p.1 + window && !stop.load(Ordering::Relaxed) {
                        p = moved.wait(p).unwrap_or_else(PoisonError::into_inner);
                    }
                    let start = p.0;
                    let run = ((items.len() - start) / (4 * jobs)).clamp(1, MAX_RUN);
                    let Some(run_items) = items.get(start..(start + run).min(items.len())).filter(|r| !r.is_empty())
                    else {
                        break;
                    };
                    p.0 = start + run_items.len();
                    drop(p);
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let results = run_items.iter().map(|t| f(&mut state, t)).collect();
                    if tx.send((start, results)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = std::collections::BTreeMap::new();
        let mut done = 0usize;
        let mut result = Ok(());
        'results: for (start, results) in &rx {
            pending.insert(start, results);
            while let Some(results) = pending.remove(&done) {
                for r in results {
                    done += 1;
                    if let Err(e) = emit(r) {
                        result = Err(e);
                        break 'results;
                    }
                }
                progress.0.lock().unwrap_or_else(PoisonError::into_inner).1 = done;
                progress.1.notify_all();
            }
        }
        stop.store(true, Ordering::Relaxed);
        progress.1.notify_all();
        drop(rx);
        result
    })
}

/// Most consecutive items a worker of [`for_each_in_order`] takes at once.
pub const MAX_RUN: usize = 32;

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_input_order() {
        let items: Vec<u64> = (0..500).map(|i| (i * 7919) % 503).collect();
        let out = super::map_costliest_first(&items, |&c| c, |&c| c * 2);
        assert_eq!(out, items.iter().map(|c| c * 2).collect::<Vec<_>>());
    }

    #[test]
    fn for_each_in_order_emits_in_item_order_and_stops_at_an_error() {
        let items: Vec<u64> = (0..300).collect();
        for jobs in [1, 2, 3, 8] {
            let mut got = Vec::new();
            // Uneven work, so that workers finish out of order.
            let work = |calls: &mut u64, &i: &u64| {
                *calls += 1;
                std::thread::sleep(std::time::Duration::from_micros((i * 7919) % 13 * 50));
                i * 3
            };
            let r: Result<(), ()> = super::for_each_in_order(
                &items,
                jobs,
                || 0u64,
                work,
                |v| {
                    got.push(v);
                    Ok(())
                },
            );
            assert_eq!(r, Ok(()));
            assert_eq!(got, items.iter().map(|i| i * 3).collect::<Vec<_>>(), "jobs {jobs}");
            let mut seen = Vec::new();
            let r = super::for_each_in_order(
                &items,
                jobs,
                || (),
                |_, &i| i,
                |v| {
                    seen.push(v);
                    if v == 40 {
                        Err(v)
                    } else {
                        Ok(())
                    }
                },
            );
            assert_eq!(r, Err(40));
            assert_eq!(seen, (0..=40).collect::<Vec<_>>(), "jobs {jobs}");
        }
    }
}
