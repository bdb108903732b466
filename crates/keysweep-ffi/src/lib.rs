//! A C ABI for the keysweep engine, so that C, C++, Go (cgo), Python (ctypes, cffi) and anything
//! else that can call C embeds the scanner without spawning a process.
//!
//! The library builds as `libkeysweep_ffi.so` (`.dylib`, `.dll`) and `libkeysweep_ffi.a`; the
//! header is `include/keysweep.h`, generated from this file by cbindgen and checked by the test
//! suite. The README's "From C and other languages" section has a C and a Python example.
//!
//! ```c
//! keysweep_error *err = NULL;
//! keysweep_scanner *scanner = keysweep_scanner_new(NULL, &err);   /* built-in rules */
//! keysweep_findings *found = keysweep_scan(scanner, buf, len, 0, &err);
//! for (size_t i = 0; i < keysweep_findings_len(found); i++) {
//!     const keysweep_finding *f = keysweep_findings_get(found, i);
//!     printf("%s at %zu:%zu\n", f->rule_id, f->line, f->column);
//! }
//! keysweep_findings_free(found);
//! keysweep_scanner_free(scanner);
//! ```
//!
//! The same calls from Rust (the crate is also an rlib; this example runs as a doc test):
//!
//! ```
//! use keysweep_ffi::*;
//! use std::ffi::CStr;
//!
//! let text = b"STRIPE_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n";
//! unsafe {
//!     let scanner = keysweep_scanner_new(std::ptr::null(), std::ptr::null_mut());
//!     assert!(!scanner.is_null());
//!     let found = keysweep_scan(scanner, text.as_ptr(), text.len(), 0, std::ptr::null_mut());
//!     assert_eq!(keysweep_findings_len(found), 1);
//!     let f = &*keysweep_findings_get(found, 0);
//!     assert_eq!(CStr::from_ptr(f.rule_id).to_str(), Ok("stripe.secret_key.live"));
//!     assert_eq!((f.line, f.column, f.start, f.end), (1, 15, 14, 46));
//!     assert!(f.secret.is_null()); // not asked for with KEYSWEEP_SCAN_SECRETS
//!     keysweep_findings_free(found);
//!     keysweep_scanner_free(scanner);
//!
//!     // Failures: NULL, a status in the error out-parameter, and the thread's last error.
//!     let mut err = std::ptr::null_mut();
//!     assert!(keysweep_scan(scanner_null(), text.as_ptr(), 1, 0, &mut err).is_null());
//!     assert_eq!(keysweep_error_code(err), keysweep_status::KEYSWEEP_ERROR_NULL_POINTER);
//!     let message = CStr::from_ptr(keysweep_last_error_message()).to_str().unwrap();
//!     assert_eq!(message, "keysweep_scan: `scanner` is NULL");
//!     keysweep_error_free(err);
//! }
//! # fn scanner_null() -> *const keysweep_scanner { std::ptr::null() }
//! ```
//!
//! # Ownership and lifetimes
//!
//! - Every handle (`keysweep_options`, `keysweep_scanner`, `keysweep_findings`,
//!   `keysweep_error`) is created by this library and freed by exactly one call to its own
//!   `*_free` function; passing `NULL` to a `*_free` function does nothing. Never free a handle
//!   with `free()`, never free it twice, never use it after freeing it.
//! - A `keysweep_finding` and every pointer in it (`rule_id`, `fingerprint`, `secret`) belong to
//!   the `keysweep_findings` it came from and stay valid until that is freed, even after the
//!   scanner is freed. Copy what you keep longer.
//! - `keysweep_error_message` is valid until the error is freed; `keysweep_last_error_message`
//!   until the next call into this library on the same thread.
//! - `keysweep_version`, `keysweep_confidence_name` and `keysweep_suppression_name` return
//!   static strings.
//! - Input buffers are only read during the call; the library keeps no pointer to them.
//!
//! # Threads
//!
//! A `keysweep_scanner` is immutable once built: any number of threads may call `keysweep_scan`
//! on the same scanner at the same time. Each scan borrows its own scratch space from a pool
//! inside the scanner (a lock is held only to take and return it, never while scanning), so
//! concurrent scans neither block each other nor share mutable state. Scans run on the calling
//! thread; the library starts no threads. `keysweep_options`, `keysweep_findings` and
//! `keysweep_error` are plain data: use each from one thread at a time (reading a
//! `keysweep_findings` from several threads is fine).
//!
//! # Errors
//!
//! Functions that can fail report it in three ways at once: their return value (`NULL` or a
//! `keysweep_status` other than `KEYSWEEP_OK`); an optional `keysweep_error **err` out-parameter,
//! set to a new error the caller frees (or to `NULL` on success); and a thread-local last-error
//! message, cleared at the start of each such call and set when it fails. Error messages name
//! what failed (for rule text, the origin, line, rule id and field) and never contain scanned
//! bytes. Every pointer argument is checked for `NULL` (a data pointer may be `NULL` when its
//! length is 0); text arguments must be UTF-8. A Rust panic never crosses the boundary: it is
//! caught and reported as `KEYSWEEP_ERROR_PANIC`.
//!
//! # ABI versioning
//!
//! `KEYSWEEP_ABI_VERSION` (in the header) and `keysweep_abi_version()` (in the library) must be
//! equal; check them once at start-up. The ABI version changes only when a change could break a
//! compiled caller: a function removed or its signature changed, a field of `keysweep_finding`
//! removed, moved or retyped, a value's meaning changed. These changes keep the ABI version:
//! new functions, new fields appended to the end of `keysweep_finding` (the library allocates
//! findings and hands out pointers to them, so callers never depend on its size), new values of
//! `keysweep_status`, `keysweep_confidence` and `keysweep_suppression` (handle unknown values),
//! new scan flags (an old library rejects unknown flags with `KEYSWEEP_ERROR_INVALID_ARGUMENT`
//! instead of ignoring them).
#![deny(missing_docs)]
#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Arc, Mutex};

use std::path::PathBuf;

use keysweep::{Confidence, RuleSet, Scanner, ScannerBuilder, Scratch, Suppression};
use keysweep_source::{
    ChangeScan, Collect, HistoryScan, Hit, ImageScan, Location, PathScan, Problem, Source,
};

/// The ABI version this header describes; compare with [`keysweep_abi_version`].
pub const KEYSWEEP_ABI_VERSION: u32 = 1;

/// Scan flag: fill in `secret` and `secret_len` of each finding. Without it they are `NULL`
/// and 0, and the secret bytes never leave the library.
pub const KEYSWEEP_SCAN_SECRETS: u32 = 1;

/// Scan flag for [`keysweep_scan_image`] and [`keysweep_scan_image_pull`]: when a registry
/// image is an index of several platforms, scan every platform (without it: the platform
/// asked for, else the host's). Other scans reject it.
pub const KEYSWEEP_IMAGE_ALL_PLATFORMS: u32 = 2;

/// Scan flag for [`keysweep_scan_repository`]: also scan the repositories of initialised
/// submodules, over the history the superproject records (findings have `submodule` and
/// `submodule_commit`), as `keysweep scan --git --recurse-submodules` does. Other scans reject
/// it.
pub const KEYSWEEP_SCAN_SUBMODULES: u32 = 4;

const KNOWN_SCAN_FLAGS: u32 = KEYSWEEP_SCAN_SECRETS;
const KNOWN_IMAGE_FLAGS: u32 = KEYSWEEP_SCAN_SECRETS | KEYSWEEP_IMAGE_ALL_PLATFORMS;

