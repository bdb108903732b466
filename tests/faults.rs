//! Fault injection: outputs that fail or are not plain files, files that vanish, shrink or
//! grow while they are scanned, unreadable files as a non-root user, special files, closed or
//! full standard output, a killed scan, and standard input that is larger than memory should
//! allow. Nothing crashes, nothing is lost silently, no file is clobbered.
//!
//! Tests that need root (to mount a tiny tmpfs in a private mount namespace, or to drop to
//! another user) fail with a message when they cannot, unless `KEYSWEEP_SKIP=root`.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{keysweep, need};

const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const GITHUB: &str = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_keysweep")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sh(dir: &Path, script: &str) -> Output {
    Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .env("KEYSWEEP", bin())
        .env_remove("KEYSWEEP_FINGERPRINT_KEY")
        .output()
        .unwrap()
}

fn skip(tool: &str, why: &str) {
    need(tool, false, why);
}

fn secrets_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.env"), format!("STRIPE_KEY={STRIPE}\n")).unwrap();
    dir
}

/// Regression: `-o` renamed a temporary file over whatever was there: a device node became a
/// regular file (exit 0), a symbolic link was replaced, a private file became world-readable.
#[test]
fn output_files_are_written_through_not_replaced() {
    let dir = secrets_dir();
    // A device: written in place; a full one is an error, and stays a device.
    let o = keysweep(
        dir.path(),
        &["baseline", "create", "-q", "-o", "/dev/full", "."],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write /dev/full: No space left on device"),
        "{}",
        stderr(&o)
    );
    assert!(fs::metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
    let o = keysweep(
        dir.path(),
        &["baseline", "create", "-q", "-o", "/dev/null", "."],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());

    // A symbolic link: its target is written, the link stays.
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("real.json");
    fs::write(&target, "old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    let link = out.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = keysweep(
        dir.path(),
        &[
            "baseline",
            "create",
            "-q",
            "-o",
            link.to_str().unwrap(),
            ".",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let written = fs::read_to_string(&target).unwrap();
    assert!(written.contains("keysweep_baseline"), "{written}");
    // A private file stays private.
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The same for the inventory.
    let inv = out.path().join("inventory.json");
    fs::write(&inv, "old").unwrap();
    fs::set_permissions(&inv, fs::Permissions::from_mode(0o640)).unwrap();
    let o = keysweep(
        dir.path(),
        &["inventory", "-q", "-o", inv.to_str().unwrap(), "."],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fs::metadata(&inv).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(fs::read_to_string(&inv)
        .unwrap()
        .contains("keysweep_inventory"));
    // A directory is refused.
    let o = keysweep(
        dir.path(),
        &["inventory", "-q", "-o", out.path().to_str().unwrap(), "."],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
}

/// Regression: with standard output closed (`>&-`) findings were lost with exit status 1 and
/// no error. A full disk as standard output is an error too.
#[test]
fn a_closed_or_full_standard_output_is_an_error() {
    let dir = secrets_dir();
    let o = sh(dir.path(), "\"$KEYSWEEP\" scan . >&-");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write output: standard output is closed"),
        "{}",
        stderr(&o)
    );
    // A `/dev/null` opened read-write by the caller (Python's `subprocess.DEVNULL`, Go's
    // `exec.Cmd`), as the runtime opens it on a closed descriptor, is a chosen sink.
    let o = sh(dir.path(), "\"$KEYSWEEP\" scan . 1<>/dev/null");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
    let o = sh(dir.path(), "\"$KEYSWEEP\" scan -f json . > /dev/full");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write output: No space left on device"),
        "{}",
        stderr(&o)
    );
    // A reader that goes away early is not an error worth a message.
    let o = sh(
        dir.path(),
        "\"$KEYSWEEP\" scan -f jsonl . | head -c 1 > /dev/null",
    );
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}

/// A tiny tmpfs (in a private mount namespace) fills up while a baseline is written: the error
/// names the file, the old file is untouched, no temporary file is left.
#[test]
fn a_full_disk_leaves_the_old_output_and_no_temporary_file() {
    let dir = secrets_dir();
    for i in 0..400 {
        fs::write(
            dir.path().join(format!("f{i}.env")),
            format!("K{i}=AKIA{:016X}\n", 0x5A4F_3C2B_1A09_u64 * (i + 7)),
        )
        .unwrap();
    }
    let mnt = tempfile::tempdir().unwrap();
    let m = mnt.path().to_str().unwrap();
    let script = format!(
        "mount -t tmpfs -o size=16k tmpfs '{m}' || exit 99; \
         echo old > '{m}/base.json'; \
         \"$KEYSWEEP\" baseline create -q -o '{m}/base.json' .; echo \"exit=$?\"; \
         echo \"content=$(cat '{m}/base.json')\"; ls -a '{m}'"
    );
    let o = Command::new("unshare")
        .current_dir(dir.path())
        .args(["-m", "sh", "-c", &script])
        .env("KEYSWEEP", bin())
        .output();
    let o =
        match o {
            Ok(o) if o.status.code() != Some(99) && o.status.code() != Some(1) => o,
            _ => return skip(
                "root",
                "run as root: the test mounts a tmpfs in a private mount namespace (unshare -m)",
            ),
        };
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("exit=2"), "{out}\n{}", stderr(&o));
    assert!(out.contains("content=old"), "{out}");
    assert!(
        !out.contains(".keysweep-"),
        "a temporary file was left: {out}"
    );
    assert!(
        stderr(&o).contains("base.json: No space left on device"),
        "{}",
        stderr(&o)
    );
}

/// Regression: `keysweep scan <(cat secrets.env)` and `cat secrets.env | keysweep scan
/// /dev/stdin` reported 0 files with exit 0. A named FIFO or device is read; one met inside a
/// directory is skipped and counted.
#[test]
fn named_special_files_are_read_and_those_in_trees_counted() {
    let dir = secrets_dir();
    let o = Command::new("bash")
        .current_dir(dir.path())
        .arg("-c")
        .arg("\"$KEYSWEEP\" scan -f json <(cat app.env)")
        .env("KEYSWEEP", bin())
        .output()
        .expect("bash is needed for process substitution");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("stripe.secret_key.live"));
    let o = sh(
        dir.path(),
        "cat app.env | \"$KEYSWEEP\" scan -f json /dev/stdin",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("in 1 file(s)"), "{}", stderr(&o));

    // A FIFO inside the tree (nobody writes to it): not opened, counted.
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let o = keysweep(dir.path(), &["scan", "."]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "hung on the FIFO"
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 special file(s) (FIFO, socket, device) skipped"),
        "{}",
        stderr(&o)
    );
}

/// Files deleted while the walk is under way: each is reported (or was scanned before it
/// went), the others are scanned, nothing crashes.
#[test]
fn files_vanishing_during_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3000 {
        let sub = dir.path().join(format!("d{}", i % 30));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("f{i}.txt")), "filler\n".repeat(50)).unwrap();
    }
    fs::write(
        dir.path().join("keep.env"),
        format!("GITHUB_TOKEN={GITHUB}\n"),
    )
    .unwrap();
    let child = Command::new(bin())
        .current_dir(dir.path())
        .args(["scan", "-j", "1", "-f", "json", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for i in (0..3000).rev() {
        let _ = fs::remove_file(dir.path().join(format!("d{}/f{i}.txt", i % 30)));
    }
    let o = child.wait_with_output().unwrap();
    assert!(matches!(o.status.code(), Some(1 | 2)), "{o:?}");
    let err = stderr(&o);
    for line in err.lines().filter(|l| l.contains("error")) {
        assert!(
            line.contains("No such file or directory") || line.contains("error(s), see above"),
            "{line}"
        );
    }
    assert!(String::from_utf8_lossy(&o.stdout).contains("keep.env"));
}

/// A text file of `mb` megabytes (large enough to be read in segments).
fn big_text(path: &Path, mb: usize) {
    let mut f = fs::File::create(path).unwrap();
    let line = format!(
        "{}\n",
        "let value = compute(alpha, beta) + gamma; // filler".repeat(2)
    );
    let mut written = 0;
    f.write_all(format!("GITHUB_TOKEN={GITHUB}\n").as_bytes())
        .unwrap();
    while written < mb << 20 {
        f.write_all(line.as_bytes()).unwrap();
        written += line.len();
    }
}

/// Regression: a memory-mapped file truncated mid-scan killed the whole run with SIGBUS (exit
/// 135, no output). Files are read, not mapped: a file that shrinks or grows during the scan
/// is reported as changed, what was read is scanned, and the run goes on.
#[test]
fn a_file_shrinking_or_growing_during_the_scan_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.log");
    fs::write(
        dir.path().join("other.env"),
        format!("STRIPE_KEY={STRIPE}\n"),
    )
    .unwrap();
    for (how, change) in [("shrank", 0), ("grew", 1)] {
        let mut seen = false;
        for attempt in 0..4 {
            big_text(&big, 150);
            let child = Command::new(bin())
                .current_dir(dir.path())
                .args([
                    "scan",
                    "-j",
                    "1",
                    "-f",
                    "json",
                    "--max-file-size",
                    "1G",
                    ".",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(300 + 300 * attempt));
            if change == 0 {
                fs::OpenOptions::new()
                    .write(true)
                    .open(&big)
                    .unwrap()
                    .set_len(1000)
                    .unwrap();
            } else {
                let mut f = fs::OpenOptions::new().append(true).open(&big).unwrap();
                f.write_all(&vec![b'y'; 8 << 20]).unwrap();
            }
            let o = child.wait_with_output().unwrap();
            // Never killed by a signal; the other file's secret and the big file's first
            // line are always reported.
            assert!(o.status.code().is_some(), "killed: {o:?}");
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(
                out.contains("other.env") && out.contains("big.log"),
                "{out}"
            );
            if stderr(&o).contains(&format!("changed while it was scanned ({how}")) {
                assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
                seen = true;
                break;
            }
        }
        assert!(seen, "the file never {how} during a scan in four attempts");
    }
}

/// As a user who may not read them: an unreadable file and directory are reported, the rest
/// is scanned, exit status 2.
#[test]
fn unreadable_files_and_directories_as_a_non_root_user() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        dir.path().join("ok.env"),
        format!("GITHUB_TOKEN={GITHUB}\n"),
    )
    .unwrap();
    fs::write(
        dir.path().join("locked.env"),
        format!("STRIPE_KEY={STRIPE}\n"),
    )
    .unwrap();
    fs::set_permissions(
        dir.path().join("locked.env"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    fs::create_dir(dir.path().join("closed")).unwrap();
    fs::write(
        dir.path().join("closed/inner.env"),
        format!("STRIPE_KEY={STRIPE}\n"),
    )
    .unwrap();
    fs::set_permissions(dir.path().join("closed"), fs::Permissions::from_mode(0o000)).unwrap();
    let is_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let o = if is_root {
        // Root reads everything: drop to nobody (the binary must be reachable by it).
        let exe = PathBuf::from(bin());
        let mut reachable = true;
        for dir in exe.ancestors().skip(1) {
            let mode = fs::metadata(dir)
                .map(|m| m.permissions().mode())
                .unwrap_or(0);
            reachable &= mode & 0o001 != 0;
        }
        if !reachable {
            return skip(
                "root",
                "the keysweep binary must be reachable by user nobody",
            );
        }
        match Command::new("setpriv")
            .current_dir(dir.path())
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                bin(),
                "scan",
                ".",
            ])
            .output()
        {
            Ok(o) => o,
            Err(_) => return skip("setpriv", "install util-linux (setpriv)"),
        }
    } else {
        keysweep(dir.path(), &["scan", "."])
    };
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read locked.env: Permission denied"),
        "{err}"
    );
    assert!(err.contains("closed"), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("ok.env"));
    assert!(!err.contains(STRIPE) && !err.contains(GITHUB));
}

