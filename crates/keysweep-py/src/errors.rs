//! Rust errors as Python exceptions: `OSError` (with its errno, so `FileNotFoundError` and
//! `PermissionError` come out as such) for what could not be read or written, `ValueError` for
//! what was read but is wrong. Messages name paths, rules and fields; no message quotes
//! scanned bytes (the Rust errors they come from never do).

use std::io;
use std::path::Path;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// An I/O error about `path`, with `message` saying what was being done.
pub fn io_error(e: &io::Error, message: String, path: Option<&Path>) -> PyErr {
    match (e.raw_os_error(), path) {
        (Some(errno), Some(p)) => {
            PyOSError::new_err((errno, message, p.to_string_lossy().into_owned()))
        }
        (Some(errno), None) => PyOSError::new_err((errno, message)),
        (None, _) => PyOSError::new_err(message),
    }
}

/// Why a scan job (`PathScan`, `HistoryScan`, `ChangeScan`) could not start.
pub fn job_error(e: keysweep_source::Error, path: &Path) -> PyErr {
    use keysweep_source::Error;
    match &e {
        Error::Path { path, source } => io_error(source, e.to_string(), Some(path)),
        Error::Git(_) if std::fs::symlink_metadata(path).is_err() => {
            let missing = io::Error::from(io::ErrorKind::NotFound);
            let errno = std::fs::symlink_metadata(path).err().unwrap_or(missing);
            io_error(
                &errno,
                format!("cannot open the repository {}", path.display()),
                Some(path),
            )
        }
        Error::Git(_) | Error::Image { .. } => PyValueError::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}