/// What a call returned.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum keysweep_status {
    /// Success.
    KEYSWEEP_OK = 0,
    /// A required pointer argument was `NULL`.
    KEYSWEEP_ERROR_NULL_POINTER = 1,
    /// An argument was invalid: text that is not UTF-8, an unknown flag.
    KEYSWEEP_ERROR_INVALID_ARGUMENT = 2,
    /// Rule text did not parse or validate, or a rule id is defined twice.
    KEYSWEEP_ERROR_RULES = 3,
    /// An allowlist pattern did not compile.
    KEYSWEEP_ERROR_PATTERN = 4,
    /// A bug: the library panicked. The handles passed to the call are still safe to free.
    KEYSWEEP_ERROR_PANIC = 5,
    /// A path or repository could not be scanned at all (it does not exist, is not a git
    /// repository, a revision does not resolve), or an image could not be pulled from its
    /// registry.
    KEYSWEEP_ERROR_IO = 6,
}

/// How sure a rule is that a match is a real secret.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum keysweep_confidence {
    /// A generic shape (an assignment to `password`, a URL with credentials).
    KEYSWEEP_CONFIDENCE_LOW = 0,
    /// A distinctive shape that needs context to tell it apart.
    KEYSWEEP_CONFIDENCE_MEDIUM = 1,
    /// A unique prefix or a verified checksum.
    KEYSWEEP_CONFIDENCE_HIGH = 2,
}

/// Why a finding is suppressed. Only scanners built with
/// [`keysweep_options_set_keep_suppressed`] return suppressed findings.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum keysweep_suppression {
    /// Not suppressed: a finding to report.
    KEYSWEEP_SUPPRESSION_NONE = 0,
    /// The value looks like a placeholder or documentation example.
    KEYSWEEP_SUPPRESSION_PLACEHOLDER = 1,
    /// The value matches an allowlist pattern ([`keysweep_options_add_allow_value`]).
    KEYSWEEP_SUPPRESSION_ALLOWLIST = 2,
    /// A `keysweep:allow` comment on the finding's line or the line above.
    KEYSWEEP_SUPPRESSION_INLINE = 3,
    /// The fingerprint is in the baseline ([`keysweep_options_add_baseline`]).
    KEYSWEEP_SUPPRESSION_BASELINE = 4,
    /// Suppressed for a reason this version of the ABI has no value for.
    KEYSWEEP_SUPPRESSION_OTHER = 255,
}

/// Where a finding came from.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum keysweep_source_kind {
    /// A buffer passed to [`keysweep_scan`] (`path` is `NULL`).
    KEYSWEEP_SOURCE_BUFFER = 0,
    /// A file ([`keysweep_scan_path`]); for an archive entry, `path` is `archive!/entry`.
    KEYSWEEP_SOURCE_FILE = 1,
    /// A blob of a repository's history ([`keysweep_scan_repository`]).
    KEYSWEEP_SOURCE_HISTORY = 2,
    /// A staged change ([`keysweep_scan_staged`]).
    KEYSWEEP_SOURCE_CHANGE = 3,
    /// A file in a layer of a container image, or a field of its configuration or manifest
    /// ([`keysweep_scan_image`]; appended in 0.3, same ABI version).
    KEYSWEEP_SOURCE_IMAGE = 4,
}

/// Result of a rule's structural check (a checksum, a key's structure).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum keysweep_check {
    /// The rule has no structural check.
    KEYSWEEP_CHECK_NONE = 0,
    /// The check passed.
    KEYSWEEP_CHECK_PASSED = 1,
    /// The check failed (the finding's confidence is then low).
    KEYSWEEP_CHECK_FAILED = 2,
}

/// One finding. Owned by the `keysweep_findings` it came from: valid until that is freed.
/// Fields may be appended in later versions with the same ABI version.
#[repr(C)]
#[derive(Debug)]
pub struct keysweep_finding {
    /// The rule's id, NUL-terminated (`"github.pat.classic"`).
    pub rule_id: *const c_char,
    /// Byte offset of the secret's first byte in the scanned buffer.
    pub start: usize,
    /// Byte offset just past the secret's last byte.
    pub end: usize,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// 1-based column, in bytes, of the secret's first byte.
    pub column: usize,
    /// 1-based line of the credential's last byte (the secret's, or a part's after it).
    pub end_line: usize,
    /// 1-based column just past the credential's last byte, on `end_line`.
    pub end_column: usize,
    /// The secret's fingerprint: 32 lowercase hex digits, NUL-terminated. The same secret has
    /// the same fingerprint everywhere (under the same fingerprint key).
    pub fingerprint: *const c_char,
    /// The rule's confidence, lowered to low when the structural check fails.
    pub confidence: keysweep_confidence,
    /// Why the finding is suppressed, or `KEYSWEEP_SUPPRESSION_NONE`.
    pub suppressed: keysweep_suppression,
    /// The structural check's result.
    pub check: keysweep_check,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f64,
    /// The secret's bytes (not NUL-terminated), or `NULL` unless the scan was asked for them
    /// with `KEYSWEEP_SCAN_SECRETS`. Never log them.
    pub secret: *const u8,
    /// Length of `secret`, 0 when it is `NULL`.
    pub secret_len: usize,
    /// The decoding layers the secret was found behind, outermost first, comma-separated and
    /// NUL-terminated (`"base64"`, `"base64,escape"`), or `NULL` for a secret as written. For
    /// a decoded secret, `start`..`end` is the encoded text in the buffer.
    pub decoded: *const c_char,
    /// Where the finding came from (appended in 0.2, same ABI version).
    pub source: keysweep_source_kind,
    /// The file (relative to the scanned directory as given, or the path in the commit for
    /// history), NUL-terminated; `NULL` for a buffer scan or a blob no ref reaches.
    pub path: *const c_char,
    /// The repository's id (origin URL without credentials, or its local root) when the file
    /// is in one, else `NULL`.
    pub repository: *const c_char,
    /// For history: the blob's object id (hex), else `NULL`.
    pub blob: *const c_char,
    /// For history: the commit that introduced the blob (hex), else `NULL`.
    pub commit: *const c_char,
    /// For history: that commit's author, `Name <email>`, else `NULL`.
    pub author: *const c_char,
    /// For history: that commit's author date, ISO 8601, else `NULL`.
    pub date: *const c_char,
    /// For history: the same secret is still in `HEAD`'s tree. For an image: no later layer
    /// deletes the file. True for files and changes.
    pub present_at_head: bool,
    /// For an image (the fields from here on were appended in 0.3, same ABI version): the
    /// image as named to the scan, NUL-terminated, else `NULL`.
    pub image: *const c_char,
    /// For an image: its tags, comma-separated (`"example/app:1,example/app:latest"`), or
    /// `NULL` when it has none.
    pub image_tags: *const c_char,
    /// For an image: `"layer"` (a file in a layer: `path` is its path there), `"config"` or
    /// `"manifest"`, else `NULL`.
    pub image_part: *const c_char,
    /// For a field of an image's configuration or manifest: the field (`"config.Env[0]"`),
    /// else `NULL`.
    pub image_field: *const c_char,
    /// For a file in an image layer: the layer's digest (`"sha256:..."`), else `NULL`.
    pub layer_digest: *const c_char,
    /// For a file in an image layer: the layer's position, from 1 (the base) up; else 0.
    pub layer_index: usize,
    /// For a file in an image layer: how many layers the image has; else 0.
    pub layer_count: usize,
    /// For a file in an image layer that a later layer deletes (a whiteout): that layer's
    /// position (the file is still in the image for anyone who pulls it); else 0.
    pub removed_in: usize,
    /// For a finding in a submodule's history (`KEYSWEEP_SCAN_SUBMODULES`; appended after the
    /// image fields, same ABI version): the submodule's path in the scanned repository
    /// (`"vendor/lib"`; `path` is the file's path in the scanned repository), else `NULL`.
    pub submodule: *const c_char,
    /// For a finding in a submodule's history: the commit of the submodule the superproject
    /// records that reaches it (hex), else `NULL`.
    pub submodule_commit: *const c_char,
}

