//! UTC calendar arithmetic for the dates signatures carry (no time zone database needed).

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant broken down to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

/// Seconds since the Unix epoch; `Err` for a clock set before 1970.
pub(crate) fn unix_seconds(now: SystemTime) -> Result<u64, String> {
    now.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| "the clock is set before 1970".to_string())
}

pub(crate) fn utc(now: SystemTime) -> Result<Utc, String> {
    let secs = unix_seconds(now)?;
    let days = i64::try_from(secs / 86_400).map_err(|_| "the clock is out of range")?;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days (days since 1970-01-01 to a proleptic Gregorian date).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Ok(Utc {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
        // 1970-01-01 was a Thursday.
        weekday: ((days + 4).rem_euclid(7)) as u32,
    })
}

/// `20150830T123600Z`, the `X-Amz-Date` form.
pub(crate) fn amz_date(now: SystemTime) -> Result<String, String> {
    let t = utc(now)?;
    Ok(format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    ))
}

/// `Sun, 30 Aug 2015 12:36:00 GMT`, the RFC 1123 form of `x-ms-date`.
pub(crate) fn http_date(now: SystemTime) -> Result<String, String> {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = utc(now)?;
    Ok(format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday as usize],
        t.day,
        MONTHS[t.month as usize - 1],
        t.year,
        t.hour,
        t.minute,
        t.second
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn known_instants() {
        // Expected values from `date -u -d @SECS`.
        assert_eq!(amz_date(at(0)).unwrap(), "19700101T000000Z");
        assert_eq!(amz_date(at(1_440_938_160)).unwrap(), "20150830T123600Z");
        assert_eq!(
            http_date(at(1_440_938_160)).unwrap(),
            "Sun, 30 Aug 2015 12:36:00 GMT"
        );
        // A leap day and the last second of a century leap year.
        assert_eq!(
            http_date(at(951_782_400)).unwrap(),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(amz_date(at(978_307_199)).unwrap(), "20001231T235959Z");
        assert_eq!(
            http_date(at(4_102_444_800)).unwrap(),
            "Fri, 01 Jan 2100 00:00:00 GMT"
        );
    }

    #[test]
    fn every_day_of_a_span_follows_the_previous_one() {
        // Walk four years day by day: dates advance by one, weekdays cycle.
        let mut prev = utc(at(946_684_800)).unwrap(); // 2000-01-01, a Saturday
        assert_eq!(
            (prev.year, prev.month, prev.day, prev.weekday),
            (2000, 1, 1, 6)
        );
        for d in 1..(366 * 4) {
            let t = utc(at(946_684_800 + d * 86_400)).unwrap();
            assert_eq!(t.weekday, (prev.weekday + 1) % 7);
            let same_month = t.year == prev.year && t.month == prev.month && t.day == prev.day + 1;
            let next_month = t.day == 1
                && ((t.year == prev.year && t.month == prev.month + 1)
                    || (t.year == prev.year + 1 && t.month == 1 && prev.month == 12));
            assert!(same_month || next_month, "{prev:?} -> {t:?}");
            prev = t;
        }
    }
}
