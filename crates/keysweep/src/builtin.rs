//! The built-in rule files, embedded at compile time.

macro_rules! files {
    ($($name:literal),* $(,)?) => {
        /// `(file name, TOML source)` of every built-in rule file, in load order.
        pub(crate) const FILES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../rules/", $name)))),*
        ];
    };
}

files!(
    "cloud.toml",
    "infra.toml",
    "scm.toml",
    "cicd.toml",
    "ai.toml",
    "messaging.toml",
    "payment.toml",
    "observability.toml",
    "identity.toml",
    "private-keys.toml",
    "database.toml",
    "framework.toml",
    "misc.toml",
    "cloud-devops.toml",
    "saas.toml",
    "ai-data-security.toml",
    "credential-files.toml",
    "generic.toml",
);