/// Scanner configuration, built up by the `keysweep_options_*` functions and read by
/// [`keysweep_scanner_new`].
pub struct keysweep_options {
    builtin: bool,
    extra: RuleSet,
    builder: ScannerBuilder,
    threads: usize,
    max_file_size: u64,
}

/// A compiled scanner: immutable, shareable by threads.
pub struct keysweep_scanner {
    scanner: Scanner,
    /// Worker threads of path and repository scans (0: one per core).
    threads: usize,
    /// Files (and blobs) larger than this are skipped by path and repository scans.
    max_file_size: u64,
    /// Each rule id as a C string, indexed by rule index; findings share it.
    rule_ids: Arc<[CString]>,
    /// Scratch space of finished scans, reused by the next ones.
    scratch: Mutex<Vec<Scratch>>,
}

/// The findings of one scan, ordered by position.
pub struct keysweep_findings {
    items: Vec<keysweep_finding>,
    // What the pointers in `items` point into. Heap buffers: they do not move with this struct.
    _rule_ids: Arc<[CString]>,
    _fingerprints: Box<[u8]>,
    _secrets: Box<[u8]>,
    _strings: Vec<CString>,
    /// Problems of a path or repository scan (files that could not be read, ...).
    problems: Vec<CString>,
}

/// A failure: a status code and a message.
pub struct keysweep_error {
    code: keysweep_status,
    message: CString,
}

// SAFETY: the raw pointers in `items` point into the heap buffers owned by the same struct,
// which are never written after construction; sharing or sending them is sharing or sending
// immutable data.
unsafe impl Send for keysweep_findings {}
// SAFETY: as above: nothing in a `keysweep_findings` is mutated after it is built.
unsafe impl Sync for keysweep_findings {}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

struct Failure {
    code: keysweep_status,
    message: String,
}

impl Failure {
    fn new(code: keysweep_status, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    fn null(function: &str, argument: &str) -> Failure {
        Failure::new(
            keysweep_status::KEYSWEEP_ERROR_NULL_POINTER,
            format!("{function}: `{argument}` is NULL"),
        )
    }
}

fn c_string(message: String) -> CString {
    // Messages come from this library; a NUL in one (from a rule file, say) must not make the
    // error itself fail.
    CString::new(message.replace('\0', "\\0")).unwrap_or_default()
}

/// Runs `body` with the error protocol: clears the thread's last error, catches panics, and on
/// failure records the last error, fills `err` and returns `failed(code)`.
fn guard<T>(
    err: *mut *mut keysweep_error,
    failed: impl FnOnce(keysweep_status) -> T,
    body: impl FnOnce() -> Result<T, Failure>,
) -> T {
    LAST_ERROR.with(|e| e.borrow_mut().take());
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => {
            if !err.is_null() {
                // SAFETY: the caller passes either NULL (checked) or a pointer to a writable
                // `keysweep_error *`, as the header documents.
                unsafe { *err = ptr::null_mut() };
            }
            return value;
        }
        Ok(Err(failure)) => failure,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Failure::new(
                keysweep_status::KEYSWEEP_ERROR_PANIC,
                format!("internal error (a bug in keysweep, please report it): {what}"),
            )
        }
    };
    let code = failure.code;
    let message = c_string(failure.message);
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(message.clone()));
    if !err.is_null() {
        let boxed = Box::new(keysweep_error { code, message });
        // SAFETY: as above.
        unsafe { *err = Box::into_raw(boxed) };
    }
    failed(code)
}

/// [`guard`] for calls that return only a status.
fn status_guard(
    err: *mut *mut keysweep_error,
    body: impl FnOnce() -> Result<(), Failure>,
) -> keysweep_status {
    guard(
        err,
        |code| code,
        || body().map(|()| keysweep_status::KEYSWEEP_OK),
    )
}

fn status(body: impl FnOnce() -> Result<(), Failure>) -> keysweep_status {
    status_guard(ptr::null_mut(), body)
}

/// Borrows `len` bytes at `data`; `data` may be NULL only when `len` is 0.
///
/// # Safety
/// `data` must point to `len` readable bytes that stay valid and unchanged for `'a`.
unsafe fn bytes<'a>(
    function: &str,
    argument: &str,
    data: *const u8,
    len: usize,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Failure::null(function, argument));
    }
    if len > isize::MAX as usize {
        return Err(Failure::new(
            keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT,
            format!("{function}: `{argument}` length {len} is too large"),
        ));
    }
    // SAFETY: non-null, at most isize::MAX bytes, and readable for `'a` per this function's
    // contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Like [`bytes`], and the bytes must be UTF-8.
///
/// # Safety
/// As [`bytes`].
unsafe fn text<'a>(
    function: &str,
    argument: &str,
    data: *const c_char,
    len: usize,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let raw = unsafe { bytes(function, argument, data.cast(), len)? };
    std::str::from_utf8(raw).map_err(|e| {
        Failure::new(
            keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT,
            format!(
                "{function}: `{argument}` is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// The library's version, such as `"0.1.0"`: a static string, never freed.
#[no_mangle]
pub extern "C" fn keysweep_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version contains a NUL"),
        };
    VERSION.as_ptr()
}

/// The library's ABI version; equal to `KEYSWEEP_ABI_VERSION` when the header matches it.
#[no_mangle]
pub extern "C" fn keysweep_abi_version() -> u32 {
    KEYSWEEP_ABI_VERSION
}

/// The last error message of a failed call on this thread, or `NULL` if the last call that can
/// fail succeeded. Valid until the next call into this library on this thread; copy it to keep it.
#[no_mangle]
pub extern "C" fn keysweep_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(ptr::null(), |m| m.as_ptr()))
}

/// The status code of an error (`KEYSWEEP_ERROR_NULL_POINTER` if `err` is `NULL`).
///
/// # Safety
/// `err` is `NULL` or an error from this library that was not freed.
#[no_mangle]
pub unsafe extern "C" fn keysweep_error_code(err: *const keysweep_error) -> keysweep_status {
    // SAFETY: per the contract, non-null means a live error.
    match unsafe { err.as_ref() } {
        Some(e) => e.code,
        None => keysweep_status::KEYSWEEP_ERROR_NULL_POINTER,
    }
}

/// The error's message, NUL-terminated; valid until the error is freed. `NULL` if `err` is
/// `NULL`.
///
/// # Safety
/// `err` is `NULL` or an error from this library that was not freed.
#[no_mangle]
pub unsafe extern "C" fn keysweep_error_message(err: *const keysweep_error) -> *const c_char {
    // SAFETY: per the contract, non-null means a live error.
    match unsafe { err.as_ref() } {
        Some(e) => e.message.as_ptr(),
        None => ptr::null(),
    }
}

/// Frees an error. `NULL` does nothing.
///
/// # Safety
/// `err` is `NULL` or an error from this library that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn keysweep_error_free(err: *mut keysweep_error) {
    if !err.is_null() {
        // SAFETY: created by Box::into_raw in `guard`, freed once per the contract.
        drop(unsafe { Box::from_raw(err) });
    }
}

/// New options: the built-in rules, no extra rules, unkeyed fingerprints, suppressed findings
/// dropped, `keysweep:allow` comments honoured. Free with [`keysweep_options_free`]. Returns
/// `NULL` only on an internal error.
#[no_mangle]
pub extern "C" fn keysweep_options_new() -> *mut keysweep_options {
    guard(
        ptr::null_mut(),
        |_| ptr::null_mut(),
        || {
            Ok(Box::into_raw(Box::new(keysweep_options {
                builtin: true,
                extra: RuleSet::empty(),
                builder: ScannerBuilder::new(),
                threads: 1,
                max_file_size: keysweep_source::DEFAULT_MAX_FILE_SIZE,
            })))
        },
    )
}

