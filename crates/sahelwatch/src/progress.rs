//! Progress bars for long imports (drawn only on a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sahelwatch_app::Progress;
use std::sync::Mutex;

pub struct Bar {
    label: String,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    pub fn new(label: &str) -> Bar {
        Bar {
            label: label.to_string(),
            bar: Mutex::new(None),
        }
    }
}

impl Progress for Bar {
    fn start(&self, total_bytes: Option<u64>) {
        let bar = match total_bytes {
            Some(n) => {
                let b = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr());
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                b
            }
            None => {
                let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                b.set_style(
                    ProgressStyle::with_template("{spinner} {msg} {bytes}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b
            }
        };
        bar.set_message(self.label.clone());
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    fn at(&self, bytes: u64, rows: u64) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.set_position(bytes);
            b.set_message(format!("{} {rows} rows", self.label));
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}
