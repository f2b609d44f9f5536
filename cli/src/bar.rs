//! Progress bars on stderr for the front ends' long operations (indicatif), drawn only when
//! stderr is a terminal: nothing is printed into pipes, logs or CI output. The operations report
//! through [`super::Progress`]; a front end (`vhd-validate cat`/`digest`/`conform`,
//! `vhd-generate corpus`/`random`) makes a [`Bar`] and passes it (or [`hook`]) as the hook. No
//! library operation makes one itself.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use vhd_validator::progress::{NoProgress, Progress};

/// Smallest virtual disk (bytes) that gets a bar: 256 MiB (smaller ones finish in well under a
/// second).
pub const MIN_BYTES: u64 = 256 << 20;

/// A bar on stderr, cleared from the terminal when dropped (also on an early return).
pub struct Bar(ProgressBar);

/// Template of the byte bars.
const BYTES: &str = "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}";

/// Template of the item (case) bars; `{prefix}` is the item [`Bar::step`] names.
const ITEMS: &str = "{msg} [{bar:30}] {pos}/{len} eta {eta} {prefix}";

impl Bar {
    /// A bar labelled `label` for `total` units in `template`, or `None` when stderr is not a
    /// terminal.
    fn new(label: &str, total: u64, template: &str) -> Option<Bar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let style = ProgressStyle::with_template(template)
            .map_or_else(|_| ProgressStyle::default_bar(), |s| s.progress_chars("=> "));
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(label.to_string());
        Some(Bar(bar))
    }

    /// A bar labelled `label` for `total` bytes of a virtual disk, or `None` when stderr is not
    /// a terminal or `total` is below [`MIN_BYTES`].
    pub fn bytes(label: &str, total: u64) -> Option<Bar> {
        if total < MIN_BYTES {
            return None;
        }
        Bar::new(label, total, BYTES)
    }

    /// A bar labelled `label` counting `total` items (cases), or `None` when stderr is not a
    /// terminal or there is nothing to count.
    pub fn items(label: &str, total: u64) -> Option<Bar> {
        if total == 0 {
            return None;
        }
        Bar::new(label, total, ITEMS)
    }

    /// A bar labelled `label` counting items whose number the operation gives through
    /// [`Progress::start`], or `None` when stderr is not a terminal.
    pub fn counter(label: &str) -> Option<Bar> {
        Bar::new(label, 0, ITEMS)
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
}

impl Drop for Bar {
    fn drop(&mut self) {
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