/// Frees options. `NULL` does nothing. A scanner built from them does not need them.
///
/// # Safety
/// `options` is `NULL` or options from [`keysweep_options_new`] not freed yet.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_free(options: *mut keysweep_options) {
    if !options.is_null() {
        // SAFETY: created by Box::into_raw in `keysweep_options_new`, freed once.
        drop(unsafe { Box::from_raw(options) });
    }
}

impl keysweep_options {
    /// Applies one builder setting (the builder is taken by value: no copy of its lists).
    fn configure(&mut self, set: impl FnOnce(ScannerBuilder) -> ScannerBuilder) {
        self.builder = set(std::mem::take(&mut self.builder));
    }
}

/// Borrows options mutably, or fails on NULL.
///
/// # Safety
/// `options` is `NULL` or live options used by one thread.
unsafe fn options_mut<'a>(
    function: &str,
    options: *mut keysweep_options,
) -> Result<&'a mut keysweep_options, Failure> {
    // SAFETY: per the contract.
    unsafe { options.as_mut() }.ok_or_else(|| Failure::null(function, "options"))
}

/// Whether to start from the built-in rules (the default) or from the extra rules alone.
///
/// # Safety
/// `options` is live options from [`keysweep_options_new`].
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_set_builtin_rules(
    options: *mut keysweep_options,
    enabled: bool,
) -> keysweep_status {
    status(|| {
        // SAFETY: forwarded contract.
        unsafe { options_mut("keysweep_options_set_builtin_rules", options)? }.builtin = enabled;
        Ok(())
    })
}

/// Adds the rules of a TOML rule file (the format of keysweep's `rules/*.toml`), given as
/// `len` bytes of UTF-8 at `toml` (no NUL needed). `origin` (NUL-terminated, may be `NULL`)
/// names the text in error messages, usually its path. The text is parsed and validated now;
/// on failure nothing is added and the error names origin, line, rule id and field. A rule id
/// that is also a built-in rule's makes [`keysweep_scanner_new`] fail.
///
/// # Safety
/// `options` is live options; `toml` points to `len` readable bytes; `origin` is `NULL` or a
/// NUL-terminated string; `err` is `NULL` or points to a writable `keysweep_error *`.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_add_rules(
    options: *mut keysweep_options,
    toml: *const c_char,
    len: usize,
    origin: *const c_char,
    err: *mut *mut keysweep_error,
) -> keysweep_status {
    const F: &str = "keysweep_options_add_rules";
    status_guard(err, || {
        // SAFETY: forwarded contract.
        let options = unsafe { options_mut(F, options)? };
        // SAFETY: forwarded contract.
        let src = unsafe { text(F, "toml", toml, len)? };
        let origin = if origin.is_null() {
            "<rules>".to_string()
        } else {
            // SAFETY: non-null and NUL-terminated per the contract.
            unsafe { CStr::from_ptr(origin) }
                .to_string_lossy()
                .into_owned()
        };
        let parsed = RuleSet::from_toml(src, &origin)
            .map_err(|e| Failure::new(keysweep_status::KEYSWEEP_ERROR_RULES, e.to_string()))?;
        let mut merged = options.extra.clone();
        merged
            .extend(parsed)
            .map_err(|e| Failure::new(keysweep_status::KEYSWEEP_ERROR_RULES, e.to_string()))?;
        options.extra = merged;
        Ok(())
    })
}

/// Keys fingerprints with HMAC-SHA-256 under these `len` bytes, so that they cannot be checked
/// against guessed secrets without the key. The CLI's `KEYSWEEP_FINGERPRINT_KEY` does the same.
///
/// # Safety
/// `options` is live options; `key` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_set_fingerprint_key(
    options: *mut keysweep_options,
    key: *const u8,
    len: usize,
) -> keysweep_status {
    const F: &str = "keysweep_options_set_fingerprint_key";
    status(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { options_mut(F, options)? };
        // SAFETY: forwarded contract.
        let key = unsafe { bytes(F, "key", key, len)? }.to_vec();
        options.configure(|b| b.fingerprint_key(key));
        Ok(())
    })
}

/// Whether to return suppressed findings too, labelled in `suppressed` (off by default).
///
/// # Safety
/// `options` is live options.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_set_keep_suppressed(
    options: *mut keysweep_options,
    enabled: bool,
) -> keysweep_status {
    status(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { options_mut("keysweep_options_set_keep_suppressed", options)? };
        options.configure(|b| b.keep_suppressed(enabled));
        Ok(())
    })
}

/// Whether `keysweep:allow` comments suppress findings (on by default).
///
/// # Safety
/// `options` is live options.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_set_inline_allow(
    options: *mut keysweep_options,
    enabled: bool,
) -> keysweep_status {
    status(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { options_mut("keysweep_options_set_inline_allow", options)? };
        options.configure(|b| b.inline_allow(enabled));
        Ok(())
    })
}

/// How many encoding layers to see through (base64, hex, percent-encoding, escapes, JSON
/// strings, UTF-16; base64 inside a JSON string is two). 0 scans only the bytes as written.
/// Default 2.
///
/// # Safety
/// `options` is live options.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_set_decode_depth(
    options: *mut keysweep_options,
    depth: u32,
) -> keysweep_status {
    status(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { options_mut("keysweep_options_set_decode_depth", options)? };
        options.configure(|b| b.decode_depth(depth as usize));
        Ok(())
    })
}

/// Reports only findings with at least this confidence (default: every finding). A value
/// this version does not know is `KEYSWEEP_ERROR_INVALID_ARGUMENT`.
///
/// # Safety
/// `options` is live options.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_set_min_confidence(
    options: *mut keysweep_options,
    confidence: u32,
) -> keysweep_status {
    const F: &str = "keysweep_options_set_min_confidence";
    status(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { options_mut(F, options)? };
        use keysweep_confidence::*;
        let min = match confidence {
            c if c == KEYSWEEP_CONFIDENCE_LOW as u32 => Confidence::Low,
            c if c == KEYSWEEP_CONFIDENCE_MEDIUM as u32 => Confidence::Medium,
            c if c == KEYSWEEP_CONFIDENCE_HIGH as u32 => Confidence::High,
            other => {
                return Err(Failure::new(
                    keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT,
                    format!("{F}: {other} is not a keysweep_confidence"),
                ))
            }
        };
        options.configure(|b| b.min_confidence(min));
        Ok(())
    })
}

/// Worker threads of [`keysweep_scan_path`] and [`keysweep_scan_repository`] (default 1; 0
/// means one per core). Buffer scans always run on the calling thread alone.
///
/// # Safety
/// `options` is live options.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_set_threads(
    options: *mut keysweep_options,
    threads: u32,
) -> keysweep_status {
    status(|| {
        // SAFETY: forwarded contract.
        unsafe { options_mut("keysweep_options_set_threads", options)? }.threads = threads as usize;
        Ok(())
    })
}

/// Files and blobs larger than this many bytes are skipped by path and repository scans
/// (default 256 MiB).
///
/// # Safety
/// `options` is live options.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_set_max_file_size(
    options: *mut keysweep_options,
    bytes: u64,
) -> keysweep_status {
    status(|| {
        // SAFETY: forwarded contract.
        unsafe { options_mut("keysweep_options_set_max_file_size", options)? }.max_file_size =
            bytes;
        Ok(())
    })
}

