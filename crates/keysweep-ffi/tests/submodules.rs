//! `keysweep_scan_repository` with `KEYSWEEP_SCAN_SUBMODULES`, from Rust through the C ABI:
//! a submodule's history is scanned and its findings name the submodule. Secrets are fake.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::Path;
use std::process::Command;
use std::ptr;

use keysweep_ffi::*;

/// The C string at `p`, or `None` for `NULL`.
///
/// # Safety
/// `p` is `NULL` or a live NUL-terminated string.
unsafe fn text(p: *const c_char) -> Option<String> {
    // SAFETY: per the contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned())
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "commit.gpgsign=false", "-c", "user.name=Ada Dev"])
        .args([
            "-c",
            "user.email=ada@example.com",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git is needed for the submodule test");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_submodules_history_is_scanned_with_the_flag_only() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    git(&lib, &["init", "-q", "-b", "main"]);
    std::fs::write(
        lib.join("config.env"),
        "AWS_ACCESS_KEY_ID=AKIAQW4RZT7MN2XKLP3V\n",
    )
    .unwrap();
    git(&lib, &["add", "."]);
    git(&lib, &["commit", "-q", "-m", "lib: config"]);
    let recorded = git(&lib, &["rev-parse", "HEAD"]);
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    git(&app, &["init", "-q", "-b", "main"]);
    git(
        &app,
        &[
            "submodule",
            "add",
            "-q",
            lib.to_str().unwrap(),
            "vendor/lib",
        ],
    );
    git(&app, &["commit", "-q", "-m", "app: vendor lib"]);

    let path = CString::new(app.to_str().unwrap()).unwrap();
    // SAFETY: each handle is used while live and freed once; strings are NUL-terminated.
    unsafe {
        let options = keysweep_options_new();
        let scanner = keysweep_scanner_new(options, ptr::null_mut());
        keysweep_options_free(options);
        let mut err: *mut keysweep_error = ptr::null_mut();
        let found = keysweep_scan_repository(scanner, path.as_ptr(), ptr::null(), 0, &mut err);
        assert!(!found.is_null());
        assert_eq!(keysweep_findings_len(found), 0);
        keysweep_findings_free(found);

        let found = keysweep_scan_repository(
            scanner,
            path.as_ptr(),
            ptr::null(),
            KEYSWEEP_SCAN_SUBMODULES,
            &mut err,
        );
        assert!(!found.is_null(), "{:?}", text(keysweep_error_message(err)));
        assert_eq!(keysweep_findings_len(found), 1);
        let f = &*keysweep_findings_get(found, 0);
        assert_eq!(text(f.path).as_deref(), Some("vendor/lib/config.env"));
        assert_eq!(text(f.submodule).as_deref(), Some("vendor/lib"));
        assert_eq!(text(f.submodule_commit).as_deref(), Some(recorded.as_str()));
        assert_eq!(text(f.commit).as_deref(), Some(recorded.as_str()));
        keysweep_findings_free(found);

        // The flag means nothing to a path scan: refused.
        let found = keysweep_scan_path(scanner, path.as_ptr(), KEYSWEEP_SCAN_SUBMODULES, &mut err);
        assert!(found.is_null());
        assert_eq!(
            keysweep_error_code(err),
            keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT
        );
        keysweep_error_free(err);
        keysweep_scanner_free(scanner);
    }
}
