//! Progress bars on stderr for long operations (indicatif), drawn only when stderr is a
//! terminal: nothing is printed into pipes, logs or CI output. The library reports through
//! [`vhd_validator::progress::Progress`]; this module draws it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use vhd_validator::progress::{NoProgress, Progress};

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

    /// Removes the bar from the terminal.
    pub fn clear(self) {
        self.0.finish_and_clear();
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