/// Suppresses findings whose secret matches this regex (`len` bytes of UTF-8; unanchored, use
/// `^` and `$` for whole values). A pattern that does not compile makes
/// [`keysweep_scanner_new`] fail with `KEYSWEEP_ERROR_PATTERN`.
///
/// # Safety
/// `options` is live options; `regex` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_add_allow_value(
    options: *mut keysweep_options,
    regex: *const c_char,
    len: usize,
) -> keysweep_status {
    const F: &str = "keysweep_options_add_allow_value";
    status(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { options_mut(F, options)? };
        // SAFETY: forwarded contract.
        let pattern = unsafe { text(F, "regex", regex, len)? };
        options.configure(|b| b.allow_values([pattern]));
        Ok(())
    })
}

/// Suppresses findings with this fingerprint (32 hex digits, NUL-terminated), as a baseline
/// of triaged findings does. The fingerprint must come from a scanner with the same key.
///
/// # Safety
/// `options` is live options; `fingerprint` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn keysweep_options_add_baseline(
    options: *mut keysweep_options,
    fingerprint: *const c_char,
) -> keysweep_status {
    const F: &str = "keysweep_options_add_baseline";
    status(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { options_mut(F, options)? };
        if fingerprint.is_null() {
            return Err(Failure::null(F, "fingerprint"));
        }
        // SAFETY: non-null and NUL-terminated per the contract.
        let hex = unsafe { CStr::from_ptr(fingerprint) };
        let parsed = hex
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                Failure::new(
                    keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT,
                    format!("{F}: `fingerprint` is not 32 hex digits"),
                )
            })?;
        options.configure(|b| b.baseline([parsed]));
        Ok(())
    })
}

/// Builds a scanner from `options`, or from the defaults (built-in rules) when `options` is
/// `NULL`. Returns `NULL` on failure (duplicate rule ids, an allowlist pattern that does not
/// compile, no rules at all). Free with [`keysweep_scanner_free`]; the options can be freed
/// or reused at once.
///
/// Building is cheap (the built-in rules are parsed; the keyword automaton and each rule's
/// regex are compiled on first use), so the first scan takes a few milliseconds longer.
///
/// # Safety
/// `options` is `NULL` or live options; `err` is `NULL` or points to a writable
/// `keysweep_error *`.
#[no_mangle]
pub unsafe extern "C" fn keysweep_scanner_new(
    options: *const keysweep_options,
    err: *mut *mut keysweep_error,
) -> *mut keysweep_scanner {
    guard(
        err,
        |_| ptr::null_mut(),
        || {
            // SAFETY: per the contract, non-null means live options.
            let options = unsafe { options.as_ref() };
            let (builtin, extra, builder, threads, max_file_size) = match options {
                Some(o) => (
                    o.builtin,
                    o.extra.clone(),
                    o.builder.clone(),
                    o.threads,
                    o.max_file_size,
                ),
                None => (
                    true,
                    RuleSet::empty(),
                    ScannerBuilder::new(),
                    1,
                    keysweep_source::DEFAULT_MAX_FILE_SIZE,
                ),
            };
            let mut rules = if builtin {
                RuleSet::builtin()
            } else {
                RuleSet::empty()
            };
            rules
                .extend(extra)
                .map_err(|e| Failure::new(keysweep_status::KEYSWEEP_ERROR_RULES, e.to_string()))?;
            if rules.is_empty() {
                return Err(Failure::new(
                    keysweep_status::KEYSWEEP_ERROR_RULES,
                    "keysweep_scanner_new: no rules (built-in rules off and no rules added)",
                ));
            }
            let scanner = builder.build(rules).map_err(|e| {
                Failure::new(keysweep_status::KEYSWEEP_ERROR_PATTERN, e.to_string())
            })?;
            let rule_ids = scanner
                .rules()
                .iter()
                .map(|r| c_string(r.id.to_string()))
                .collect();
            Ok(Box::into_raw(Box::new(keysweep_scanner {
                scanner,
                threads,
                max_file_size,
                rule_ids,
                scratch: Mutex::new(Vec::new()),
            })))
        },
    )
}

/// Frees a scanner. `NULL` does nothing. Findings from it stay valid.
///
/// # Safety
/// `scanner` is `NULL` or a scanner not freed yet, and no other thread is using it.
#[no_mangle]
pub unsafe extern "C" fn keysweep_scanner_free(scanner: *mut keysweep_scanner) {
    if !scanner.is_null() {
        // SAFETY: created by Box::into_raw in `keysweep_scanner_new`, freed once.
        drop(unsafe { Box::from_raw(scanner) });
    }
}

/// The number of rules in the scanner (0 if `scanner` is `NULL`).
///
/// # Safety
/// `scanner` is `NULL` or a live scanner.
#[no_mangle]
pub unsafe extern "C" fn keysweep_scanner_rule_count(scanner: *const keysweep_scanner) -> usize {
    // SAFETY: per the contract.
    unsafe { scanner.as_ref() }.map_or(0, |s| s.scanner.rules().len())
}

