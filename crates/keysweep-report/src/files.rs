//! Writing output files safely: `-o FILE` writes through to what is at the path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` as a user would expect of `-o path`:
///
/// - a regular file (or a new one) is replaced atomically: the bytes go to a temporary file
///   in the same directory, are synced, get the old file's permissions (and, where allowed,
///   owner), and are renamed over it, so a reader never sees half a file and a failed write
///   (a full disk) leaves the old file as it was;
/// - a symbolic link is followed: its target is written (as above), the link stays;
/// - anything else that can be written (`/dev/stdout`, a FIFO, a terminal, `/dev/null`) is
///   written in place, and a failure (`/dev/full`) is an error;
/// - a directory is an error.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("baseline.json");
/// keysweep_report::write_output(&out, b"{}\n")?;
/// assert_eq!(std::fs::read(&out)?, b"{}\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_output(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = resolve_links(path)?;
    match fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )),
        Ok(meta) if !meta.is_file() => {
            let mut f = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&target)?;
            f.write_all(bytes)?;
            f.flush()
        }
        Ok(meta) => replace(&target, bytes, Some(&meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => replace(&target, bytes, None),
        Err(e) => Err(e),
    }
}

/// Follows symbolic links (relative targets resolved against the link's directory), up to 40
/// as the kernel does, to the path that will be written.
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

fn replace(path: &Path, bytes: &[u8], old: Option<&fs::Metadata>) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.keysweep-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        if let Some(old) = old {
            f.set_permissions(old.permissions())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                // Only root may give a file away; anyone else keeps their own ownership.
                let _ = std::os::unix::fs::fchown(&f, Some(old.uid()), Some(old.gid()));
            }
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn keeps_permissions_and_follows_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.json");
        fs::write(&file, "old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        write_output(&file, b"new").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("out.json", &link).unwrap();
        write_output(&link, b"through").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&file).unwrap(), b"through");

        assert!(write_output(dir.path(), b"x").is_err());
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_are_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        write_output(Path::new("/dev/null"), b"x").unwrap();
        let e = write_output(Path::new("/dev/full"), b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(28), "{e}"); // ENOSPC
        assert!(fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device());
    }
}
