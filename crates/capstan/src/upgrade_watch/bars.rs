//! The terminal view of `capstan upgrade watch`: indicatif bars drawn from a
//! [`BarsView`], with change lines printed above them.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::render::{Bar, BarsView};

/// The bars on standard output (the stream whose being a terminal chose them).
pub(super) struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    steps: Vec<ProgressBar>,
    /// One line per cluster upgrading now, added and removed as that set changes.
    upgrading: Vec<ProgressBar>,
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn line_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>14} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn set(bar: &ProgressBar, content: &Bar) {
    bar.set_prefix(content.prefix.clone());
    bar.set_length(content.length);
    bar.set_position(content.position);
    bar.set_message(content.message.clone());
}

impl Bars {
    pub(super) fn new(view: &BarsView) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let add = |content: &Bar| {
            let bar = multi.add(ProgressBar::new(content.length));
            bar.set_style(bar_style());
            set(&bar, content);
            bar
        };
        let overall = add(&view.overall);
        let steps = view.steps.iter().map(add).collect();
        let mut bars = Self {
            multi,
            overall,
            steps,
            upgrading: Vec::new(),
        };
        bars.update(view);
        bars
    }

    pub(super) fn update(&mut self, view: &BarsView) {
        set(&self.overall, &view.overall);
        // The plan is frozen, so the steps are those of the first answer.
        for (bar, content) in self.steps.iter().zip(&view.steps) {
            set(bar, content);
        }
        while self.upgrading.len() < view.upgrading.len() {
            let line = self.multi.add(ProgressBar::new_spinner());
            line.set_style(line_style());
            line.set_prefix("upgrading");
            self.upgrading.push(line);
        }
        while self.upgrading.len() > view.upgrading.len() {
            if let Some(line) = self.upgrading.pop() {
                line.finish_and_clear();
                self.multi.remove(&line);
            }
        }
        for (line, text) in self.upgrading.iter().zip(&view.upgrading) {
            line.set_message(text.clone());
        }
    }

    /// Prints `line` above the bars.
    pub(super) fn println(&self, line: &str) {
        // Fails only when the terminal is gone; the bars then draw nowhere either.
        let _ = self.multi.println(line);
    }

    /// Leaves the overall and step bars drawn as they ended and removes the cluster lines;
    /// nothing is drawn afterwards.
    pub(super) fn finish(self) {
        for line in &self.upgrading {
            line.finish_and_clear();
        }
        self.overall.finish();
        for bar in &self.steps {
            bar.finish();
        }
    }
}
