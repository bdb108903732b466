//! `keysweep install-hook`: a plain git pre-commit hook running `keysweep scan --staged`.

use std::path::{Path, PathBuf};

use crate::args::HookArgs;
use crate::messages::io_reason;

/// Identifies a hook keysweep wrote (and may therefore replace).
const MARKER: &str = "# installed by keysweep install-hook";

/// The hook script. It runs the keysweep that installed it, or the one on PATH if that one
/// has moved.
fn script(exe: &Path) -> String {
    let exe = exe.to_string_lossy().replace('\'', "'\\''");
    format!(
        "#!/bin/sh\n\
         {MARKER}: blocks commits that add secrets.\n\
         # Remove this file (or run `git commit --no-verify` once) to skip it.\n\
         keysweep='{exe}'\n\
         if [ ! -x \"$keysweep\" ]; then keysweep=keysweep; fi\n\
         exec \"$keysweep\" scan --staged --no-progress .\n"
    )
}

pub fn install(args: &HookArgs) -> Result<u8, String> {
    let dir = keysweep_git::hooks_dir(&args.repo).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create {}: {}", dir.display(), io_reason(&e)))?;
    let hook = dir.join("pre-commit");
    let mut backup = None;
    match std::fs::read(&hook) {
        Ok(existing) if String::from_utf8_lossy(&existing).contains(MARKER) => {}
        Ok(_) if !args.force => {
            return Err(format!(
                "{} already exists and was not written by keysweep; keysweep leaves it alone.\n  \
                 To run keysweep too, add this line to it:  keysweep scan --staged . || exit 1\n  \
                 To replace it (it is kept as pre-commit.keysweep-backup): keysweep install-hook --force",
                hook.display()
            ));
        }
        Ok(_) => {
            let to = dir.join("pre-commit.keysweep-backup");
            std::fs::rename(&hook, &to)
                .map_err(|e| format!("cannot move {} aside: {}", hook.display(), io_reason(&e)))?;
            backup = Some(to);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {}", hook.display(), io_reason(&e))),
    }
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .unwrap_or_else(|_| PathBuf::from("keysweep"));
    write_executable(&hook, script(&exe).as_bytes())
        .map_err(|e| format!("cannot write {}: {}", hook.display(), io_reason(&e)))?;
    if let Some(to) = backup {
        eprintln!("keysweep: the previous hook is kept as {}", to.display());
    }
    eprintln!(
        "keysweep: installed {}: every commit is now checked for secrets",
        hook.display()
    );
    Ok(0)
}

fn write_executable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}
