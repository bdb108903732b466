//! Writing results to standard output, with every failure reported.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the process started with standard output closed.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Notes whether the process started with standard output closed (`keysweep scan . >&-`).
/// Rust's runtime puts `/dev/null` on a closed standard descriptor before `main`, so the output
/// would vanish without an error; the descriptor it opens is `/dev/null` read-write, which a
/// shell's `> /dev/null` never is (write-only). Linux only (it reads `/proc`).
pub fn check_open() {
    let fd_is_null =
        std::fs::read_link("/proc/self/fd/1").is_ok_and(|p| p == std::path::Path::new("/dev/null"));
    if !fd_is_null {
        return;
    }
    let read_write = std::fs::read_to_string("/proc/self/fdinfo/1").is_ok_and(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            .is_some_and(|flags| flags & 0o3 == 0o2)
    });
    CLOSED.store(read_write, Ordering::Relaxed);
}

/// Runs `write` on a buffered standard output and flushes it. A reader that went away (a
/// closed pipe: `keysweep scan | head`) ends the output quietly; any other failure (a closed
/// standard output, a full disk) is an error, so findings are never lost silently.
pub fn write(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), String> {
    if CLOSED.load(Ordering::Relaxed) {
        return Err("cannot write output: standard output is closed".into());
    }
    let result = with_stdout(|out| {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        write(&mut out)?;
        out.flush()
    });
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!(
            "cannot write output: {}",
            crate::messages::io_reason(&e)
        )),
        Ok(()) => Ok(()),
    }
}

/// The standard library's stdout treats a closed descriptor as a bottomless sink; a
/// duplicate of the descriptor reports it (`EBADF`) instead.
#[cfg(unix)]
fn with_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    use std::os::fd::AsFd;
    let fd = io::stdout().as_fd().try_clone_to_owned()?;
    let mut file = std::fs::File::from(fd);
    f(&mut file)
}

#[cfg(not(unix))]
fn with_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    f(&mut io::stdout().lock())
}
