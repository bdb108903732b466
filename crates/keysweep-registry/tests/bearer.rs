//! The bearer-token flow (what Docker Hub, GHCR and most hosted registries use) against a
//! small fake registry and token service on 127.0.0.1: the challenge is followed, the token
//! service gets the credential as Basic and the scope, the registry gets the token; a refused
//! credential is an error naming the file, without the password.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use keysweep_registry::{CredentialFiles, ErrorKind, Puller, Reference};
use keysweep_source::RemoteImage;
use sha2::{Digest, Sha256};

const TOKEN: &str = "issued-token-5Vb8";
const PASSWORD: &str = "bearer-pass-3Kq9";

/// Serves until the test ends: `/token` issues TOKEN for `ci:PASSWORD`, `/v2/app/...` wants it.
/// Records the request lines it saw.
fn fake(manifest: Vec<u8>, config: Vec<u8>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let realm = format!("http://{host}/token");
    let config_digest = format!("sha256:{}", hex(&Sha256::digest(&config)));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut auth = String::new();
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if lower.starts_with("authorization:") {
                    auth = h["authorization:".len()..].trim().to_string();
                }
                if lower.starts_with("content-length:") {
                    length = h["content-length:".len()..].trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(format!("{path} {auth}"));
            let basic = format!("Basic {}", b64(&format!("ci:{PASSWORD}")));
            let (status, headers, body): (&str, String, Vec<u8>) = if path.starts_with("/token") {
                if auth == basic {
                    (
                        "200 OK",
                        String::new(),
                        format!(r#"{{"token":"{TOKEN}"}}"#).into_bytes(),
                    )
                } else {
                    ("401 Unauthorized", String::new(), b"{}".to_vec())
                }
            } else if auth != format!("Bearer {TOKEN}") {
                (
                    "401 Unauthorized",
                    format!("WWW-Authenticate: Bearer realm=\"{realm}\",service=\"fake\",scope=\"repository:app:pull\"\r\n"),
                    br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.to_vec(),
                )
            } else if path == "/v2/app/manifests/1" {
                (
                    "200 OK",
                    "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n".into(),
                    manifest.clone(),
                )
            } else if path == format!("/v2/app/blobs/{config_digest}") {
                ("200 OK", String::new(), config.clone())
            } else {
                ("404 Not Found", String::new(), b"{}".to_vec())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    (host, seen)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn a_bearer_challenge_is_answered_with_a_token_from_the_realm() {
    let config = br#"{"config":{"Env":["A=1"]}}"#.to_vec();
    let config_digest = format!("sha256:{}", hex(&Sha256::digest(&config)));
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"digest":"{config_digest}","size":{}}},"layers":[]}}"#,
        config.len()
    )
    .into_bytes();
    let (host, seen) = fake(manifest.clone(), config.clone());
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, password: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
                b64(&format!("ci:{password}"))
            ),
        )
        .unwrap();
        path
    };
    let reference = Reference::parse(&format!("{host}/app:1")).unwrap();

    let good = Puller::new()
        .insecure([host.clone()])
        .credentials(CredentialFiles::new(vec![write("good.json", PASSWORD)]));
    let image = good.pull(&reference).unwrap();
    let manifest_digest = format!("sha256:{}", hex(&Sha256::digest(&manifest)));
    assert_eq!(image.name(), format!("{host}/app:1@{manifest_digest}"));
    let (mut reader, _) = image.open(&config_digest, None).unwrap();
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    assert_eq!(got, config);
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("/token?service=fake&scope=repository%3Aapp%3Apull Basic ")),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|l| l == &format!("/v2/app/blobs/{config_digest} Bearer {TOKEN}")),
        "{seen:#?}"
    );

    let wrong = "not-the-pass-8Wd1";
    let bad = Puller::new()
        .insecure([host.clone()])
        .credentials(CredentialFiles::new(vec![write("bad.json", wrong)]));
    let e = bad.pull(&reference).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    let text = e.to_string();
    assert!(
        text.contains("token service refused") && text.contains("bad.json"),
        "{text}"
    );
    assert!(
        !text.contains(wrong) && !text.contains(&b64(&format!("ci:{wrong}"))),
        "{text}"
    );

    // A realm on plain HTTP is refused unless its host is named insecure too (here it is the
    // registry's own host, so naming the registry allows it; a registry on HTTPS with an
    // HTTP realm would not be).
    let anonymous = Puller::new()
        .insecure([host.clone()])
        .credentials(CredentialFiles::new(vec![]));
    let e = anonymous.pull(&reference).unwrap_err();
    assert!(e.to_string().contains("refused anonymous access"), "{e}");
}
