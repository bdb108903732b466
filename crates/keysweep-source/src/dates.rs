//! Dates, in one place: commit times as ISO 8601 and calendar days (UTC), without a date crate.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A commit time: seconds since the Unix epoch and the UTC offset (seconds) it was recorded in.
/// Written as ISO 8601 in that offset (`2020-09-13T14:26:40+02:00`) and parsed back.
///
/// ```
/// use keysweep_source::GitTime;
///
/// let t = GitTime { seconds: 1_600_000_000, offset: 7200 };
/// assert_eq!(t.to_string(), "2020-09-13T14:26:40+02:00");
/// assert_eq!("2020-09-13T14:26:40+02:00".parse::<GitTime>(), Ok(t));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GitTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Offset from UTC in seconds (east positive), as the author's clock showed it.
    pub offset: i32,
}

impl GitTime {
    /// The calendar day (UTC) of this time, in days since 1970-01-01.
    pub fn day(self) -> i64 {
        self.seconds.div_euclid(86_400)
    }

    /// `YYYY-MM-DD` in the recorded offset.
    pub fn date(self) -> String {
        format_day((self.seconds + i64::from(self.offset)).div_euclid(86_400))
    }
}

impl fmt::Display for GitTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.seconds + i64::from(self.offset);
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        let sign = if self.offset < 0 { '-' } else { '+' };
        let off = self.offset.unsigned_abs();
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60,
            off / 3600,
            off % 3600 / 60
        )
    }
}

/// A string that is not `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `±HH:MM`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseTimeError;

impl fmt::Display for ParseTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a date and time (YYYY-MM-DDTHH:MM:SS+HH:MM)")
    }
}

impl std::error::Error for ParseTimeError {}

impl std::str::FromStr for GitTime {
    type Err = ParseTimeError;

    fn from_str(s: &str) -> Result<GitTime, ParseTimeError> {
        let days = s.get(..10).and_then(parse_day).ok_or(ParseTimeError)?;
        let b = s.as_bytes();
        if b.get(10) != Some(&b'T') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
            return Err(ParseTimeError);
        }
        let num = |r: std::ops::Range<usize>| {
            s.get(r)
                .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|d| d.parse::<i64>().ok())
                .ok_or(ParseTimeError)
        };
        let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if h > 23 || m > 59 || sec > 60 {
            return Err(ParseTimeError);
        }
        let offset = match &s[19..] {
            "Z" => 0,
            o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && b[22] == b':' => {
                let v = num(20..22)? * 3600 + num(23..25)? * 60;
                if o.starts_with('-') {
                    -v
                } else {
                    v
                }
            }
            _ => return Err(ParseTimeError),
        };
        Ok(GitTime {
            seconds: days * 86_400 + h * 3600 + m * 60 + sec - offset,
            offset: offset as i32,
        })
    }
}

impl Serialize for GitTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GitTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GitTime, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = GitTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date and time, YYYY-MM-DDTHH:MM:SS+HH:MM")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GitTime, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl schemars::JsonSchema for GitTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GitTime".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 in the author's UTC offset, e.g. 2020-09-13T14:26:40+02:00",
        })
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` of a count of days since 1970-01-01.
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD` as days since 1970-01-01; `None` unless it is a real calendar day.
pub fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[..4].parse().ok()?;
    let m: i64 = s[5..7].parse().ok()?;
    let d: i64 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (format_day(days) == s).then_some(days)
}

/// Today (UTC), in days since 1970-01-01.
pub fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    secs.div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(format_day(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(parse_day("2026-12-01"), Some(days_from_civil(2026, 12, 1)));
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("26-12-01"), None);
    }

    #[test]
    fn times() {
        let t = |seconds, offset| GitTime { seconds, offset };
        assert_eq!(t(0, 0).to_string(), "1970-01-01T00:00:00+00:00");
        assert_eq!(t(951_782_400, 0).to_string(), "2000-02-29T00:00:00+00:00");
        assert_eq!(
            t(1_700_000_000, 3600).to_string(),
            "2023-11-14T23:13:20+01:00"
        );
        assert_eq!(
            t(1_700_000_000, -5 * 3600 - 1800).to_string(),
            "2023-11-14T16:43:20-05:30"
        );
        for s in [
            "1970-01-01T00:00:10Z",
            "1970-01-01T02:00:00+02:00",
            "2023-11-14T16:43:20-05:30",
        ] {
            let parsed: GitTime = s.parse().unwrap();
            let again: GitTime = parsed.to_string().parse().unwrap();
            assert_eq!(parsed, again, "{s}");
        }
        assert_eq!(
            "1970-01-01T00:00:10Z".parse::<GitTime>().unwrap().seconds,
            10
        );
        assert_eq!(
            "1970-01-01T00:00:00-01:30"
                .parse::<GitTime>()
                .unwrap()
                .seconds,
            5400
        );
        assert!("yesterday".parse::<GitTime>().is_err());
        assert!("2020-01-01T25:00:00Z".parse::<GitTime>().is_err());
        assert_eq!(t(1_600_000_000, 7200).date(), "2020-09-13");
    }
}
