//! A throwaway OpenSSH server on a free 127.0.0.1 port, for the SSH key check's tests (this
//! crate's and the CLI's): its own host key, config and `authorized_keys` in a temporary
//! directory, public-key authentication only, for the current user; its log in a file.
//!
//! A test that needs `sshd` or `ssh-keygen` and does not find them fails saying what to
//! install, unless `KEYSWEEP_SKIP` names `sshd` (comma-separated, or `all`).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long sshd may take to start before the test gives up (not a timing assertion).
const START_LIMIT: Duration = Duration::from_secs(60);

pub const SSHD: &str = "/usr/sbin/sshd";

/// Whether the test may go on; see the module documentation.
pub fn need_sshd() -> bool {
    let present = Path::new(SSHD).exists()
        && Command::new("ssh-keygen")
            .arg("-?")
            .stderr(Stdio::null())
            .status()
            .is_ok();
    if present {
        return true;
    }
    let skip = std::env::var("KEYSWEEP_SKIP").unwrap_or_default();
    let skipped = skip
        .split(',')
        .any(|t| t.trim() == "sshd" || t.trim() == "all");
    assert!(
        skipped,
        "this test needs sshd and ssh-keygen, which are missing: apt-get install openssh-server \
         (tests/setup.sh does; or set KEYSWEEP_SKIP=sshd to skip it)"
    );
    eprintln!("SKIPPED: sshd is missing (apt-get install openssh-server)");
    false
}

/// A key pair made by `ssh-keygen`.
pub struct KeyPair {
    /// The private key file's text.
    pub private: String,
    /// The `authorized_keys` line.
    pub public: String,
    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

/// Makes a key in `dir` named `name`: `kind` is `ed25519`, `rsa` or `ecdsa`; `extra` more
/// `ssh-keygen` arguments (`-m PEM`); `passphrase` empty for none.
pub fn keygen(dir: &Path, name: &str, kind: &str, extra: &[&str], passphrase: &str) -> KeyPair {
    let path = dir.join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        "keysweep-test",
        "-f",
    ])
    .arg(&path)
    .args(extra);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let out = cmd.output().expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen -t {kind}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pub_path = dir.join(format!("{name}.pub"));
    let fp = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(&pub_path)
        .output()
        .expect("run ssh-keygen -l");
    let fp = String::from_utf8_lossy(&fp.stdout);
    KeyPair {
        private: std::fs::read_to_string(&path).unwrap(),
        public: std::fs::read_to_string(&pub_path).unwrap(),
        fingerprint: fp.split_whitespace().nth(1).unwrap_or("").to_string(),
    }
}

/// The user this process runs as (the one sshd lets in).
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running sshd; stopped when dropped.
pub struct Sshd {
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Sshd {
    /// Starts sshd in `dir`, letting in the keys whose `authorized_keys` lines are given.
    pub fn start(dir: &Path, authorized: &[&str]) -> Sshd {
        let host_key = dir.join("host_ed25519");
        if !host_key.exists() {
            keygen(dir, "host_ed25519", "ed25519", &[], "");
        }
        let auth = dir.join("authorized_keys");
        std::fs::write(&auth, authorized.concat()).unwrap();
        // Privilege separation needs its empty directory when sshd runs as root.
        if current_user() == "root" {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let log = dir.join("sshd.log");
        for _ in 0..5 {
            let port = free_port();
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                     PubkeyAuthentication yes\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                     PermitRootLogin prohibit-password\nPidFile {}\nLogLevel VERBOSE\n",
                    host_key.display(),
                    auth.display(),
                    dir.join("sshd.pid").display(),
                ),
            )
            .unwrap();
            let child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("start sshd");
            let mut sshd = Sshd {
                port,
                child,
                log: log.clone(),
            };
            if sshd.wait_listening() {
                return sshd;
            }
            // Lost the port to someone else, or failed: say why if it was not the port.
            let _ = sshd.child.kill();
            let _ = sshd.child.wait();
            let text = sshd.log_text();
            if !text.contains("Address already in use") {
                panic!("sshd did not start: {text}");
            }
        }
        panic!("sshd did not find a free port");
    }

    fn wait_listening(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < START_LIMIT {
            // Only the log line: a probing connection would show in the log the tests read.
            if self.log_text().contains("Server listening on") {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// What sshd logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many connections sshd has seen.
    pub fn connections(&self) -> usize {
        self.log_text().matches("Connection from").count()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
