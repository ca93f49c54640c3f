//! Progress display: an indicatif bar on a terminal (feature `progress`), nothing otherwise.
//! Progress goes to stderr so stdout stays clean for the result (and `--json`).

use firekeep_core::engine::{ProgressEvent, ProgressFn};
use std::sync::Arc;

/// A progress display for one operation.
pub struct Progress {
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
    #[cfg(not(feature = "progress"))]
    enabled: bool,
}

impl Progress {
    /// A display that draws only when `enabled` and stderr is a terminal.
    pub fn new(enabled: bool) -> Self {
        #[cfg(feature = "progress")]
        {
            use std::io::IsTerminal;
            let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {prefix:>9} [{bar:30}] {msg}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bar
            });
            Progress { bar }
        }
        #[cfg(not(feature = "progress"))]
        {
            use std::io::IsTerminal;
            Progress {
                enabled: enabled && std::io::stderr().is_terminal(),
            }
        }
    }

    /// The callback to hand to the engine, if anything is drawn.
    pub fn callback(&self) -> Option<ProgressFn> {
        #[cfg(feature = "progress")]
        {
            let bar = self.bar.clone()?;
            Some(Arc::new(move |e: &ProgressEvent| update(&bar, e)))
        }
        #[cfg(not(feature = "progress"))]
        {
            // Without the bars: one line per phase.
            let last = std::sync::Mutex::new(None::<firekeep_core::engine::Phase>);
            self.enabled.then(|| -> ProgressFn {
                Arc::new(move |e: &ProgressEvent| {
                    let mut last = last.lock().expect("progress lock");
                    if *last != Some(e.phase) {
                        *last = Some(e.phase);
                        eprintln!("{}...", e.phase.as_str());
                    }
                })
            })
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(feature = "progress")]
fn update(bar: &indicatif::ProgressBar, e: &ProgressEvent) {
    use crate::output::{bytes, count};
    bar.set_prefix(e.phase.as_str());
    let (pos, len) = match (e.total_documents, e.total_parts) {
        (Some(t), _) => (e.documents, t),
        (None, Some(t)) => (e.parts, t),
        _ => (0, 0),
    };
    bar.set_length(len);
    bar.set_position(pos.min(len));
    let eta = e
        .eta
        .map(|d| format!(", {}s left", d.as_secs()))
        .unwrap_or_default();
    bar.set_message(format!(
        "{} docs, {} ({:.0} docs/s{eta})",
        count(e.documents),
        bytes(e.bytes),
        e.docs_per_sec
    ));
}
