//! Builds tests/c/scan_test.c with the system C compiler (`$CC`, else `cc`), links it against
//! the shared and the static library, runs both, and runs the shared build under valgrind when
//! valgrind is installed. Also runs the README's Python ctypes example.

#[path = "support/image.rs"]
mod image;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory cargo built this crate's cdylib and staticlib into for this test run: the
/// `deps` directory holding this test binary (`cargo test` does not copy them up to
/// `target/<profile>`, so the copies there may be stale).
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf();
    for lib in [shared_name(), "libkeysweep_ffi.a"] {
        assert!(
            dir.join(lib).is_file(),
            "{} not built next to the test binary",
            dir.join(lib).display()
        );
    }
    dir
}

fn shared_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libkeysweep_ffi.dylib"
    } else {
        "libkeysweep_ffi.so"
    }
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keysweep-ffi-c");
    std::fs::create_dir_all(&dir).expect("create output directory");
    dir
}

fn run(cmd: &mut Command) -> Output {
    // cargo points LD_LIBRARY_PATH at target/<profile> too, where an older copy of the
    // library may sit; it would win over the rpath.
    let out = cmd
        .env("LD_LIBRARY_PATH", library_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[path = "../../../tests/common/need.rs"]
mod need_tool;
use need_tool::need;

fn runs(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok()
}

fn cc() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    need(
        "cc",
        runs(&cc),
        "install a C compiler (apt install gcc) or set CC",
    )
    .then_some(cc)
}

/// Compiles the C test program; `link` adds the library.
fn compile(cc: &str, name: &str, link: &[&str]) -> PathBuf {
    let exe = out_dir().join(name);
    run(Command::new(cc)
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-g",
            "-pthread",
        ])
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(crate_dir().join("tests/c/scan_test.c"))
        .arg("-o")
        .arg(&exe)
        .args(link));
    exe
}

/// The directory the C program scans: `tree/` with one secret; `repo/`, a git repository
/// whose first commit (2020-09-13) added a key that the second removed, with a token staged;
/// `image.tar`, a `docker save` archive whose layer 2 deletes the key layer 1 added.
fn fixture() -> PathBuf {
    let dir = out_dir().join(format!("fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tree/config")).unwrap();
    std::fs::write(
        dir.join("tree/config/app.env"),
        "DEBUG=1\nSTRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n",
    )
    .unwrap();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&repo)
            .args(["-c", "commit.gpgsign=false", "-c", "user.name=Ada Dev"])
            .args(["-c", "user.email=ada@example.com"])
            .args(args)
            .env("GIT_AUTHOR_DATE", "1600000000 +0000")
            .env("GIT_COMMITTER_DATE", "1600000000 +0000")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git is needed for the repository test");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(
        repo.join("deploy.env"),
        "AWS_ACCESS_KEY_ID=AKIAQW4RZT7MN2XKLP3V\n",
    )
    .unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "add deploy settings"]);
    git(&["rm", "-q", "deploy.env"]);
    git(&["commit", "-q", "-m", "remove them"]);
    std::fs::write(
        repo.join("new.env"),
        "GITHUB_TOKEN=ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u\n",
    )
    .unwrap();
    git(&["add", "new.env"]);
    image::docker_save(&dir.join("image.tar"));
    dir
}

fn shared_build(cc: &str) -> PathBuf {
    let dir = library_dir();
    compile(
        cc,
        "scan_test_shared",
        &[
            &format!("-L{}", dir.display()),
            "-lkeysweep_ffi",
            &format!("-Wl,-rpath,{}", dir.display()),
        ],
    )
}

#[test]
fn c_program_linked_against_the_shared_library() {
    let Some(cc) = cc() else { return };
    let out = run(Command::new(shared_build(&cc)).arg(fixture()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "all ok\n");
}

#[test]
fn c_program_linked_against_the_static_library() {
    let Some(cc) = cc() else { return };
    let dir = library_dir();
    let archive = dir.join("libkeysweep_ffi.a");
    // What `rustc --print native-static-libs` lists for a Linux staticlib.
    let exe = compile(
        &cc,
        "scan_test_static",
        &[archive.to_str().unwrap(), "-lpthread", "-ldl", "-lm"],
    );
    let out = run(Command::new(exe).arg(fixture()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "all ok\n");
}

#[test]
fn c_program_under_valgrind() {
    if !need("valgrind", runs("valgrind"), "apt install valgrind") {
        return;
    }
    let Some(cc) = cc() else { return };
    let exe = shared_build(&cc);
    let out = run(Command::new("valgrind")
        .args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--quiet",
        ])
        .arg(exe)
        .arg(fixture()));
    // Any memory error or definite/indirect leak makes valgrind exit 99, which `run` rejects.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "all ok\n");
}

/// The README's Python example, between `<!-- ffi-python-example -->` and the end of the code
/// block that follows, runs and prints what the README says it prints.
#[test]
fn readme_python_example_runs() {
    if !need(
        "python3",
        runs("python3"),
        "install Python 3 (apt install python3)",
    ) {
        return;
    }
    let readme = std::fs::read_to_string(crate_dir().join("../../README.md")).expect("README");
    let marker = "<!-- ffi-python-example -->";
    let after = &readme[readme
        .find(marker)
        .expect("README has the Python example marker")..];
    let start = after.find("```python\n").expect("a python code block") + "```python\n".len();
    let code = &after[start..];
    let code = &code[..code.find("\n```").expect("the code block ends")];
    let script = out_dir().join("example.py");
    std::fs::write(&script, code).expect("write the example");
    let lib = library_dir().join(shared_name());
    let out = run(Command::new("python3")
        .arg(&script)
        .env("KEYSWEEP_LIB", &lib));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let fields: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(
        fields[..4],
        ["stripe.secret_key.live", "line", "1", "high"],
        "{stdout}"
    );
    assert!(
        fields[4].len() == 32 && fields[4].bytes().all(|b| b.is_ascii_hexdigit()),
        "{stdout}"
    );
    assert_eq!(lines[1], "aws.access_key_id deploy.env line 1", "{stdout}");
    // The printed output in the README matches what the example printed, apart from the
    // fingerprint.
    assert!(
        code.contains("# stripe.secret_key.live line 1 high ")
            && code.contains("# aws.access_key_id deploy.env line 1"),
        "{code}"
    );
}
