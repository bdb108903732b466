//! Writing results to standard output, with every failure reported.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the process started with standard output closed (`keysweep scan . >&-`).
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Notes whether descriptor 1 is open, before Rust's runtime puts `/dev/null` on a closed
/// standard descriptor (it does so before `main`, and the output would then vanish without an
/// error): an ELF constructor runs before that. Afterwards a closed descriptor cannot be told
/// from a `/dev/null` that the parent opened on purpose (Python's `subprocess.DEVNULL` and Go's
/// `exec.Cmd` open it read-write, as the runtime does). Linux only (it reads `/proc`); where
/// `/proc` is not mounted nothing is noted.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static NOTE_CLOSED_STDOUT: extern "C" fn() = note_closed_stdout;

#[cfg(target_os = "linux")]
extern "C" fn note_closed_stdout() {
    let proc_fds = std::path::Path::new("/proc/self/fd");
    // Only a missing entry means closed: a sandbox that denies the lookup proves nothing.
    let closed = proc_fds.is_dir()
        && std::fs::symlink_metadata(proc_fds.join("1"))
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    CLOSED.store(closed, Ordering::Relaxed);
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
