//! Progress bars on stderr for the front ends' long operations (indicatif), drawn only when
//! stderr is a terminal: nothing is printed into pipes, logs or CI output. The operations report
//! through [`super::Progress`]; a front end (`vhd-validate cat`/`digest`/`conform`,
//! `vhd-generate corpus`/`random`) makes a [`Bar`] and passes it (or [`hook`]) as the hook. No
//! library operation makes one itself.

use super::{NoProgress, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Smallest virtual disk (bytes) that gets a bar: 256 MiB (smaller ones finish in well under a
/// second).
pub const MIN_BYTES: u64 = 256 << 20;

/// A bar counting bytes of a virtual disk.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar labelled `label` for `total` bytes, or `None` when stderr is not a terminal or
    /// `total` is below [`MIN_BYTES`].
    pub fn bytes(label: &str, total: u64) -> Option<Bar> {
        if total < MIN_BYTES || !std::io::stderr().is_terminal() {
            return None;
        }
        let style =
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}")
                .map_or_else(|_| ProgressStyle::default_bar(), |s| s.progress_chars("=> "));
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(label.to_string());
        Some(Bar(bar))
    }

    /// A bar labelled `label` counting `total` items (cases), or `None` when stderr is not a
    /// terminal or there is nothing to count.
    pub fn items(label: &str, total: u64) -> Option<Bar> {
        if total == 0 || !std::io::stderr().is_terminal() {
            return None;
        }
        let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} eta {eta} {prefix}")
            .map_or_else(|_| ProgressStyle::default_bar(), |s| s.progress_chars("=> "));
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(label.to_string());
        Some(Bar(bar))
    }

    /// A bar labelled `label` counting items whose number the operation gives through
    /// [`Progress::start`], or `None` when stderr is not a terminal.
    pub fn counter(label: &str) -> Option<Bar> {
        let bar = Bar::items(label, 1)?;
        bar.0.set_length(0);
        Some(bar)
    }

    /// Counts one more item done, `what` (e.g. the case id) shown beside the bar.
    pub fn step(&self, what: &str) {
        self.0.set_prefix(what.to_string());
        self.0.inc(1);
    }

    /// Prints `line` on stderr above the bar.
    pub fn println(&self, line: &str) {
        self.0.println(line);
    }

    /// Removes the bar from the terminal.
    pub fn clear(self) {
        self.0.finish_and_clear();
    }
}

/// Prints `line` on stderr above `bar` when there is one, else as a plain line.
pub fn eprintln_above(bar: &Option<Bar>, line: &str) {
    match bar {
        Some(b) => b.println(line),
        None => eprintln!("{line}"),
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }

    fn advance(&self, amount: u64) {
        self.0.inc(amount);
    }
}

/// The bar as a progress hook, or one that ignores reports.
pub fn hook(bar: &Option<Bar>) -> &dyn Progress {
    match bar {
        Some(b) => b,
        None => &NoProgress,
    }
}
