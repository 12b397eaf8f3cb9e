//! Lambda runtimes past their deprecation date, from `data/lambda-runtimes.tsv`.

const TABLE: &str = include_str!("../data/lambda-runtimes.tsv");

/// A day as (year, month, day).
pub type Date = (i32, u32, u32);

/// The deprecation date of a runtime, if the table lists it.
pub fn deprecation(runtime: &str) -> Option<Date> {
    let runtime = runtime.trim();
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .find(|(r, _)| *r == runtime)
        .and_then(|(_, d)| parse_date(d.trim()))
}

/// `Some(date)` when `runtime` was deprecated on or before `today`.
pub fn deprecated_on(runtime: &str, today: Date) -> Option<Date> {
    deprecation(runtime).filter(|d| *d <= today)
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    Some((y, m, d))
}

/// Today's UTC date from the system clock.
pub fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        i32::try_from(y).unwrap_or(i32::MAX),
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// `YYYY-MM-DD`.
pub fn show(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.0, d.1, d.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(deprecation("python2.7"), Some((2021, 7, 15)));
        assert_eq!(deprecated_on("nodejs18.x", (2025, 8, 31)), None);
        assert!(deprecated_on("nodejs18.x", (2025, 9, 1)).is_some());
        assert_eq!(deprecation("python3.13"), None);
        // Every row parses.
        for l in TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (r, d) = l.split_once('\t').unwrap_or((l, ""));
            assert!(parse_date(d.trim()).is_some(), "bad row {l:?}");
            assert!(deprecation(r).is_some());
        }
    }
}
