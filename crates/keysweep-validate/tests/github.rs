//! The built-in GitHub classic PAT rule, validated and revoked against a local server that
//! answers like api.github.com, through the origin override.

mod support;

use keysweep::{RuleSet, Scanner};
use keysweep_validate::{check_rule, RevokeOutcome, Status, Validator};
use support::{Reply, Server};

// keysweep:allow (made-up tokens)
const LIVE: &str = "ghp_R8bXq2LwT5nV9cZk3MfJ7aPyD1sHgE4uQ0Wi";
// keysweep:allow
const DEAD: &str = "ghp_Zt4Ky8Qm2Wp6Rn1Vx9Lc3Hb7Jd5Gf0Sa8EoU";

fn finding(token: &str) -> keysweep::Finding {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    let text = format!("export GITHUB_TOKEN={token}\n");
    let mut found = scanner.scan(&mut scanner.scratch(), text.as_bytes());
    assert_eq!(found.len(), 1, "{token}");
    assert_eq!(&*found[0].rule_id, "github.pat.classic");
    found.remove(0)
}

fn github() -> Server {
    Server::start(|req, _| {
        assert_eq!(req.header("user-agent"), Some("keysweep"));
        match (
            req.method.as_str(),
            req.path.as_str(),
            req.header("authorization"),
        ) {
            ("GET", "/user", Some(a)) if a == format!("token {LIVE}") => {
                Reply::new(200, r#"{"login":"octocat","id":1}"#)
                    .header("X-OAuth-Scopes", "repo, read:org")
                    .header(
                        "GitHub-Authentication-Token-Expiration",
                        "2027-01-01 00:00:00 UTC",
                    )
            }
            ("GET", "/user", _) => Reply::new(401, r#"{"message":"Bad credentials"}"#),
            ("POST", "/credentials/revoke", None) => Reply::new(202, ""),
            _ => Reply::new(404, ""),
        }
    })
}

#[test]
fn github_classic_pat_live_and_invalid() {
    let rules = RuleSet::builtin();
    let rule = rules.get("github.pat.classic").unwrap();
    check_rule(rule).unwrap();
    let server = github();
    let v = Validator::builder()
        .allow_internal(true)
        .origin_override("https://api.github.com", &server.origin())
        .build()
        .unwrap();

    let live = v.validate(rule, &finding(LIVE));
    assert_eq!(live.status, Status::Live, "{live:?}");
    assert_eq!(
        live.identity,
        vec![
            ("account".to_string(), "octocat".to_string()),
            ("expiry".to_string(), "2027-01-01 00:00:00 UTC".to_string()),
            ("scopes".to_string(), "repo, read:org".to_string()),
        ]
    );
    let dead = v.validate(rule, &finding(DEAD));
    assert_eq!(
        (dead.status, dead.reason.as_str()),
        (Status::Invalid, "HTTP 401: invalid")
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("token {LIVE}").as_str())
    );
    assert_eq!(
        sent[1].header("authorization"),
        Some(format!("token {DEAD}").as_str())
    );
    assert_eq!(
        sent[0].header("accept"),
        Some("application/vnd.github+json")
    );
}

#[test]
fn github_classic_pat_revocation() {
    let rules = RuleSet::builtin();
    let rule = rules.get("github.pat.classic").unwrap();
    let server = github();
    let v = Validator::builder()
        .allow_internal(true)
        .origin_override("https://api.github.com", &server.origin())
        .build()
        .unwrap();
    let f = finding(LIVE);
    let RevokeOutcome::DryRun(req) = v.revoke(rule, &f, true) else {
        panic!()
    };
    assert_eq!(req.url, format!("{}/credentials/revoke", server.origin()));
    assert!(!req.to_string().contains(LIVE));
    assert_eq!(server.count(), 0);
    assert_eq!(
        v.revoke(rule, &f, false),
        RevokeOutcome::Revoked {
            reason: "HTTP 202: revoked".into()
        }
    );
    let sent = &server.requests()[0];
    assert_eq!(
        sent.body,
        format!(r#"{{"credentials":["{LIVE}"]}}"#).as_bytes()
    );
}
