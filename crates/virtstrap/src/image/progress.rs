//! Progress of a download or an upload, on standard error: a bar with
//! bytes, rate and ETA on a terminal; without one (CI logs, pipes), a
//! plain line every few seconds or 10%, never one per chunk.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a plain progress line is printed at most.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// One transfer's progress.
pub struct Progress {
    label: String,
    total: Option<u64>,
    done: u64,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
    last_tenth: u64,
    quiet: bool,
}

impl Progress {
    /// Progress of `label` (`downloading x.qcow2.xz`) toward `total` bytes,
    /// from `done`. `quiet`: print nothing.
    pub fn new(label: &str, total: Option<u64>, done: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| bar(label, total, done));
        let now = Instant::now();
        Progress {
            label: label.to_string(),
            total,
            done,
            bar,
            started: now,
            last_line: now,
            last_tenth: tenth(done, total),
            quiet,
        }
    }

    /// `n` more bytes done.
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        if let Some(b) = &self.bar {
            b.inc(n);
            return;
        }
        let t = tenth(self.done, self.total);
        if !self.quiet && (t > self.last_tenth || self.last_line.elapsed() >= PLAIN_EVERY) {
            self.last_tenth = t;
            self.last_line = Instant::now();
            eprintln!("{}", self.line());
        }
    }

    /// Start again from `done` bytes (a server that ignored a Range).
    pub fn reset(&mut self, done: u64) {
        self.done = done;
        self.last_tenth = tenth(done, self.total);
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }

    /// The transfer's whole length, once known.
    pub fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
        if let (Some(b), Some(t)) = (&self.bar, total) {
            b.set_style(style(total));
            b.set_length(t);
        }
    }

    /// A note beside the progress (a retry), printed above a bar.
    pub fn note(&self, text: &str) {
        match &self.bar {
            Some(b) => b.println(text),
            None if !self.quiet => eprintln!("{text}"),
            None => {}
        }
    }

    /// The transfer is over.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = human((self.done as f64 / secs) as u64);
        match self.total {
            Some(t) if t > 0 => format!(
                "{}: {} of {} ({}%), {rate}/s",
                self.label,
                human(self.done),
                human(t),
                self.done * 100 / t
            ),
            _ => format!("{}: {}, {rate}/s", self.label, human(self.done)),
        }
    }
}

/// Bytes in MiB, one decimal (`12.3 MiB`).
pub fn human(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

fn tenth(done: u64, total: Option<u64>) -> u64 {
    match total {
        Some(t) if t > 0 => done * 10 / t,
        _ => 0,
    }
}

fn style(total: Option<u64>) -> indicatif::ProgressStyle {
    let template = match total {
        Some(_) => "{msg} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        None => "{msg} {bytes} {binary_bytes_per_sec}",
    };
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
}

fn bar(label: &str, total: Option<u64>, done: u64) -> indicatif::ProgressBar {
    let b = match total {
        Some(t) => indicatif::ProgressBar::new(t),
        None => indicatif::ProgressBar::no_length(),
    };
    b.set_style(style(total));
    b.set_message(label.to_string());
    b.set_position(done);
    b
}
