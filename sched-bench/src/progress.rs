//! A progress bar on stderr for long `compare` runs of the periodic built-in workloads.
//!
//! One tick per (round, backend). Shown only when both stdout and stderr are terminals and the
//! run is expected to take at least [`MIN_EXPECTED`]; otherwise hidden, and the caller's plain
//! per-round lines go to stderr instead (test output and CI logs get those lines, no escape
//! codes). The bar redraws only when a round starts or ends (no ticker thread beside the
//! measured runtimes).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Runs expected to be shorter than this get the plain lines, not the bar.
pub const MIN_EXPECTED: Duration = Duration::from_secs(5);

/// Progress of `steps` steps: a bar, or plain lines on stderr.
#[derive(Debug)]
pub struct Progress {
    /// `None`: hidden (print lines instead).
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress of `steps` steps named `prefix`, expected to take `expected` in all.
    pub fn new(prefix: &str, steps: u64, expected: Duration) -> Progress {
        let terminals = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let bar = (terminals && expected >= MIN_EXPECTED).then(|| {
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr())
                .with_style(style)
                .with_prefix(prefix.to_owned())
        });
        Progress { bar }
    }

    /// A step begins: the bar shows `message`; without the bar, `line` goes to stderr.
    pub fn start(&self, message: impl FnOnce() -> String, line: impl FnOnce() -> String) {
        match &self.bar {
            Some(bar) => bar.set_message(message()),
            None => eprintln!("{}", line()),
        }
    }

    /// A step is done.
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// All steps are done: the bar is cleared.
    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    /// Leaves the bar as it stands when the run stopped early (an error follows it).
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Progress;
    use std::time::Duration;

    #[test]
    fn hidden_for_short_runs() {
        let p = Progress::new("w", 3, Duration::from_millis(200));
        assert!(p.bar.is_none());
        p.done();
        p.finish();
    }
}
