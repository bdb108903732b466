//! `keysweep_scan_image` from Rust, through the C ABI: the image fields of each finding.

#[path = "support/image.rs"]
mod image;
/// A real registry (Debian's docker-registry), shared with the CLI's tests.
#[path = "../../../tests/common/registry.rs"]
mod registry;

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::ptr;

use keysweep_ffi::*;

#[path = "../../../tests/common/need.rs"]
mod need_tool;
use need_tool::need;

/// The C string at `p`, or `None` for `NULL`.
///
/// # Safety
/// `p` is `NULL` or a live NUL-terminated string.
unsafe fn text(p: *const c_char) -> Option<String> {
    // SAFETY: per the contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned())
}

#[test]
fn an_image_finding_names_its_layer_and_the_layer_that_deletes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.tar");
    let digests = image::docker_save(&path);
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: each handle is used while live and freed once; strings are NUL-terminated.
    unsafe {
        let options = keysweep_options_new();
        let scanner = keysweep_scanner_new(options, ptr::null_mut());
        keysweep_options_free(options);
        assert!(!scanner.is_null());
        let mut err: *mut keysweep_error = ptr::null_mut();
        let found = keysweep_scan_image(scanner, c_path.as_ptr(), KEYSWEEP_SCAN_SECRETS, &mut err);
        assert!(!found.is_null() && err.is_null());
        assert_eq!(keysweep_findings_len(found), 1);
        assert_eq!(keysweep_findings_problem_count(found), 0);
        let f = &*keysweep_findings_get(found, 0);
        assert_eq!(f.source, keysweep_source_kind::KEYSWEEP_SOURCE_IMAGE);
        assert_eq!(text(f.rule_id).as_deref(), Some("aws.access_key_id"));
        assert_eq!(text(f.path).as_deref(), Some("app/deploy.env"));
        assert!(text(f.image).unwrap().ends_with("app.tar"));
        assert_eq!(text(f.image_tags).as_deref(), Some("example/app:1"));
        assert_eq!(text(f.image_part).as_deref(), Some("layer"));
        assert_eq!(text(f.image_field), None);
        assert_eq!(text(f.layer_digest).as_deref(), Some(digests[0].as_str()));
        assert_eq!((f.layer_index, f.layer_count, f.removed_in), (1, 2, 2));
        assert!(!f.present_at_head, "deleted by layer 2");
        assert!(f.commit.is_null() && f.blob.is_null());
        let secret = std::slice::from_raw_parts(f.secret, f.secret_len);
        assert_eq!(secret, image::IMAGE_KEY.as_bytes());
        keysweep_findings_free(found);

        // A path scan's findings have no image fields.
        let found = keysweep_scan_path(scanner, c_path.as_ptr(), 0, ptr::null_mut());
        for i in 0..keysweep_findings_len(found) {
            let f = &*keysweep_findings_get(found, i);
            assert!(f.image.is_null() && f.layer_digest.is_null() && f.layer_index == 0);
        }
        keysweep_findings_free(found);

        // Not an image, and no such path: errors that say so.
        for (name, expect) in [("README.txt", "README.txt"), ("missing.tar", "missing.tar")] {
            let p = dir.path().join(name);
            if name == "README.txt" {
                std::fs::write(&p, "hello\n").unwrap();
            }
            let c = CString::new(p.to_str().unwrap()).unwrap();
            let mut err: *mut keysweep_error = ptr::null_mut();
            assert!(keysweep_scan_image(scanner, c.as_ptr(), 0, &mut err).is_null());
            assert_eq!(keysweep_error_code(err), keysweep_status::KEYSWEEP_ERROR_IO);
            let message = text(keysweep_error_message(err)).unwrap();
            assert!(
                message.contains("keysweep_scan_image") && message.contains(expect),
                "{message}"
            );
            assert!(!message.contains(image::IMAGE_KEY));
            keysweep_error_free(err);
        }
        assert!(keysweep_scan_image(scanner, ptr::null(), 0, ptr::null_mut()).is_null());
        keysweep_scanner_free(scanner);
    }
}

