//! `halo dev`'s output on stderr: one-line statuses, cargo's output passed
//! through, and, on a terminal, a spinner with the elapsed time while cargo
//! compiles.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK: Duration = Duration::from_millis(100);
/// Erases the current line: the spinner is drawn on a line of its own.
const CLEAR: &str = "\r\x1b[2K";

/// Where statuses go; shared by the build loop and cargo's output.
pub struct Console {
    tty: bool,
    spinner: Mutex<SpinnerState>,
}

#[derive(Default)]
struct SpinnerState {
    /// Whether a spinner runs: checked under the lock before each frame, so
    /// that none is drawn after its guard is dropped.
    running: bool,
    /// Whether a frame is on screen, so that anything else printed first
    /// erases it rather than continuing its line.
    shown: bool,
}

/// How a status line reads, coloured on a terminal.
#[derive(Clone, Copy)]
pub enum Tone {
    /// Nothing special.
    Plain,
    /// A success.
    Good,
    /// A failure.
    Bad,
}

impl Console {
    /// A console on this process's stderr.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            tty: std::io::stderr().is_terminal(),
            spinner: Mutex::default(),
        })
    }

    /// Whether stderr is a terminal: then cargo's output is piped through
    /// us, so it and the spinner do not overwrite each other.
    pub fn is_terminal(&self) -> bool {
        self.tty
    }

    /// Prints one status line.
    pub fn say(&self, tone: Tone, line: &str) {
        let line = match (self.tty, tone) {
            (false, _) | (true, Tone::Plain) => line.to_owned(),
            (true, Tone::Good) => format!("\x1b[32m{line}\x1b[0m"),
            (true, Tone::Bad) => format!("\x1b[1;31m{line}\x1b[0m"),
        };
        self.write(line.as_bytes());
    }

    /// Copies `from` (cargo's stderr) line by line until it ends. Blocks.
    pub fn pass_through(&self, from: impl Read) {
        let mut from = BufReader::new(from);
        let mut line = Vec::new();
        loop {
            line.clear();
            match from.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    self.write(&line);
                }
            }
        }
    }

    /// Shows a spinner labelled `what` until the returned guard is dropped;
    /// nothing unless stderr is a terminal.
    pub fn spin(self: &Arc<Self>, what: &str) -> Spinner {
        if !self.tty {
            return Spinner(None);
        }
        self.spinner.lock().running = true;
        let console = Arc::clone(self);
        let what = what.to_owned();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(TICK);
            for frame in FRAMES.iter().cycle() {
                ticks.tick().await;
                let secs = started.elapsed().as_secs_f64();
                let mut spinner = console.spinner.lock();
                if !spinner.running {
                    return;
                }
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "{CLEAR}{frame} {what} {secs:.1}s");
                let _ = err.flush();
                spinner.shown = true;
            }
        });
        Spinner(Some((task, Arc::clone(self))))
    }

    fn write(&self, line: &[u8]) {
        let mut spinner = self.spinner.lock();
        let mut err = std::io::stderr().lock();
        if std::mem::take(&mut spinner.shown) {
            let _ = err.write_all(CLEAR.as_bytes());
        }
        let _ = err.write_all(line);
        let _ = err.write_all(b"\n");
        let _ = err.flush();
    }
}

/// Stops and erases the spinner when dropped.
pub struct Spinner(Option<(tokio::task::JoinHandle<()>, Arc<Console>)>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some((task, console)) = self.0.take() {
            task.abort();
            let mut spinner = console.spinner.lock();
            spinner.running = false;
            if std::mem::take(&mut spinner.shown) {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(CLEAR.as_bytes());
                let _ = err.flush();
            }
        }
    }
}
