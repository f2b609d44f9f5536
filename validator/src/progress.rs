//! Progress of long operations: a small hook the library calls and front ends implement.
//!
//! Library operations never draw anything and never read the clock: operations that take long
//! ([`crate::chain::ChainReader::digest_with`], [`crate::chain::ChainReader::write_raw_with`])
//! take a `&dyn Progress` and report how much of their work is done; a front end (the
//! `vhd-validate` progress bar, a corpus generator, a conformance runner) turns that into a
//! display. Work is counted in units the operation names: bytes of the virtual disk for
//! `digest` and `cat`, cases for a corpus or a conformance run.
//!
//! Contract: [`Progress::start`] is called once, before any [`Progress::advance`]; the amounts
//! passed to `advance` add up to at most the total given to `start`, and to exactly that total
//! when the operation succeeds. Finishing or clearing a display is the front end's business;
//! The command lines draw an indicatif bar (`vhd_cli::bar`, only on a terminal).

/// Receives progress reports from a long operation (from several threads at once when the
/// operation runs in parallel, hence `Sync`).
pub trait Progress: Sync {
    /// The operation starts; `total` units of work lie ahead.
    fn start(&self, total: u64) {
        let _ = total;
    }

    /// `amount` more units are done.
    fn advance(&self, amount: u64);
}

/// A [`Progress`] that ignores every report.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _amount: u64) {}
}

/// Batches reports so that a front end is called at most once per `step` units (plus once at
/// the end): operations may report per block or per run of sectors without making the hook a
/// hot path.
pub struct Meter<'a> {
    sink: &'a dyn Progress,
    step: u64,
    pending: u64,
}

impl<'a> Meter<'a> {
    /// A meter that forwards to `sink` in steps of at least `step` units (`step` 0 means 1),
    /// after calling `sink.start(total)`.
    pub fn start(sink: &'a dyn Progress, total: u64, step: u64) -> Meter<'a> {
        sink.start(total);
        Meter { sink, step: step.max(1), pending: 0 }
    }

    /// Counts `amount` more units done.
    pub fn add(&mut self, amount: u64) {
        self.pending = self.pending.saturating_add(amount);
        if self.pending >= self.step {
            self.sink.advance(self.pending);
            self.pending = 0;
        }
    }

    /// Forwards what is still pending.
    pub fn flush(&mut self) {
        if self.pending > 0 {
            self.sink.advance(self.pending);
            self.pending = 0;
        }
    }
}

impl Drop for Meter<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::{Meter, Progress};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<(char, u64)>>);

    impl Progress for Log {
        fn start(&self, total: u64) {
            self.0.lock().unwrap().push(('s', total));
        }
        fn advance(&self, amount: u64) {
            self.0.lock().unwrap().push(('a', amount));
        }
    }

    #[test]
    fn meter_batches_and_flushes_the_remainder() {
        let log = Log::default();
        {
            let mut m = Meter::start(&log, 100, 10);
            for _ in 0..7 {
                m.add(3);
            }
        }
        // The fourth add reaches the step (12 units); the last three (9) are forwarded at drop.
        assert_eq!(*log.0.lock().unwrap(), vec![('s', 100), ('a', 12), ('a', 9)]);
    }
}
