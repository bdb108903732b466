//! A progress display on stderr (only when it is a terminal), fed by a job's counters from a
//! thread of its own: the scanning threads never wait for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use keysweep_source::Counters;

/// How often the display redraws.
const INTERVAL: Duration = Duration::from_millis(120);

pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts a spinner showing `counters`, unless `enabled` is false.
    pub fn start(counters: Arc<Counters>, what: &'static str, enabled: bool) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = enabled.then(|| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let bar = indicatif::ProgressBar::with_draw_target(
                    None,
                    indicatif::ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} scanning: {msg} ({elapsed})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                while !stop.load(Ordering::Relaxed) {
                    let c = counters.snapshot();
                    bar.set_message(format!(
                        "{} {what}, {:.1} MB, {} finding(s)",
                        c.files,
                        c.bytes as f64 / 1e6,
                        c.hits
                    ));
                    bar.tick();
                    std::thread::sleep(INTERVAL);
                }
                bar.finish_and_clear();
            })
        });
        Progress { stop, thread }
    }

    /// Stops and clears the display.
    pub fn finish(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
