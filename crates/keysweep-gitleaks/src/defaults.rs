//! `disabledRules` naming rules of gitleaks' default configuration, under `useDefault`.
//!
//! keysweep's built-in rules stand in for gitleaks' defaults, under other ids. This table maps
//! the gitleaks default rules that configurations disable most to the keysweep rules (or tags)
//! that find the same secrets; an id it does not list is an error, never ignored.

/// What a gitleaks default rule id disables among keysweep's built-in rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinTarget {
    /// One built-in rule, by id.
    Rule(&'static str),
    /// Every built-in rule with this tag.
    Tag(&'static str),
}

/// gitleaks default rule id -> the keysweep built-in rules that find those secrets.
pub(crate) const DEFAULTS: &[(&str, &[BuiltinTarget])] = {
    use BuiltinTarget::{Rule as R, Tag as T};
    &[
        ("generic-api-key", &[T("generic")]),
        ("private-key", &[T("private-key")]),
        ("jwt", &[R("jwt.token")]),
        ("aws-access-token", &[R("aws.access_key_id")]),
        ("github-pat", &[R("github.pat.classic")]),
        ("github-fine-grained-pat", &[R("github.pat.fine_grained")]),
        ("github-oauth", &[R("github.oauth.access_token")]),
        (
            "github-app-token",
            &[
                R("github.app.user_token"),
                R("github.app.installation_token"),
            ],
        ),
        ("github-refresh-token", &[R("github.app.refresh_token")]),
        ("gitlab-pat", &[R("gitlab.pat")]),
        ("slack-webhook-url", &[R("slack.webhook")]),
        (
            "stripe-access-token",
            &[
                R("stripe.secret_key.live"),
                R("stripe.secret_key.test"),
                R("stripe.restricted_key.live"),
                R("stripe.restricted_key.test"),
            ],
        ),
        ("npm-access-token", &[R("npm.access_token")]),
        ("pypi-upload-token", &[R("pypi.api_token")]),
        ("gcp-api-key", &[R("google.api_key")]),
        ("sendgrid-api-token", &[R("sendgrid.api_key")]),
        ("anthropic-api-key", &[R("anthropic.api_key")]),
        (
            "openai-api-key",
            &[
                R("openai.api_key.legacy"),
                R("openai.api_key.project"),
                R("openai.api_key.service_account"),
                R("openai.api_key.admin"),
                R("openai.api_key.user"),
            ],
        ),
    ]
};

/// The keysweep built-in rules standing in for gitleaks default rule `id`, if known.
pub(crate) fn lookup(id: &str) -> Option<&'static [BuiltinTarget]> {
    DEFAULTS
        .iter()
        .find(|(gitleaks, _)| *gitleaks == id)
        .map(|(_, targets)| *targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_a_builtin_rule_or_tag() {
        let builtin = keysweep::RuleSet::builtin();
        for (id, targets) in DEFAULTS {
            for t in *targets {
                let known = match t {
                    BuiltinTarget::Rule(r) => builtin.get(r).is_some(),
                    BuiltinTarget::Tag(tag) => builtin.rules().iter().any(|r| r.has_tag(tag)),
                };
                assert!(known, "{id}: {t:?} is not built in");
            }
        }
    }
}