/// An image pulled from a real registry through the C ABI: by tag and by digest, plain HTTP
/// only for the registry named insecure, a missing tag and a bad platform as errors.
#[test]
fn an_image_is_pulled_from_a_registry_by_tag_and_by_digest() {
    let Some(registry) = registry::Registry::start(None) else {
        return;
    };
    let (layers, config) = image::parts();
    let digests = image::digests(&layers);
    let manifest = registry.push_plain("team/app", "1", &layers, config.as_bytes());
    let host = CString::new(registry.host.clone()).unwrap();
    let c = |s: String| CString::new(s).unwrap();
    let by_tag = c(format!("{}/team/app:1", registry.host));
    let by_digest = c(format!("{}/team/app@{manifest}", registry.host));
    // SAFETY: each handle is used while live and freed once; strings are NUL-terminated.
    unsafe {
        let options = keysweep_options_new();
        let scanner = keysweep_scanner_new(options, ptr::null_mut());
        keysweep_options_free(options);
        for reference in [&by_tag, &by_digest] {
            let mut err: *mut keysweep_error = ptr::null_mut();
            let found = keysweep_scan_image_pull(
                scanner,
                reference.as_ptr(),
                ptr::null(),
                host.as_ptr(),
                KEYSWEEP_SCAN_SECRETS,
                &mut err,
            );
            assert!(!found.is_null(), "{:?}", text(keysweep_error_message(err)));
            assert_eq!(keysweep_findings_len(found), 1);
            assert_eq!(keysweep_findings_problem_count(found), 0);
            let f = &*keysweep_findings_get(found, 0);
            assert_eq!(f.source, keysweep_source_kind::KEYSWEEP_SOURCE_IMAGE);
            assert_eq!(text(f.path).as_deref(), Some("app/deploy.env"));
            assert_eq!(text(f.layer_digest).as_deref(), Some(digests[0].as_str()));
            assert_eq!((f.layer_index, f.layer_count, f.removed_in), (1, 2, 2));
            let name = text(f.image).unwrap();
            assert!(name.contains("team/app"), "{name}");
            let secret = std::slice::from_raw_parts(f.secret, f.secret_len);
            assert_eq!(secret, image::IMAGE_KEY.as_bytes());
            keysweep_findings_free(found);
        }

        // Without the registry named insecure it is spoken to in HTTPS, which it does not
        // speak: an error naming the image. So is a tag it does not have.
        let missing = c(format!("{}/team/app:2", registry.host));
        for (reference, insecure, expect) in
            [(&by_tag, false, "team/app"), (&missing, true, "team/app:2")]
        {
            let mut err: *mut keysweep_error = ptr::null_mut();
            let found = if insecure {
                keysweep_scan_image_pull(
                    scanner,
                    reference.as_ptr(),
                    ptr::null(),
                    host.as_ptr(),
                    0,
                    &mut err,
                )
            } else {
                keysweep_scan_image(scanner, reference.as_ptr(), 0, &mut err)
            };
            assert!(found.is_null());
            assert_eq!(keysweep_error_code(err), keysweep_status::KEYSWEEP_ERROR_IO);
            let message = text(keysweep_error_message(err)).unwrap();
            assert!(message.contains(expect), "{message}");
            keysweep_error_free(err);
        }

        // A platform that does not parse, and the image flag on a scan that has no use for it.
        let bad = c("linux/".into());
        let mut err: *mut keysweep_error = ptr::null_mut();
        let found = keysweep_scan_image_pull(
            scanner,
            by_tag.as_ptr(),
            bad.as_ptr(),
            host.as_ptr(),
            0,
            &mut err,
        );
        assert!(found.is_null());
        assert_eq!(
            keysweep_error_code(err),
            keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT
        );
        keysweep_error_free(err);
        let dir = c(".".into());
        let mut err: *mut keysweep_error = ptr::null_mut();
        let found = keysweep_scan_path(
            scanner,
            dir.as_ptr(),
            KEYSWEEP_IMAGE_ALL_PLATFORMS,
            &mut err,
        );
        assert!(found.is_null());
        assert_eq!(
            keysweep_error_code(err),
            keysweep_status::KEYSWEEP_ERROR_INVALID_ARGUMENT
        );
        keysweep_error_free(err);
        keysweep_scanner_free(scanner);
    }
}
