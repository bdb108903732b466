#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Live,
    Invalid,
    Unknown,
    Error,
}
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validation {
    pub status: Status,
    pub reason: String,
    pub identity: Vec<(String, String)>,
}
pub mod typed;
