//! Where in a project a file sits, from its path: tests, fixtures, documentation, examples,
//! vendored and generated code, deployment and configuration, or source. Part of a finding's
//! weight: a key in `config/production.yml` is rotated before one in `spec/fixtures/`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kind of file a finding is in, judged from its path alone. Nothing is hidden because of
/// its context; outputs show it, the inventory ranks by it, `--context` filters by it.
///
/// ```
/// use keysweep_source::Context;
///
/// assert_eq!(Context::of_path("config/production.yml"), Context::Config);
/// assert_eq!(Context::of_path("spec/fixtures/keys/deploy.pem"), Context::Fixture);
/// assert_eq!(Context::of_path("app/models/user_test.rb"), Context::Test);
/// assert_eq!(Context::of_path("guides/source/command_line.md"), Context::Docs);
/// assert_eq!(Context::of_path("node_modules/aws-sdk/lib/core.js"), Context::Vendored);
/// assert_eq!(Context::of_path("deploy/helm/values.yaml"), Context::Deployment);
/// assert_eq!(Context::of_path("src/billing/client.rs"), Context::Source);
/// ```
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// Application source code.
    #[default]
    Source,
    /// Configuration: `.env`, `*.yml`, `*.ini`, `*.properties`, `config/`, credential files.
    Config,
    /// Deployment and infrastructure: CI pipelines, Kubernetes, Helm, Terraform, Ansible,
    /// Docker.
    Deployment,
    /// Generated or built: minified bundles, lock files, protobuf output, `dist/`.
    Generated,
    /// Third-party code checked in or installed: `vendor/`, `node_modules/`,
    /// `site-packages/`, a cargo registry.
    Vendored,
    /// Documentation: `docs/`, Markdown, reStructuredText, guides.
    Docs,
    /// Examples, samples and templates: `examples/`, `*.example`, `*.sample`, `*.template`.
    Example,
    /// Tests: `test/`, `spec/`, `*_test.go`, `test_*.py`, `*.spec.ts`.
    Test,
    /// Test data: `fixtures/`, `testdata/`, mocks, recorded cassettes, snapshots, a test app.
    Fixture,
}

impl Context {
    /// Every context, from most to least production-like.
    pub const ALL: [Context; 9] = [
        Context::Config,
        Context::Deployment,
        Context::Source,
        Context::Generated,
        Context::Vendored,
        Context::Docs,
        Context::Example,
        Context::Test,
        Context::Fixture,
    ];