/// Scans `len` bytes at `data` (any bytes: text in any encoding, binary). `flags` is 0 or
/// `KEYSWEEP_SCAN_SECRETS`. Returns the findings, possibly none, or `NULL` on failure. Free
/// with [`keysweep_findings_free`]. Thread-safe: see the crate documentation.
///
/// # Safety
/// `scanner` is a live scanner; `data` points to `len` readable bytes not modified during the
/// call (`NULL` allowed when `len` is 0); `err` is `NULL` or points to a writable
/// `keysweep_error *`.
#[no_mangle]
pub unsafe extern "C" fn keysweep_scan(
    scanner: *const keysweep_scanner,
    data: *const u8,
    len: usize,
    flags: u32,
    err: *mut *mut keysweep_error,
) -> *mut keysweep_findings {
    const F: &str = "keysweep_scan";
    guard(
        err,
        |_| ptr::null_mut(),
        || {
            // SAFETY: per the contract, non-null means a live scanner.
            let handle = unsafe { scanner.as_ref() }.ok_or_else(|| Failure::null(F, "scanner"))?;
            // SAFETY: forwarded contract.
            let haystack = unsafe { bytes(F, "data", data, len)? };
            if flags & !KNOWN_SCAN_FLAGS != 0 {
                return Err(Failure::new(
                    keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT,
                    format!("{F}: unknown flags {:#x}", flags & !KNOWN_SCAN_FLAGS),
                ));
            }
            let taken = lock(&handle.scratch).pop();
            let mut scratch = taken.unwrap_or_else(|| handle.scanner.scratch());
            let found = handle.scanner.scan(&mut scratch, haystack);
            lock(&handle.scratch).push(scratch);
            let hits: Vec<Hit> = found
                .into_iter()
                .map(|finding| Hit {
                    finding,
                    location: Location::stdin(),
                })
                .collect();
            let findings = package(
                &hits,
                Vec::new(),
                &handle.rule_ids,
                flags & KEYSWEEP_SCAN_SECRETS != 0,
                false,
            );
            Ok(Box::into_raw(Box::new(findings)))
        },
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The pool holds no invariant a panic could break: take it even if poisoned.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const FINGERPRINT_LEN: usize = 33;

/// Copies hits into C structs. `located`: the hits come from files or repositories (buffer
/// scans have no location).
fn package(
    found: &[Hit],
    problems: Vec<Problem>,
    rule_ids: &Arc<[CString]>,
    secrets: bool,
    located: bool,
) -> keysweep_findings {
    let mut fingerprints = Vec::with_capacity(found.len() * FINGERPRINT_LEN);
    for h in found {
        fingerprints.extend_from_slice(h.finding.fingerprint.to_string().as_bytes());
        fingerprints.push(0);
    }
    let fingerprints = fingerprints.into_boxed_slice();
    let secret_bytes: Box<[u8]> = if secrets {
        found
            .iter()
            .flat_map(|h| h.finding.secret.iter().copied())
            .collect()
    } else {
        Box::default()
    };
    // Every other string of every finding; a CString's buffer does not move with the Vec.
    let mut strings: Vec<CString> = Vec::new();
    let mut keep = |s: Option<String>| -> *const c_char {
        match s {
            Some(s) => {
                strings.push(c_string(s));
                strings.last().map_or(ptr::null(), |c| c.as_ptr())
            }
            None => ptr::null(),
        }
    };
    let mut offset = 0;
    let mut items = Vec::with_capacity(found.len());
    for (i, h) in found.iter().enumerate() {
        let f = &h.finding;
        let loc = &h.location;
        let (secret, secret_len) = if secrets {
            let start = offset;
            offset += f.secret.len();
            (secret_bytes[start..offset].as_ptr(), f.secret.len())
        } else {
            (ptr::null(), 0)
        };
        let decoded = (!f.decoded.is_empty()).then(|| {
            let names: Vec<&str> = f.decoded.iter().map(|e| e.as_str()).collect();
            names.join(",")
        });
        let (source, blob, commit, author, date) = match &loc.source {
            _ if !located => (
                keysweep_source_kind::KEYSWEEP_SOURCE_BUFFER,
                None,
                None,
                None,
                None,
            ),
            Source::History { git } => (
                keysweep_source_kind::KEYSWEEP_SOURCE_HISTORY,
                Some(git.blob.clone()),
                git.commit.as_ref().map(|c| c.id.clone()),
                git.commit
                    .as_ref()
                    .map(|c| format!("{} <{}>", c.author_name, c.author_email)),
                git.commit.as_ref().map(|c| c.date.to_string()),
            ),
            Source::Change { git } => (
                keysweep_source_kind::KEYSWEEP_SOURCE_CHANGE,
                git.blob.clone(),
                None,
                None,
                None,
            ),
            Source::Image { .. } => (
                keysweep_source_kind::KEYSWEEP_SOURCE_IMAGE,
                None,
                None,
                None,
                None,
            ),
            _ => (
                keysweep_source_kind::KEYSWEEP_SOURCE_FILE,
                None,
                None,
                None,
                None,
            ),
        };
        let image = match &loc.source {
            Source::Image { image } if located => Some(image),
            _ => None,
        };
        let layer = image.and_then(|i| i.layer.as_ref());
        items.push(keysweep_finding {
            rule_id: rule_ids[f.rule_index].as_ptr(),
            start: f.range.start,
            end: f.range.end,
            line: f.line,
            column: f.column,
            end_line: f.end_line,
            end_column: f.end_column,
            fingerprint: fingerprints[i * FINGERPRINT_LEN..].as_ptr().cast(),
            confidence: match f.confidence {
                Confidence::Low => keysweep_confidence::KEYSWEEP_CONFIDENCE_LOW,
                Confidence::Medium => keysweep_confidence::KEYSWEEP_CONFIDENCE_MEDIUM,
                Confidence::High => keysweep_confidence::KEYSWEEP_CONFIDENCE_HIGH,
            },
            suppressed: match f.suppressed {
                None => keysweep_suppression::KEYSWEEP_SUPPRESSION_NONE,
                Some(Suppression::Placeholder) => {
                    keysweep_suppression::KEYSWEEP_SUPPRESSION_PLACEHOLDER
                }
                Some(Suppression::Allowlist) => {
                    keysweep_suppression::KEYSWEEP_SUPPRESSION_ALLOWLIST
                }
                Some(Suppression::Inline) => keysweep_suppression::KEYSWEEP_SUPPRESSION_INLINE,
                Some(Suppression::Baseline) => keysweep_suppression::KEYSWEEP_SUPPRESSION_BASELINE,
                Some(_) => keysweep_suppression::KEYSWEEP_SUPPRESSION_OTHER,
            },
            check: match f.check_passed {
                None => keysweep_check::KEYSWEEP_CHECK_NONE,
                Some(true) => keysweep_check::KEYSWEEP_CHECK_PASSED,
                Some(false) => keysweep_check::KEYSWEEP_CHECK_FAILED,
            },
            entropy: f.entropy,
            secret,
            secret_len,
            decoded: keep(decoded),
            source,
            path: keep(if located { loc.path.clone() } else { None }),
            repository: keep(loc.repository.as_ref().map(|r| r.id.clone())),
            blob: keep(blob),
            commit: keep(commit),
            author: keep(author),
            date: keep(date),
            present_at_head: loc.present_at_head(),
            image: keep(image.map(|i| i.name.clone())),
            image_tags: keep(
                image
                    .filter(|i| !i.tags.is_empty())
                    .map(|i| i.tags.join(",")),
            ),
            image_part: keep(image.map(|i| i.part.as_str().to_owned())),
            image_field: keep(image.and_then(|i| i.field.clone())),
            layer_digest: keep(layer.map(|l| l.digest.clone())),
            layer_index: layer.map_or(0, |l| l.index),
            layer_count: layer.map_or(0, |l| l.count),
            removed_in: layer.and_then(|l| l.removed_in).unwrap_or(0),
            submodule: keep(loc.submodule.as_ref().map(|s| s.path.clone())),
            submodule_commit: keep(loc.submodule.as_ref().and_then(|s| s.commit.clone())),
        });
    }
    keysweep_findings {
        items,
        _rule_ids: Arc::clone(rule_ids),
        _fingerprints: fingerprints,
        _secrets: secret_bytes,
        _strings: strings,
        problems: problems.iter().map(|p| c_string(p.to_string())).collect(),
    }
}

/// Reads a NUL-terminated UTF-8 path argument.
///
/// # Safety
/// `path` is `NULL` or a NUL-terminated string.
unsafe fn path_arg(
    function: &str,
    argument: &str,
    path: *const c_char,
) -> Result<PathBuf, Failure> {
    if path.is_null() {
        return Err(Failure::null(function, argument));
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    let raw = unsafe { CStr::from_ptr(path) };
    let s = raw.to_str().map_err(|_| {
        Failure::new(
            keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT,
            format!("{function}: `{argument}` is not UTF-8"),
        )
    })?;
    Ok(PathBuf::from(s))
}

/// Runs a path or repository job for a scanner handle: checks the flags, collects hits and
/// problems, sorts the hits, packages them.
fn run_job(
    function: &str,
    handle: &keysweep_scanner,
    flags: u32,
    job: impl FnOnce(&Collect) -> Result<(), keysweep_source::Error>,
) -> Result<*mut keysweep_findings, Failure> {
    run_job_flags(function, handle, flags, KNOWN_SCAN_FLAGS, job)
}

/// [`run_job`] for a function that knows the flags `known`.
fn run_job_flags<E: std::fmt::Display>(
    function: &str,
    handle: &keysweep_scanner,
    flags: u32,
    known: u32,
    job: impl FnOnce(&Collect) -> Result<(), E>,
) -> Result<*mut keysweep_findings, Failure> {
    if flags & !known != 0 {
        return Err(Failure::new(
            keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT,
            format!("{function}: unknown flags {:#x}", flags & !known),
        ));
    }
    let sink = Collect::default();
    job(&sink).map_err(|e| {
        Failure::new(
            keysweep_status::KEYSWEEP_ERROR_IO,
            format!("{function}: {e}"),
        )
    })?;
    let (mut hits, problems) = sink.into_parts();
    hits.sort_by(|a, b| {
        (
            a.location.display(),
            a.finding.range.start,
            a.finding.rule_index,
        )
            .cmp(&(
                b.location.display(),
                b.finding.range.start,
                b.finding.rule_index,
            ))
    });
    let findings = package(
        &hits,
        problems,
        &handle.rule_ids,
        flags & KEYSWEEP_SCAN_SECRETS != 0,
        true,
    );
    Ok(Box::into_raw(Box::new(findings)))
}

impl keysweep_scanner {
    fn threads(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads
        }
    }
}

/// Scans a file or a directory (recursively, honouring `.gitignore`, opening archives), the
/// path NUL-terminated UTF-8. Files that cannot be read do not fail the scan: they are listed
/// by [`keysweep_findings_problem_count`] and [`keysweep_findings_problem`]. Fails (`NULL`)
/// when the path does not exist. Each finding has its `path` (and `repository`).
///
/// # Safety
/// `scanner` is a live scanner; `path` is a NUL-terminated string; `err` is `NULL` or points
/// to a writable `keysweep_error *`.
#[no_mangle]
pub unsafe extern "C" fn keysweep_scan_path(
    scanner: *const keysweep_scanner,
    path: *const c_char,
    flags: u32,
    err: *mut *mut keysweep_error,
) -> *mut keysweep_findings {
    const F: &str = "keysweep_scan_path";
    guard(
        err,
        |_| ptr::null_mut(),
        || {
            // SAFETY: per the contract, non-null means a live scanner.
            let handle = unsafe { scanner.as_ref() }.ok_or_else(|| Failure::null(F, "scanner"))?;
            // SAFETY: forwarded contract.
            let path = unsafe { path_arg(F, "path", path)? };
            let scan = PathScan::new(handle.scanner.clone())
                .threads(handle.threads())
                .max_file_size(handle.max_file_size);
            run_job(F, handle, flags, |sink| scan.run(&[&path], sink).map(drop))
        },
    )
}

/// Scans a git repository's history (a working tree, `.git` directory or bare repository):
/// every blob reachable from any ref, once. `since` is `NULL` for the whole history, or a
/// revision (`"v1.2"`, `"main~10"`, `"A..B"`) to scan only what the commits after it
/// introduced. Each finding has `blob`, `commit`, `author`, `date` and `present_at_head`.
/// Objects that cannot be read are listed as problems. `flags` may add
/// `KEYSWEEP_SCAN_SUBMODULES`.
///
/// # Safety
/// `scanner` is a live scanner; `path` is a NUL-terminated string; `since` is `NULL` or one;
/// `err` is `NULL` or points to a writable `keysweep_error *`.
#[no_mangle]
pub unsafe extern "C" fn keysweep_scan_repository(
    scanner: *const keysweep_scanner,
    path: *const c_char,
    since: *const c_char,
    flags: u32,
    err: *mut *mut keysweep_error,
) -> *mut keysweep_findings {
    const F: &str = "keysweep_scan_repository";
    guard(
        err,
        |_| ptr::null_mut(),
        || {
            // SAFETY: per the contract, non-null means a live scanner.
            let handle = unsafe { scanner.as_ref() }.ok_or_else(|| Failure::null(F, "scanner"))?;
            // SAFETY: forwarded contract.
            let path = unsafe { path_arg(F, "path", path)? };
            let mut scan = HistoryScan::new(handle.scanner.clone())
                .threads(handle.threads())
                .max_blob_size(handle.max_file_size);
            if !since.is_null() {
                // SAFETY: forwarded contract.
                let rev = unsafe { path_arg(F, "since", since)? };
                scan = scan.since(rev.to_string_lossy().into_owned());
            }
            scan = scan.recurse_submodules(flags & KEYSWEEP_SCAN_SUBMODULES != 0);
            run_job_flags(
                F,
                handle,
                flags,
                KNOWN_SCAN_FLAGS | KEYSWEEP_SCAN_SUBMODULES,
                |sink| scan.run(&path, sink).map(drop),
            )
        },
    )
}

/// Scans a container image, `image` NUL-terminated UTF-8: a `docker save` or `podman save`
/// archive (uncompressed), an OCI archive, or an OCI image layout directory; or, when no such
/// file exists and `image` reads as an image reference (it names a registry host, or has a
/// `:tag` or `@digest`, or no file extension: `alpine:3.20`, `ghcr.io/acme/app@sha256:…`),
/// the image pulled from its registry as [`keysweep_scan_image_pull`] pulls it with no
/// platform and no plain-HTTP registry. Every layer is
/// read once; a file a later layer deletes is still reported (`removed_in`), and the image
/// configuration (environment, labels, command, history) is scanned too. Each finding has
/// `source` `KEYSWEEP_SOURCE_IMAGE`, `image`, `image_part`, and for a file in a layer `path`,
/// `layer_digest`, `layer_index`, `layer_count` and `removed_in`. Parts that cannot be read
/// (a missing blob, a damaged layer) are listed as problems. Fails (`NULL`,
/// `KEYSWEEP_ERROR_IO`) when the path does not exist and is no reference, is not an image, or
/// the image cannot be pulled. `flags` may add `KEYSWEEP_IMAGE_ALL_PLATFORMS`.
///
/// # Safety
/// As [`keysweep_scan_path`].
#[no_mangle]
pub unsafe extern "C" fn keysweep_scan_image(
    scanner: *const keysweep_scanner,
    image: *const c_char,
    flags: u32,
    err: *mut *mut keysweep_error,
) -> *mut keysweep_findings {
    // SAFETY: forwarded contract; `NULL` platform and registries are allowed.
    unsafe {
        scan_image(
            "keysweep_scan_image",
            scanner,
            image,
            ptr::null(),
            ptr::null(),
            flags,
            err,
        )
    }
}

/// Scans a container image as [`keysweep_scan_image`] does, with the options of a registry
/// pull: `platform` (`"linux/arm64"`, `"linux/arm/v7"`; `NULL` for the host's) chooses from an
/// index of several platforms, unless `flags` has `KEYSWEEP_IMAGE_ALL_PLATFORMS`;
/// `insecure_registries` (`NULL`, or hosts separated by commas: `"localhost:5000,reg.lan"`)
/// are spoken to in plain HTTP, every other registry in HTTPS with the system's roots.
/// Credentials come from Docker's and Podman's configuration files and credential helpers, as
/// `docker pull` finds them. Layers are streamed, never written to disk, and each verified
/// against its digest. Error messages name the image, never a credential.
///
/// # Safety
/// As [`keysweep_scan_path`]; `platform` and `insecure_registries` are `NULL` or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn keysweep_scan_image_pull(
    scanner: *const keysweep_scanner,
    image: *const c_char,
    platform: *const c_char,
    insecure_registries: *const c_char,
    flags: u32,
    err: *mut *mut keysweep_error,
) -> *mut keysweep_findings {
    // SAFETY: forwarded contract.
    unsafe {
        scan_image(
            "keysweep_scan_image_pull",
            scanner,
            image,
            platform,
            insecure_registries,
            flags,
            err,
        )
    }
}

/// # Safety
/// As [`keysweep_scan_image_pull`].
unsafe fn scan_image(
    function: &'static str,
    scanner: *const keysweep_scanner,
    image: *const c_char,
    platform: *const c_char,
    insecure_registries: *const c_char,
    flags: u32,
    err: *mut *mut keysweep_error,
) -> *mut keysweep_findings {
    let f = function;
    guard(
        err,
        |_| ptr::null_mut(),
        || {
            // SAFETY: per the contract, non-null means a live scanner.
            let handle = unsafe { scanner.as_ref() }.ok_or_else(|| Failure::null(f, "scanner"))?;
            // SAFETY: forwarded contract.
            let image = unsafe { path_arg(f, "image", image)? };
            let mut puller = keysweep_registry::Puller::new()
                .all_platforms(flags & KEYSWEEP_IMAGE_ALL_PLATFORMS != 0);
            if !platform.is_null() {
                // SAFETY: non-null, so NUL-terminated per the contract.
                let text = unsafe { path_arg(f, "platform", platform)? };
                let parsed = text.to_string_lossy().parse().map_err(|e| {
                    Failure::new(
                        keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT,
                        format!("{f}: platform: {e}"),
                    )
                })?;
                puller = puller.platform(parsed);
            }
            if !insecure_registries.is_null() {
                // SAFETY: non-null, so NUL-terminated per the contract.
                let text = unsafe { path_arg(f, "insecure_registries", insecure_registries)? };
                puller = puller.insecure(
                    text.to_string_lossy()
                        .split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                );
            }
            let scan = ImageScan::new(handle.scanner.clone())
                .threads(handle.threads())
                .max_file_size(handle.max_file_size);
            run_job_flags(f, handle, flags, KNOWN_IMAGE_FLAGS, |sink| {
                keysweep_registry::scan_image(&scan, &puller, &image, sink)
                    .map(drop)
                    .map_err(|e| {
                        // Name the image, as the CLI's error line does.
                        let name = image.display().to_string();
                        if e.contains(&name) {
                            e
                        } else {
                            format!("{name}: {e}")
                        }
                    })
            })
        },
    )
}

/// Scans what the next commit of the repository containing `path` would add (staged files
/// against `HEAD`; findings on added lines only): the pre-commit check.
///
/// # Safety
/// As [`keysweep_scan_path`].
#[no_mangle]
pub unsafe extern "C" fn keysweep_scan_staged(
    scanner: *const keysweep_scanner,
    path: *const c_char,
    flags: u32,
    err: *mut *mut keysweep_error,
) -> *mut keysweep_findings {
    const F: &str = "keysweep_scan_staged";
    guard(
        err,
        |_| ptr::null_mut(),
        || {
            // SAFETY: per the contract, non-null means a live scanner.
            let handle = unsafe { scanner.as_ref() }.ok_or_else(|| Failure::null(F, "scanner"))?;
            // SAFETY: forwarded contract.
            let path = unsafe { path_arg(F, "path", path)? };
            let scan = ChangeScan::new(handle.scanner.clone())
                .staged(true)
                .max_size(handle.max_file_size);
            run_job(F, handle, flags, |sink| scan.run(&path, sink).map(drop))
        },
    )
}

/// The number of problems a path or repository scan reported (files or objects that could
/// not be read, archive limits hit); 0 for buffer scans and if `findings` is `NULL`.
///
/// # Safety
/// `findings` is `NULL` or live findings.
#[no_mangle]
pub unsafe extern "C" fn keysweep_findings_problem_count(
    findings: *const keysweep_findings,
) -> usize {
    // SAFETY: per the contract.
    unsafe { findings.as_ref() }.map_or(0, |f| f.problems.len())
}

/// Problem `index` as a message naming the file or object (never its content),
/// NUL-terminated, valid until the findings are freed; `NULL` when out of range.
///
/// # Safety
/// `findings` is `NULL` or live findings.
#[no_mangle]
pub unsafe extern "C" fn keysweep_findings_problem(
    findings: *const keysweep_findings,
    index: usize,
) -> *const c_char {
    // SAFETY: per the contract.
    unsafe { findings.as_ref() }
        .and_then(|f| f.problems.get(index))
        .map_or(ptr::null(), |m| m.as_ptr())
}

/// The number of findings (0 if `findings` is `NULL`).
///
/// # Safety
/// `findings` is `NULL` or live findings.
#[no_mangle]
pub unsafe extern "C" fn keysweep_findings_len(findings: *const keysweep_findings) -> usize {
    // SAFETY: per the contract.
    unsafe { findings.as_ref() }.map_or(0, |f| f.items.len())
}

/// The finding at `index` (0-based, in order of position), or `NULL` if `findings` is `NULL`
/// or `index` is out of range. Valid until the findings are freed.
///
/// # Safety
/// `findings` is `NULL` or live findings.
#[no_mangle]
pub unsafe extern "C" fn keysweep_findings_get(
    findings: *const keysweep_findings,
    index: usize,
) -> *const keysweep_finding {
    // SAFETY: per the contract.
    unsafe { findings.as_ref() }
        .and_then(|f| f.items.get(index))
        .map_or(ptr::null(), |f| f as *const keysweep_finding)
}

/// Frees findings and every pointer in them. `NULL` does nothing. Secret bytes are overwritten
/// with zeros before the memory is released.
///
/// # Safety
/// `findings` is `NULL` or findings not freed yet.
#[no_mangle]
pub unsafe extern "C" fn keysweep_findings_free(findings: *mut keysweep_findings) {
    if !findings.is_null() {
        // SAFETY: created by Box::into_raw in `keysweep_scan`, freed once.
        let mut owned = unsafe { Box::from_raw(findings) };
        for b in owned._secrets.iter_mut() {
            // SAFETY: `b` is a valid, aligned `&mut u8`. A volatile write so the wipe is not
            // optimised away as a dead store before the free.
            unsafe { ptr::write_volatile(b, 0) };
        }
        drop(owned);
    }
}

/// The name of a `keysweep_confidence` value, `"low"`, `"medium"` or `"high"`, or `"unknown"`:
/// a static string. Takes an integer so that any value a caller passes is valid.
#[no_mangle]
pub extern "C" fn keysweep_confidence_name(confidence: u32) -> *const c_char {
    use keysweep_confidence::*;
    let name: &'static CStr = match confidence {
        c if c == KEYSWEEP_CONFIDENCE_LOW as u32 => c"low",
        c if c == KEYSWEEP_CONFIDENCE_MEDIUM as u32 => c"medium",
        c if c == KEYSWEEP_CONFIDENCE_HIGH as u32 => c"high",
        _ => c"unknown",
    };
    name.as_ptr()
}

