//! Writing results to standard output, with every failure reported.

use std::io::{self, BufWriter, Write};

/// Runs `write` on a buffered standard output and flushes it. A reader that went away (a
/// closed pipe: `keysweep scan | head`) ends the output quietly; any other failure (a closed
/// standard output, a full disk) is an error, so findings are never lost silently.
pub fn write(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), String> {
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
