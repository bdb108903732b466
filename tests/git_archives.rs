//! Archives inside git history: a jar and a tar.gz committed (and later deleted) are opened
//! with the walker's limits; findings carry the blob's provenance and the entry chain. The
//! repository is built with the git CLI, the archives with Python's zipfile and tarfile.
//! Secrets are fake.

mod common;

use std::process::Command;

use common::{keysweep, Repo};
use serde_json::Value;

const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const GITHUB: &str = "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u";

fn python(dir: &std::path::Path, script: &str) {
    let out = Command::new("python3")
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn history(r: &Repo, extra: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let out = keysweep(
        &r.path,
        &[
            &["scan", "--git", "--no-progress", "-f", "json", "."],
            extra,
        ]
        .concat(),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        out.status.code(),
        v.as_array().unwrap().clone(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn findings_in_committed_archives_name_the_commit_and_the_entry_chain() {
    let r = Repo::new();
    r.put("README.md", "app\n");
    std::fs::create_dir_all(r.path.join("lib")).unwrap();
    python(
        &r.path,
        &format!(
            "import io, tarfile, zipfile\n\
             z = zipfile.ZipFile('lib/app.jar', 'w', zipfile.ZIP_DEFLATED)\n\
             z.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\\n')\n\
             z.writestr('config.properties', 'stripe.key={STRIPE}\\n')\n\
             z.close()\n\
             d = b'GITHUB_TOKEN={GITHUB}\\n'\n\
             t = tarfile.open('dist.tar.gz', 'w:gz')\n\
             i = tarfile.TarInfo('pkg/.env'); i.size = len(d); t.addfile(i, io.BytesIO(d))\n\
             t.close()\n"
        ),
    );
    let added = r.commit("add the build output");
    r.git(&["rm", "-q", "lib/app.jar", "dist.tar.gz"]);
    r.commit("remove the build output");

    let (code, findings, stderr) = history(&r, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let jar = findings
        .iter()
        .find(|f| f["archive"]["file"] == "lib/app.jar")
        .expect("the jar's finding");
    assert_eq!(jar["path"], "lib/app.jar!/config.properties");
    assert_eq!(
        jar["archive"]["entries"],
        serde_json::json!(["config.properties"])
    );
    assert_eq!(jar["source"], "history");
    assert_eq!(jar["git"]["commit"], added.as_str());
    assert_eq!(jar["git"]["author_name"], "Ada Dev");
    assert_eq!(jar["git"]["summary"], "add the build output");
    assert_eq!(jar["git"]["present_at_head"], false);
    assert_eq!(jar["repository"]["path"], "lib/app.jar");
    assert_eq!(
        (jar["line"].as_u64(), jar["column"].as_u64()),
        (Some(1), Some(12))
    );

    let tgz = findings
        .iter()
        .find(|f| f["archive"]["file"] == "dist.tar.gz")
        .expect("the tar.gz's finding");
    assert_eq!(tgz["path"], "dist.tar.gz!/pkg/.env");
    assert_eq!(tgz["git"]["commit"], added.as_str());

    // Human output shows the chain and the commit.
    let out = keysweep(&r.path, &["scan", "--git", "--no-progress", "."]);
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains("lib/app.jar!/config.properties:1:12"),
        "{human}"
    );
    assert!(human.contains("add the build output"), "{human}");

    // --no-archives: archives are blobs again (binary, skipped).
    let (code, findings, _) = history(&r, &["--no-archives"]);
    assert_eq!(code, Some(0));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn an_archive_over_the_limits_in_history_is_reported() {
    let r = Repo::new();
    python(
        &r.path,
        &format!(
            "import zipfile\n\
             z = zipfile.ZipFile('many.zip', 'w')\n\
             [z.writestr(f'f{{i}}.txt', 'x\\n') for i in range(20)]\n\
             z.writestr('zz.env', 'TOKEN={GITHUB}\\n')\n\
             z.close()\n"
        ),
    );
    r.commit("add many files");
    let (code, findings, stderr) = history(&r, &["--max-archive-entries", "5"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(stderr.contains("more than 5 entries"), "{stderr}");
    assert!(stderr.contains("blob "), "{stderr}");
}