/// The name of a `keysweep_suppression` value, `"none"`, `"placeholder"`, `"allowlist"`,
/// `"inline"`, `"baseline"` or `"other"`, or `"unknown"`: a static string.
#[no_mangle]
pub extern "C" fn keysweep_suppression_name(suppression: u32) -> *const c_char {
    use keysweep_suppression::*;
    let name: &'static CStr = match suppression {
        s if s == KEYSWEEP_SUPPRESSION_NONE as u32 => c"none",
        s if s == KEYSWEEP_SUPPRESSION_PLACEHOLDER as u32 => c"placeholder",
        s if s == KEYSWEEP_SUPPRESSION_ALLOWLIST as u32 => c"allowlist",
        s if s == KEYSWEEP_SUPPRESSION_INLINE as u32 => c"inline",
        s if s == KEYSWEEP_SUPPRESSION_BASELINE as u32 => c"baseline",
        s if s == KEYSWEEP_SUPPRESSION_OTHER as u32 => c"other",
        _ => c"unknown",
    };
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic inside a call becomes an error: NULL or a status, the out-parameter and the
    /// thread's last error, and the caller's thread goes on.
    #[test]
    fn panic_does_not_cross_the_boundary() {
        let mut err: *mut keysweep_error = ptr::null_mut();
        let got: *mut keysweep_findings =
            guard(&mut err, |_| ptr::null_mut(), || panic!("injected failure"));
        assert!(got.is_null());
        // SAFETY: `err` was just filled in by `guard`.
        unsafe {
            assert_eq!(
                keysweep_error_code(err),
                keysweep_status::KEYSWEEP_ERROR_PANIC
            );
            let message = CStr::from_ptr(keysweep_error_message(err))
                .to_str()
                .unwrap();
            assert!(message.contains("injected failure"), "{message}");
            let last = CStr::from_ptr(keysweep_last_error_message())
                .to_str()
                .unwrap();
            assert_eq!(last, message);
            keysweep_error_free(err);
        }
        let code = status(|| panic!("{}", String::from("owned message")));
        assert_eq!(code, keysweep_status::KEYSWEEP_ERROR_PANIC);
        assert!(!keysweep_last_error_message().is_null());
        // The next call that can fail and succeeds clears it.
        assert_eq!(status(|| Ok(())), keysweep_status::KEYSWEEP_OK);
        assert!(keysweep_last_error_message().is_null());
    }
}