/// A scan killed while it runs leaves no output file behind (the file is written only once the
/// scan is complete, through a temporary file renamed over it).
#[test]
fn a_killed_scan_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    big_text(&dir.path().join("big.log"), 200);
    let out = dir.path().join("baseline.json");
    let mut child = Command::new(bin())
        .current_dir(dir.path())
        .args(["baseline", "create", "-q", "--max-file-size", "1G", "-o"])
        .arg(&out)
        .arg(".")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "finished too soon to be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["big.log"], "left behind: {names:?}");
}

/// Regression: standard input was read whole (`keysweep scan - < /dev/zero` grew until memory
/// ran out). It is scanned as a stream: 320 MB pass through in far less memory, and a secret
/// at its end is found.
#[test]
fn standard_input_is_scanned_in_bounded_memory() {
    let mut child = Command::new(bin())
        .current_dir(std::env::temp_dir())
        .args(["scan", "-f", "jsonl", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let block = [b"x".repeat(79), b"\n".to_vec()].concat().repeat(8192);
        let mut sent = 0;
        while sent < 320 << 20 {
            stdin.write_all(&block).unwrap();
            sent += block.len();
        }
        stdin
            .write_all(format!("GITHUB_TOKEN={GITHUB}\n").as_bytes())
            .unwrap();
    });
    let mut peak_kb = 0u64;
    let status = format!("/proc/{pid}/status");
    while !writer.is_finished() {
        if let Ok(text) = fs::read_to_string(&status) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.join().unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\"source\":\"stdin\""), "{out}");
    assert!(out.contains("\"line\":4194305"), "{out}");
    assert!(peak_kb > 0, "no memory reading");
    assert!(
        peak_kb < 300 * 1024,
        "peak RSS {peak_kb} kB for 320 MB of input"
    );
}
