//! IndexFile names: `yyyyMMddHHmmssSSS` in UTC, 17 digits, so names sort by time.
//!
//! RocketMQ formats the broker's local time; Bolide uses UTC so a name never depends on the
//! host's time zone. Only the order of names matters to readers. Civil-date conversion uses
//! the days-from-civil algorithm (proleptic Gregorian calendar), so no date crate is needed.

/// Digits in a file name.
pub(super) const NAME_DIGITS: usize = 17;
/// 9999-12-31T23:59:59.999Z, the last instant a 4-digit year can name.
pub(super) const NAME_MS_MAX: i64 = 253_402_300_799_999;

const MS_PER_DAY: i64 = 86_400_000;

/// Formats `epoch_ms` (clamped to `[0, NAME_MS_MAX]`) as `yyyyMMddHHmmssSSS`.
pub(super) fn format_name(epoch_ms: i64) -> String {
    let epoch_ms = epoch_ms.clamp(0, NAME_MS_MAX);
    let (year, month, day) = civil_from_days(epoch_ms.div_euclid(MS_PER_DAY));
    let ms_of_day = epoch_ms.rem_euclid(MS_PER_DAY);
    let (hour, minute) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (second, milli) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}{milli:03}")
}

/// Parses a name made by [`format_name`]; `None` for anything else (including impossible
/// dates such as February 30th).
pub(super) fn parse_name(name: &str) -> Option<i64> {
    if name.len() != NAME_DIGITS || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |from: usize, to: usize| name[from..to].parse::<i64>().ok();
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (hour, minute, second, milli) = (
        field(8, 10)?,
        field(10, 12)?,
        field(12, 14)?,
        field(14, 17)?,
    );
    let in_range = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !in_range {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let epoch_ms = days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + milli;
    // A day past the end of its month would normalise to another date: reject it.
    (format_name(epoch_ms) == name).then_some(epoch_ms)
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month 1..=12, day 1..=31) → days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: [(i64, &str); 6] = [
        (0, "19700101000000000"),
        (1_700_000_000_123, "20231114221320123"),
        (1_709_164_799_999, "20240228235959999"),
        (1_709_164_800_000, "20240229000000000"),
        (951_782_400_000, "20000229000000000"),
        (NAME_MS_MAX, "99991231235959999"),
    ];

    #[test]
    fn formats_and_parses_utc_vectors() {
        for (epoch_ms, name) in VECTORS {
            assert_eq!(format_name(epoch_ms), name);
            assert_eq!(parse_name(name), Some(epoch_ms));
        }
    }

    #[test]
    fn clamps_out_of_range_instants() {
        assert_eq!(format_name(-5), "19700101000000000");
        assert_eq!(format_name(i64::MAX), "99991231235959999");
    }

    #[test]
    fn rejects_non_names() {
        for bad in [
            "",
            "2023111422132012",
            "2023111422132012x",
            "20230230000000000",
            "20231301000000000",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_sort_like_instants() {
        let instants = [
            0,
            999,
            1000,
            59_999,
            86_399_999,
            86_400_000,
            1_709_164_800_000,
        ];
        let names: Vec<String> = instants.iter().map(|&ms| format_name(ms)).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