    /// The lowercase name used in output and options.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Source => "source",
            Context::Config => "config",
            Context::Deployment => "deployment",
            Context::Generated => "generated",
            Context::Vendored => "vendored",
            Context::Docs => "docs",
            Context::Example => "example",
            Context::Test => "test",
            Context::Fixture => "fixture",
        }
    }

    /// Parses [`as_str`](Context::as_str)'s names.
    pub fn parse(s: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether findings here are most likely not live credentials of a deployed system
    /// (tests, fixtures, documentation, examples).
    pub fn is_illustrative(self) -> bool {
        matches!(
            self,
            Context::Test | Context::Fixture | Context::Docs | Context::Example
        )
    }

    /// The context of the file at `path` (`/`-separated; archive entries as `a.jar!/x/y`).
    /// The first that applies wins: fixture, test, example, docs, vendored, generated,
    /// deployment, config, source.
    pub fn of_path(path: &str) -> Context {
        let lower = path
            .to_ascii_lowercase()
            .replace('\\', "/")
            .replace("!/", "/");
        let dirs: Vec<&str> = lower.split('/').collect();
        let (dirs, name) = match dirs.split_last() {
            Some((name, dirs)) => (dirs, *name),
            None => (&[][..], ""),
        };
        let in_dir = |names: &[&str]| dirs.iter().any(|d| names.contains(d));
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        let stem = name.split('.').next().unwrap_or(name);

        if in_dir(&[
            "fixtures",
            "fixture",
            "testdata",
            "test-data",
            "test_data",
            "__fixtures__",
            "mocks",
            "__mocks__",
            "stubs",
            "cassettes",
            "vcr_cassettes",
            "snapshots",
            "__snapshots__",
            "golden",
            "dummy",
            "testfiles",
            "test-fixtures",
            "fakes",
        ]) || ext == "snap"
        {
            return Context::Fixture;
        }
        if in_dir(&[
            "test",
            "tests",
            "spec",
            "specs",
            "__tests__",
            "testing",
            "e2e",
            "it",
        ]) || name.ends_with("_test.go")
            || name.ends_with("_test.py")
            || name.starts_with("test_")
            || name == "conftest.py"
            || name.ends_with("_test.rb")
            || name.ends_with("_spec.rb")
            || name.ends_with("_test.rs")
            || name.ends_with("_tests.rs")
            || [
                ".test.",
                ".spec.",
                "_test.",
                "test.java",
                "tests.java",
                "tests.cs",
                "test.cs",
                "test.kt",
                "test.php",
                "test.swift",
            ]
            .iter()
            .any(|t| name.contains(t))
        {
            return Context::Test;
        }
        if in_dir(&[
            "example",
            "examples",
            "sample",
            "samples",
            "demo",
            "demos",
            "templates",
            "template",
            "skeleton",
            "scaffold",
        ]) || [
            "example", "sample", "dist", "template", "tmpl", "tpl", "tt", "j2", "jinja", "jinja2",
            "erb", "mustache", "hbs",
        ]
        .contains(&ext)
            || stem == "example"
            || stem == "examples"
            // AWS SDK example files (botocore's `examples-1.json`), `example-config.yml`.
            || ["example-", "example_", "examples-", "examples_"]
                .iter()
                .any(|p| stem.starts_with(p))
            || stem.ends_with("-example")
            || stem.ends_with("_example")
            || name.contains(".example.")
            || name.contains(".sample.")
        {
            return Context::Example;
        }
        if in_dir(&[
            "docs",
            "doc",
            "documentation",
            "guides",
            "guide",
            "man",
            "manual",
            "wiki",
        ]) || [
            "md", "markdown", "rst", "adoc", "asciidoc", "txt", "rdoc", "pod", "texi", "tex",
        ]
        .contains(&ext)
            || stem == "readme"
            || stem == "changelog"
        {
            return Context::Docs;
        }
        if in_dir(&[
            "vendor",
            "vendors",
            "node_modules",
            "third_party",
            "third-party",
            "thirdparty",
            "site-packages",
            "dist-packages",
            "bower_components",
            "pods",
            "external",
            ".venv",
            "venv",
            "registry",
            "_vendor",
            "jspm_packages",
            ".bundle",
        ]) || lower.contains("/go/pkg/mod/")
        {
            return Context::Vendored;
        }
        if in_dir(&[
            "dist",
            "build",
            "target",
            "out",
            "generated",
            "gen",
            "__generated__",
            ".next",
        ]) || name.ends_with(".min.js")
            || name.ends_with(".min.css")
            || name.ends_with(".pb.go")
            || name.ends_with("_pb2.py")
            || ["lock", "map"].contains(&ext)
            || name == "package-lock.json"
            || name == "yarn.lock"
            || name == "pnpm-lock.yaml"
        {
            return Context::Generated;
        }
        if in_dir(&[
            "k8s",
            "kubernetes",
            "helm",
            "charts",
            "chart",
            "terraform",
            "ansible",
            "playbooks",
            "deploy",
            "deployment",
            "deployments",
            "manifests",
            "infra",
            "infrastructure",
            ".github",
            ".circleci",
            ".gitlab",
            "kustomize",
            "overlays",
            "pulumi",
            "cloudformation",
        ]) || ["tf", "tfvars", "hcl"].contains(&ext)
            || name.starts_with("docker-compose")
            || name.starts_with("dockerfile")
            || name == ".gitlab-ci.yml"
            || name == "jenkinsfile"
            || name == ".travis.yml"
            || name == "azure-pipelines.yml"
            || name == "bitbucket-pipelines.yml"
        {
            return Context::Deployment;
        }
        if in_dir(&[
            "config", "configs", "conf", "settings", "etc", ".config", "secrets",
        ]) || name.starts_with(".env")
            || name.ends_with(".env")
            || [
                "ini",
                "cfg",
                "conf",
                "cnf",
                "properties",
                "toml",
                "yml",
                "yaml",
                "env",
                "plist",
                "netrc",
                "pgpass",
                "npmrc",
                "pypirc",
                "htpasswd",
                "kubeconfig",
            ]
            .contains(&ext)
            || [
                ".netrc",
                "_netrc",
                ".pgpass",
                ".npmrc",
                ".pypirc",
                ".git-credentials",
                ".htpasswd",
                "credentials",
                "settings.py",
                "wp-config.php",
                "web.config",
                "app.config",
                "master.key",
            ]
            .contains(&name)
        {
            return Context::Config;
        }
        Context::Source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_the_accuracy_issue() {
        let cases = [
            ("rails-tree/activestorage/test/dummy/config/secrets.yml", Context::Fixture),
            ("guides/source/command_line.md", Context::Docs),
            ("actionpack/test/controller/http_token_authentication_test.rb", Context::Test),
            ("tests/testsuite/login.rs", Context::Test),
            ("site-packages/awscli/examples/iam/change-password.rst", Context::Example),
            ("botocore/data/iam/2010-05-08/examples-1.json", Context::Example),
            ("config/example_settings.yml", Context::Example),
            ("site-packages/moto/rds/models.py", Context::Vendored),
            ("railties/lib/rails/generators/rails/app/templates/config/databases/postgresql.yml.tt", Context::Example),
            ("examples/_archived/volumes/iscsi/chap-secret.yaml", Context::Example),
            ("config/credentials/production.key", Context::Config),
            ("home/ada/.netrc", Context::Config),
            (".env.production", Context::Config),
            ("app/settings.py", Context::Config),
            (".github/workflows/deploy.yml", Context::Deployment),
            ("infra/main.tf", Context::Deployment),
            ("dist/app.min.js", Context::Generated),
            ("release.tgz!/lib/app.jar!/config/app.properties", Context::Config),
            ("src/main.rs", Context::Source),
            ("lib/billing.py", Context::Source),
        ];
        for (path, want) in cases {
            assert_eq!(Context::of_path(path), want, "{path}");
        }
        for c in Context::ALL {
            assert_eq!(Context::parse(c.as_str()), Some(c));
        }
    }
}
