//! Progress bars on a terminal (indicatif); nothing with `--json` or when stderr is not a
//! terminal, so that logs and pipes get the plain lines only.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar on stderr, hidden when `quiet` or when stderr is not a terminal.
pub fn bar(quiet: bool, total: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs a load with a bar that follows its files.
pub fn loading<T>(quiet: bool, load: impl FnOnce(&(dyn Fn(usize, usize) + Sync)) -> T) -> T {
    // The length is known at the first report (after the folder is listed).
    let bar = bar(quiet, 0, "loading {bar:40} {pos}/{len} files ({elapsed})");
    bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    let shown = std::sync::Once::new();
    let tick = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        shown.call_once(|| {
            if !quiet && std::io::stderr().is_terminal() {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        });
    };
    let result = load(&tick);
    bar.finish_and_clear();
    result
}
