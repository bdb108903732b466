//! The checks against real servers from Debian packages (`postgresql`, `mariadb-server`,
//! `redis-server`; tests/setup.sh installs them), each started here in a temporary directory
//! on a free 127.0.0.1 port and stopped when its test ends. A missing server fails its test
//! with the package to install, unless `KEYSWEEP_SKIP` names it (comma-separated, or `all`).
//! MongoDB is not packaged by Debian: its test runs when `mongod` is on the PATH and otherwise
//! says SKIPPED (the protocol is tested against a fake server in the unit tests).
//!
//! As root, the servers run as `nobody` (PostgreSQL refuses root), through `setpriv`.

use keysweep_dbcheck::{check, DbKind, Options, Outcome, Target, TlsMode};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start before its test gives up (not a timing assertion: a
/// loaded machine only makes the wait longer, up to this).
const START_LIMIT: Duration = Duration::from_secs(120);

fn opts() -> Options {
    Options {
        timeout: Duration::from_secs(20),
        allow_internal: true,
    }
}

#[path = "../../../tests/common/need.rs"]
mod need_tool;
use need_tool::need;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A command for `program` that runs as `nobody` when this process is root.
fn unprivileged(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// A temporary directory the servers can write to.
fn server_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(dir.path())
            .status()
            .expect("run chown");
        assert!(status.success(), "chown nobody {}", dir.path().display());
    }
    dir
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn run(cmd: &mut Command, what: &str, log: &Path) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let _ = std::fs::write(log, [&out.stdout[..], &out.stderr[..]].concat());
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server process, stopped (with `signal`, then killed) when dropped, with its directory.
struct Daemon {
    name: &'static str,
    child: Child,
    signal: &'static str,
    log: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn spawn(
        name: &'static str,
        mut cmd: Command,
        signal: &'static str,
        port: u16,
        dir: tempfile::TempDir,
    ) -> Daemon {
        let log = dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("create the server log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone the log handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Daemon {
            name,
            child,
            signal,
            log,
            port,
            dir,
        }
    }

    /// Waits until `ready` says so; fails with the server's log if it exits or never does.
    fn wait_until(&mut self, mut ready: impl FnMut(&Daemon) -> bool) {
        let start = Instant::now();
        loop {
            if ready(self) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) while starting:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            assert!(
                start.elapsed() < START_LIMIT,
                "{} did not start within {START_LIMIT:?}:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn target(
        &self,
        kind: DbKind,
        user: Option<&str>,
        password: Option<&str>,
        database: Option<&str>,
    ) -> Target {
        Target {
            kind,
            host: "127.0.0.1".into(),
            port: self.port,
            user: user.map(String::from),
            password: password.map(|p| p.as_bytes().to_vec()),
            database: database.map(String::from),
            tls: TlsMode::Prefer,
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args([self.signal, &pid]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One check and what it must give: status, and words the message must contain.
struct Case {
    name: &'static str,
    target: Target,
    status: &'static str,
    words: &'static str,
}

/// Runs the cases; every message is also checked for the password.
fn run_cases(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let started = Instant::now();
        let outcome = check(&case.target, &opts());
        let took = started.elapsed();
        let message = outcome.to_string();
        if outcome.status() != case.status || !message.contains(case.words) {
            failures.push(format!(
                "{}: expected {} with {:?}, got {message}",
                case.name, case.status, case.words
            ));
        }
        if let Some(pw) = case.target.password.as_deref().filter(|p| p.len() >= 4) {
            let pw = String::from_utf8_lossy(pw);
            if message.contains(&*pw) || format!("{outcome:?}").contains(&*pw) {
                failures.push(format!("{}: the password is in {outcome:?}", case.name));
            }
        }
        // Informative only (no assertion on time): what a check costs against a local server.
        eprintln!("{} ({took:.1?}): {message}", case.name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `target` with TLS turned off.
fn plain(mut target: Target) -> Target {
    target.tls = TlsMode::Disable;
    target
}

/// `target` with TLS required.
fn tls(mut target: Target) -> Target {
    target.tls = TlsMode::Require;
    target
}

/// A self-signed certificate and its key (P-256) in `dir`, made with the openssl command and
/// readable by the servers only; `None` (after `need`) when openssl is missing.
fn certificate(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let present = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !need("openssl", present, "apt-get install openssl") {
        return None;
    }
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    run(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
            ])
            .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        "openssl req",
        &dir.join("openssl.log"),
    );
    if is_root() {
        let _ = Command::new("chown")
            .arg("nobody:nogroup")
            .args([&cert, &key])
            .status();
    }
    let _ = Command::new("chmod").arg("600").arg(&key).status();
    Some((cert, key))
}

fn closed_port_case(kind: DbKind) -> Case {
    Case {
        name: "closed port",
        target: Target {
            kind,
            host: "127.0.0.1".into(),
            port: free_port(),
            user: Some("app".into()),
            password: Some(b"right-pass".to_vec()),
            database: None,
            tls: TlsMode::Prefer,
        },
        status: "error",
        words: "cannot connect",
    }
}

fn postgres_bin() -> Option<PathBuf> {
    let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists() && b.join("postgres").exists())
        .collect();
    bins.sort_by_key(|b| {
        b.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    bins.pop()
}

#[test]
fn postgresql() {
    let bin = postgres_bin();
    if !need("postgresql", bin.is_some(), "apt-get install postgresql") {
        return;
    }
    let bin = bin.expect("checked");
    let dir = server_dir();
    let d = dir.path();
    let data = d.join("data");
    std::fs::write(d.join("pw"), "super-pass\n").unwrap();
    let _ = Command::new("chown")
        .args(["nobody:nogroup"])
        .arg(d.join("pw"))
        .status();
    run(
        unprivileged(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", d.join("pw").display())),
        "initdb",
        &d.join("initdb.log"),
    );
    // Roles, in single-user mode (no client needed): SCRAM, MD5 and cleartext accounts, and
    // one that pg_hba.conf admits only over TLS.
    let sql = "SET password_encryption = 'md5';\n\
               CREATE ROLE md5user LOGIN PASSWORD 'md5-pass';\n\
               SET password_encryption = 'scram-sha-256';\n\
               CREATE ROLE app LOGIN PASSWORD 'right-pass';\n\
               CREATE ROLE plainuser LOGIN PASSWORD 'plain-pass';\n\
               CREATE ROLE ssluser LOGIN PASSWORD 'ssl-pass';\n\
               CREATE ROLE trustuser LOGIN PASSWORD 'trust-pass';\n";
    let mut single = unprivileged(&bin.join("postgres"))
        .args(["--single", "-D"])
        .arg(&data)
        .args(["-F", "-c", "exit_on_error=true", "postgres"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start postgres --single");
    single
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = single.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "postgres --single: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        data.join("pg_hba.conf"),
        "host all md5user 127.0.0.1/32 md5\n\
         host all plainuser 127.0.0.1/32 password\n\
         hostssl all ssluser 127.0.0.1/32 scram-sha-256\n\
         host all trustuser 127.0.0.1/32 trust\n\
         host all postgres,app,ghost 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    let Some((cert, key)) = certificate(d) else {
        return;
    };
    let port = free_port();
    let mut cmd = unprivileged(&bin.join("postgres"));
    cmd.arg("-D")
        .arg(&data)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-c", "ssl=on", "-c"])
        .arg(format!("ssl_cert_file={}", cert.display()))
        .arg("-c")
        .arg(format!("ssl_key_file={}", key.display()))
        .args([
            "-c",
            "unix_socket_directories=",
            "-c",
            "fsync=off",
            "-c",
            "shared_buffers=16MB",
        ]);
    let mut server = Daemon::spawn("postgres", cmd, "-INT", port, dir);
    let pid_file = data.join("postmaster.pid");
    server.wait_until(|_| {
        std::fs::read_to_string(&pid_file)
            .is_ok_and(|s| s.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
    });

    let pg = |user, pw, db| server.target(DbKind::Postgres, Some(user), Some(pw), db);
    run_cases(vec![
        Case {
            name: "SCRAM right",
            target: pg("app", "right-pass", Some("postgres")),
            status: "live",
            words: "SCRAM-SHA-256 as \"app\", PostgreSQL 1",
        },
        Case {
            name: "SCRAM wrong",
            target: pg("app", "wrong-pass", Some("postgres")),
            status: "invalid",
            words: "28P01",
        },
        Case {
            name: "superuser right",
            target: pg("postgres", "super-pass", None),
            status: "live",
            words: "\"postgres\"",
        },
        Case {
            name: "MD5 right",
            target: pg("md5user", "md5-pass", Some("postgres")),
            status: "live",
            words: "authenticated as \"md5user\"",
        },
        Case {
            name: "MD5 wrong",
            target: pg("md5user", "md5-wrong", Some("postgres")),
            status: "invalid",
            words: "28P01",
        },
        Case {
            name: "cleartext right",
            target: pg("plainuser", "plain-pass", Some("postgres")),
            status: "live",
            words: "plainuser",
        },
        Case {
            name: "cleartext wrong",
            target: pg("plainuser", "plain-wrong", Some("postgres")),
            status: "invalid",
            words: "28P01",
        },
        Case {
            name: "unknown user",
            target: pg("ghost", "right-pass", Some("postgres")),
            status: "invalid",
            words: "28P01",
        },
        Case {
            name: "no such database",
            target: pg("app", "right-pass", Some("nosuchdb")),
            status: "live",
            words: "3D000",
        },
        Case {
            name: "TLS-only account",
            target: pg("ssluser", "ssl-pass", Some("postgres")),
            status: "live",
            words: "over TLS",
        },
        Case {
            name: "TLS-only account, sslmode=disable",
            target: plain(pg("ssluser", "ssl-pass", Some("postgres"))),
            status: "unknown",
            words: "pg_hba.conf does not admit",
        },
        Case {
            name: "SCRAM right, sslmode=require",
            target: tls(pg("app", "right-pass", Some("postgres"))),
            status: "live",
            words: "SCRAM-SHA-256 as \"app\", PostgreSQL 1",
        },
        Case {
            name: "SCRAM right, plaintext",
            target: plain(pg("app", "right-pass", Some("postgres"))),
            status: "live",
            words: "SCRAM-SHA-256 as \"app\", PostgreSQL 1",
        },
        Case {
            name: "SCRAM wrong, plaintext",
            target: plain(pg("app", "wrong-pass", Some("postgres"))),
            status: "invalid",
            words: "28P01",
        },
        Case {
            name: "MD5 right, plaintext",
            target: plain(pg("md5user", "md5-pass", Some("postgres"))),
            status: "live",
            words: "md5user",
        },
        Case {
            name: "trust, a password given",
            target: pg("trustuser", "trust-pass", Some("postgres")),
            status: "unknown",
            words: "trust authentication",
        },
        Case {
            name: "trust, no password given",
            target: server.target(DbKind::Postgres, Some("trustuser"), None, Some("postgres")),
            status: "live",
            words: "no password needed (trust) as \"trustuser\"",
        },
        Case {
            name: "no password given",
            target: server.target(DbKind::Postgres, Some("app"), None, None),
            status: "unknown",
            words: "none was given",
        },
        closed_port_case(DbKind::Postgres),
    ]);
    // A URL, as the scanner finds it.
    let url = format!("postgresql://app:right%2Dpass@127.0.0.1:{port}/postgres");
    let outcome = check(&Target::from_url(url.as_bytes()).unwrap(), &opts());
    assert_eq!(outcome.status(), "live", "{outcome}");
    assert!(outcome.message().contains("over TLS"), "{outcome}");
    let url = format!("postgres://app:right-pass@127.0.0.1:{port}/postgres?sslmode=disable");
    let outcome = check(&Target::from_url(url.as_bytes()).unwrap(), &opts());
    assert_eq!(outcome.status(), "live", "{outcome}");
    assert!(!outcome.message().contains("TLS"), "{outcome}");
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[test]
fn mariadb() {
    let server_bin = which("mariadbd").or_else(|| which("mysqld"));
    let install = which("mariadb-install-db").or_else(|| which("mysql_install_db"));
    if !need(
        "mariadb",
        server_bin.is_some() && install.is_some(),
        "apt-get install mariadb-server",
    ) {
        return;
    }
    let dir = server_dir();
    let d = dir.path();
    let data = d.join("data");
    run(
        unprivileged(&install.expect("checked"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ]),
        "mariadb-install-db",
        &d.join("install.log"),
    );
    // Accounts, made at start-up from an init file: a password account with one database, and
    // one that needs the ed25519 plugin (not implemented: unknown).
    std::fs::write(
        d.join("init.sql"),
        "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'right-pass';\n\
         CREATE DATABASE shop;\n\
         GRANT ALL ON shop.* TO 'app'@'127.0.0.1';\n\
         INSTALL SONAME 'auth_ed25519';\n\
         CREATE USER 'edu'@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('ed-pass');\n",
    )
    .unwrap();
    let Some((cert, key)) = certificate(d) else {
        return;
    };
    let port = free_port();
    let mut cmd = unprivileged(&server_bin.expect("checked"));
    cmd.arg("--no-defaults")
        .arg(format!("--ssl-cert={}", cert.display()))
        .arg(format!("--ssl-key={}", key.display()))
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", d.join("sock").display()))
        .arg(format!("--pid-file={}", d.join("pid").display()))
        .arg(format!("--init-file={}", d.join("init.sql").display()))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
        ])
        .args([
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=4M",
            "--skip-innodb-doublewrite",
        ]);
    let mut server = Daemon::spawn("mariadbd", cmd, "-TERM", port, dir);
    server.wait_until(|s| s.log_text().contains("ready for connections"));

    let my = |user, pw, db| server.target(DbKind::Mysql, Some(user), Some(pw), db);
    run_cases(vec![
        Case {
            name: "right",
            target: my("app", "right-pass", Some("shop")),
            status: "live",
            words: "authenticated as \"app\" (mysql_native_password), MariaDB",
        },
        Case {
            name: "right, no database",
            target: my("app", "right-pass", None),
            status: "live",
            words: "app",
        },
        Case {
            name: "wrong",
            target: my("app", "wrong-pass", Some("shop")),
            status: "invalid",
            words: "1045",
        },
        Case {
            name: "unknown user",
            target: my("ghost", "right-pass", None),
            status: "invalid",
            words: "1045",
        },
        Case {
            name: "database not granted",
            target: my("app", "right-pass", Some("mysql")),
            status: "live",
            words: "1044",
        },
        Case {
            name: "no such database",
            target: my("root", "", Some("nosuchdb")),
            status: "live",
            words: "1049",
        },
        Case {
            name: "root right",
            target: my("root", "", None),
            status: "live",
            words: "root",
        },
        Case {
            name: "ed25519 account",
            target: my("edu", "ed-pass", None),
            status: "unknown",
            words: "client_ed25519",
        },
        Case {
            name: "right, TLS required",
            target: tls(my("app", "right-pass", Some("shop"))),
            status: "live",
            words: "over TLS",
        },
        Case {
            name: "right, plaintext",
            target: plain(my("app", "right-pass", Some("shop"))),
            status: "live",
            words: "(mysql_native_password), MariaDB",
        },
        Case {
            name: "wrong, plaintext",
            target: plain(my("app", "wrong-pass", Some("shop"))),
            status: "invalid",
            words: "1045",
        },
        closed_port_case(DbKind::Mysql),
    ]);
    let url = format!("mariadb://app:right-pass@127.0.0.1:{port}/shop");
    let outcome = check(&Target::from_url(url.as_bytes()).unwrap(), &opts());
    assert_eq!(outcome.status(), "live", "{outcome}");
    assert!(outcome.message().contains("over TLS"), "{outcome}");
    let url = format!("mysql://app:right-pass@127.0.0.1:{port}/shop?ssl-mode=DISABLED");
    let outcome = check(&Target::from_url(url.as_bytes()).unwrap(), &opts());
    assert_eq!(outcome.status(), "live", "{outcome}");
    assert!(!outcome.message().contains("TLS"), "{outcome}");
}

fn redis_server(dir: tempfile::TempDir, extra: &str) -> Daemon {
    let bin = which("redis-server").expect("checked by the caller");
    let port = free_port();
    let conf = dir.path().join("redis.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\n{extra}",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut cmd = unprivileged(&bin);
    cmd.arg(&conf);
    let mut server = Daemon::spawn("redis-server", cmd, "-TERM", port, dir);
    server.wait_until(|s| s.log_text().contains("Ready to accept connections"));
    server
}

#[test]
fn redis() {
    if !need(
        "redis",
        which("redis-server").is_some(),
        "apt-get install redis-server",
    ) {
        return;
    }
    let dir = server_dir();
    let Some((cert, key)) = certificate(dir.path()) else {
        return;
    };
    let tls_port = free_port();
    let server = redis_server(
        dir,
        &format!(
            "requirepass right-pass\nuser app on >app-pass ~* +@all\n\
             tls-port {tls_port}\ntls-cert-file {}\ntls-key-file {}\ntls-auth-clients no\n",
            cert.display(),
            key.display()
        ),
    );
    let open = redis_server(server_dir(), "");
    let r = |user: Option<&str>, pw: Option<&str>| server.target(DbKind::Redis, user, pw, None);
    run_cases(vec![
        Case {
            name: "default user right",
            target: r(None, Some("right-pass")),
            status: "live",
            words: "the default user",
        },
        Case {
            name: "default user wrong",
            target: r(None, Some("wrong-pass")),
            status: "invalid",
            words: "WRONGPASS",
        },
        Case {
            name: "ACL user right",
            target: r(Some("app"), Some("app-pass")),
            status: "live",
            words: "user \"app\"",
        },
        Case {
            name: "ACL user wrong",
            target: r(Some("app"), Some("wrong-pass")),
            status: "invalid",
            words: "WRONGPASS",
        },
        Case {
            name: "unknown user",
            target: r(Some("ghost"), Some("app-pass")),
            status: "invalid",
            words: "WRONGPASS",
        },
        Case {
            name: "no password given",
            target: r(None, None),
            status: "unknown",
            words: "requires a password",
        },
        Case {
            name: "server without a password",
            target: open.target(DbKind::Redis, None, Some("any-pass"), None),
            status: "unknown",
            words: "no password set",
        },
        Case {
            name: "open server, no password given",
            target: open.target(DbKind::Redis, None, None, None),
            status: "live",
            words: "open to anyone",
        },
        Case {
            name: "rediss right",
            target: Target {
                port: tls_port,
                ..tls(r(Some("app"), Some("app-pass")))
            },
            status: "live",
            words: "user \"app\"; over TLS",
        },
        Case {
            name: "rediss wrong",
            target: Target {
                port: tls_port,
                ..tls(r(None, Some("wrong-pass")))
            },
            status: "invalid",
            words: "WRONGPASS",
        },
        closed_port_case(DbKind::Redis),
    ]);
    let url = format!("redis://app:app-pass@127.0.0.1:{}/0", server.port);
    let outcome = check(&Target::from_url(url.as_bytes()).unwrap(), &opts());
    assert_eq!(outcome.status(), "live", "{outcome}");
    drop(open);
    assert!(server.dir.path().exists());
}

/// MongoDB is not in Debian: with `mongod` on the PATH this runs against it (with the
/// localhost exception creating the first user), otherwise it says SKIPPED.
#[test]
fn mongodb() {
    let Some(bin) = which("mongod") else {
        eprintln!("SKIPPED: mongod not installed (MongoDB is not packaged by Debian; the protocol is unit-tested against a fake server)");
        return;
    };
    let dir = server_dir();
    let port = free_port();
    let mut cmd = unprivileged(&bin);
    cmd.arg("--dbpath").arg(dir.path()).args([
        "--bind_ip",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--auth",
    ]);
    let mut server = Daemon::spawn("mongod", cmd, "-TERM", port, dir);
    server.wait_until(|s| TcpStream::connect(("127.0.0.1", s.port)).is_ok());
    create_mongo_user(port);
    let m = |user, pw| server.target(DbKind::Mongodb, Some(user), Some(pw), Some("admin"));
    run_cases(vec![
        Case {
            name: "right",
            target: m("app", "right-pass"),
            status: "live",
            words: "SCRAM-SHA-256",
        },
        Case {
            name: "wrong",
            target: m("app", "wrong-pass"),
            status: "invalid",
            words: "Authentication failed",
        },
        Case {
            name: "unknown user",
            target: m("ghost", "right-pass"),
            status: "invalid",
            words: "Authentication failed",
        },
        closed_port_case(DbKind::Mongodb),
    ]);
}

/// `createUser` over OP_MSG, by hand: `{createUser: "app", pwd: "right-pass", roles: [],
/// $db: "admin"}`.
fn create_mongo_user(port: u16) {
    fn elem(out: &mut Vec<u8>, tag: u8, key: &str, body: &[u8]) {
        out.push(tag);
        out.extend_from_slice(key.as_bytes());
        out.push(0);
        out.extend_from_slice(body);
    }
    fn string(s: &str) -> Vec<u8> {
        let mut v = ((s.len() + 1) as i32).to_le_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        v
    }
    let mut doc = vec![0; 4];
    elem(&mut doc, 0x02, "createUser", &string("app"));
    elem(&mut doc, 0x02, "pwd", &string("right-pass"));
    elem(&mut doc, 0x04, "roles", &[5, 0, 0, 0, 0]);
    elem(&mut doc, 0x02, "$db", &string("admin"));
    doc.push(0);
    let n = doc.len() as i32;
    doc[..4].copy_from_slice(&n.to_le_bytes());
    let len = (16 + 4 + 1 + doc.len()) as i32;
    let mut msg = Vec::new();
    for word in [len, 1, 0, 2013, 0] {
        msg.extend_from_slice(&word.to_le_bytes());
    }
    msg.push(0);
    msg.extend_from_slice(&doc);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to mongod");
    s.write_all(&msg).unwrap();
    let mut head = [0u8; 16];
    s.read_exact(&mut head).unwrap();
    let len = i32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
    let mut body = vec![0; len - 16];
    s.read_exact(&mut body).unwrap();
    // `ok: 1.0` is the double 1.0 after the key "ok".
    let ok = [b"\x01ok\x00".as_slice(), &1.0f64.to_le_bytes()].concat();
    assert!(
        body.windows(ok.len()).any(|w| w == ok),
        "createUser failed: {}",
        String::from_utf8_lossy(&body)
    );
}

/// A server that accepts and never answers: every kind ends in an error by the deadline.
#[test]
fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let conns: Vec<TcpStream> = listener.incoming().take(4).filter_map(Result::ok).collect();
        std::thread::sleep(Duration::from_secs(2));
        drop(conns);
    });
    for kind in [
        DbKind::Postgres,
        DbKind::Mysql,
        DbKind::Redis,
        DbKind::Mongodb,
    ] {
        let target = Target {
            kind,
            host: "127.0.0.1".into(),
            port,
            user: Some("app".into()),
            password: Some(b"quiet-pass".to_vec()),
            database: None,
            tls: TlsMode::Prefer,
        };
        let outcome = check(
            &target,
            &Options {
                timeout: Duration::from_millis(300),
                allow_internal: true,
            },
        );
        match &outcome {
            Outcome::Error { reason } => {
                assert!(reason.contains("timed out"), "{kind:?}: {reason}")
            }
            other => panic!("{kind:?}: {other:?}"),
        }
    }
    held.join().unwrap();
}

/// MySQL 8's default: `caching_sha2_password` whose account the server has not cached yet
/// asks for full authentication, which sends the password itself and so only over TLS. No
/// MySQL 8 in Debian: a lookalike speaking TLS with rustls and an openssl-made certificate.
#[test]
fn mysql8_full_authentication_over_tls() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = certificate(dir.path()) else {
        return;
    };
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_file(&cert).unwrap()],
            PrivateKeyDer::from_pem_file(&key).unwrap(),
        )
        .unwrap();
    let config = std::sync::Arc::new(config);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut results = Vec::new();
        for _ in 0..2 {
            let (mut tcp, _) = listener.accept().unwrap();
            let send = |s: &mut dyn Write, seq: u8, p: &[u8]| {
                let len = (p.len() as u32).to_le_bytes();
                s.write_all(&[&[len[0], len[1], len[2], seq][..], p].concat())
                    .unwrap();
                s.flush().unwrap();
            };
            let recv = |s: &mut dyn Read| {
                let mut head = [0u8; 4];
                s.read_exact(&mut head).unwrap();
                let mut p = vec![0; u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize];
                s.read_exact(&mut p).unwrap();
                (head[3], p)
            };
            // Protocol 4.1, secure connection, SSL, plugin auth.
            let mut hs = vec![10];
            hs.extend_from_slice(b"8.4.0\0\x07\0\0\0abcdefgh\0");
            hs.extend_from_slice(&[0x00, 0x8a, 45, 2, 0, 0x08, 0x00, 21]);
            hs.extend_from_slice(&[0; 10]);
            hs.extend_from_slice(b"ijklmnopqrst\0caching_sha2_password\0");
            send(&mut tcp, 0, &hs);
            let (seq, ssl_request) = recv(&mut tcp);
            assert_eq!((seq, ssl_request.len()), (1, 32), "SSLRequest");
            assert_ne!(ssl_request[1] & 0x08, 0, "CLIENT_SSL set");
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let (seq, _response) = recv(&mut tls);
            assert_eq!(seq, 2);
            send(&mut tls, 3, &[0x01, 0x04]); // perform full authentication
            let (seq, password) = recv(&mut tls);
            assert_eq!(seq, 4);
            if password == b"pencil\0" {
                send(&mut tls, 5, &[0, 0, 0, 2, 0, 0, 0]);
            } else {
                send(
                    &mut tls,
                    5,
                    b"\xff\x15\x04#28000Access denied for user 'app'",
                );
            }
            results.push(password);
            let (seq, quit) = recv(&mut tls);
            assert_eq!((seq, quit.as_slice()), (0, &[0x01][..]), "COM_QUIT");
        }
        results
    });
    let target = |password: &str| Target {
        kind: DbKind::Mysql,
        host: "127.0.0.1".into(),
        port,
        user: Some("app".into()),
        password: Some(password.as_bytes().to_vec()),
        database: None,
        tls: TlsMode::Prefer,
    };
    let live = check(&target("pencil"), &opts());
    assert_eq!(live.status(), "live", "{live}");
    assert!(
        live.message()
            .contains("caching_sha2_password), MySQL 8.4.0; over TLS"),
        "{live}"
    );
    let invalid = check(&target("crayon"), &opts());
    assert_eq!(invalid.status(), "invalid", "{invalid}");
    assert!(!invalid.message().contains("crayon"), "{invalid}");
    let seen = server.join().expect("the lookalike saw what it expected");
    assert_eq!(seen, [b"pencil\0".to_vec(), b"crayon\0".to_vec()]);
}
