//! Sizes, counts and durations: the one place they are parsed from flags and
//! shown to people.
//!
//! Sizes follow the SI/IEC rule: `KB`, `MB`, `GB` are powers of 1000 and `KiB`,
//! `MiB`, `GiB` powers of 1024, so `64MB` is 64,000,000 bytes and `64MiB` is
//! 67,108,864. A bare `K`, `M` or `G` is refused with a hint, since people mean
//! either. See `docs/cli.md` ("Sizes and durations").

use std::time::Duration;

/// Parse a count: `1000`, `1_000`, `1e9`, `2.5e10`.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.replace('_', "");
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f < u64::MAX as f64 && f.fract() == 0.0 => {
            Ok(f as u64)
        }
        _ => Err(format!("`{s}` is not a whole number (like 1000 or 1e9)")),
    }
}

/// Parse a duration: `30s`, `1.5s`, `500ms`, `2m`, `1h`, `30d`; a bare number
/// is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (like 30s, 500ms, 2m)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => n,
        "ms" => n / 1000.0,
        "m" | "min" | "mins" => n * 60.0,
        "h" | "hr" | "hrs" => n * 3600.0,
        "d" | "day" | "days" => n * 86_400.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}`; use ms, s, m, h or d"
            ));
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is out of range"))
}

/// Parse parproc's `Output.max_age`: a number of seconds (`90`, `1.5`) or a
/// number and a unit, case-insensitive, spaces allowed between (`4s`,
/// `1 minutes`, `2 Days`). The errors keep parproc's texts.
pub fn parse_max_age(s: &str) -> Result<Duration, String> {
    const UNITS: [(&str, f64); 18] = [
        ("d", 86_400.0),
        ("day", 86_400.0),
        ("days", 86_400.0),
        ("h", 3600.0),
        ("hour", 3600.0),
        ("hours", 3600.0),
        ("hr", 3600.0),
        ("hrs", 3600.0),
        ("m", 60.0),
        ("min", 60.0),
        ("mins", 60.0),
        ("minute", 60.0),
        ("minutes", 60.0),
        ("s", 1.0),
        ("sec", 1.0),
        ("second", 1.0),
        ("seconds", 1.0),
        ("secs", 1.0),
    ];
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shape = || {
        format!(
            "Invalid Output.max_age '{s}'. Expected a number of seconds or strings like \"4s\", \"4m\", \"4h\", \"4d\"."
        )
    };
    let n: f64 = num.parse().map_err(|_| shape())?;
    if !n.is_finite() {
        return Err(shape());
    }
    if n < 0.0 {
        return Err(format!("Output.max_age must be >= 0 seconds, got {s}."));
    }
    let unit = unit.trim().to_ascii_lowercase();
    let factor = if unit.is_empty() {
        1.0
    } else if !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(shape());
    } else {
        match UNITS.iter().find(|(u, _)| *u == unit) {
            Some((_, f)) => *f,
            None => {
                let mut names: Vec<&str> = UNITS.iter().map(|(u, _)| *u).collect();
                names.sort_unstable();
                return Err(format!(
                    "Invalid Output.max_age unit '{unit}'. Allowed units: {}.",
                    names.join(", ")
                ));
            }
        }
    };
    Duration::try_from_secs_f64(n * factor).map_err(|_| shape())
}

/// Parse a size: `1048576`, `64MiB` (2^20 bytes each), `64MB` (10^6 bytes
/// each), `1GiB`, `512KiB`, `2kB`. A bare `64M` is refused with a hint.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{s}` is not a size (like 256MiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        bare @ ("k" | "m" | "g") => {
            let up = bare.to_ascii_uppercase();
            return Err(format!(
                "`{s}` is ambiguous; write {num}{up}iB (powers of 1024) or {num}{up}B (powers of 1000)"
            ));
        }
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}`; use KiB, MiB or GiB (or kB, MB, GB)"
            ));
        }
    };
    let v = n * mult;
    if !(v.is_finite() && v >= 0.0 && v < u64::MAX as f64) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(v as u64)
}

/// A byte count for messages: `64 MiB` when it is a whole number of MiB, else
/// `N bytes`.
pub fn fmt_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// A duration for messages: `250ms`, `1.5s`, `3s`, `2m3s`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = d.as_secs_f64();
        if s.fract() == 0.0 {
            format!("{s:.0}s")
        } else {
            format!("{s:.2}s")
        }
    } else {
        format!("{}m{}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// A duration in a table column: always seconds with two decimals, `1.23s`.
pub fn fmt_secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// A duration as a number of seconds rounded to milliseconds (machine reports).
pub fn secs_f64(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_max_age_as_parproc_does() {
        assert_eq!(parse_max_age("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_max_age("1 minutes"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_max_age("4s"), Ok(Duration::from_secs(4)));
        assert_eq!(parse_max_age("1H"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_max_age("2 days"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_max_age("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(
            parse_max_age("4 weeks"),
            Err("Invalid Output.max_age unit 'weeks'. Allowed units: d, day, days, h, hour, hours, hr, hrs, m, min, mins, minute, minutes, s, sec, second, seconds, secs.".into())
        );
        assert_eq!(
            parse_max_age("soon"),
            Err("Invalid Output.max_age 'soon'. Expected a number of seconds or strings like \"4s\", \"4m\", \"4h\", \"4d\".".into())
        );
        assert_eq!(
            parse_max_age("-1"),
            Err("Output.max_age must be >= 0 seconds, got -1.".into())
        );
    }

    #[test]
    fn parses_counts_and_durations() {
        assert_eq!(parse_count("1e9"), Ok(1_000_000_000));
        assert_eq!(parse_count("5_000"), Ok(5000));
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("-3").is_err());
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 weeks").is_err());
    }

    #[test]
    fn durations_may_be_days() {
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("1.5d"), Ok(Duration::from_secs(129_600)));
        assert_eq!(
            parse_duration("2 days"),
            Ok(Duration::from_secs(2 * 86_400))
        );
        assert_eq!(parse_duration("0d"), Ok(Duration::ZERO));
        let err = parse_duration("3w").unwrap_err();
        assert!(err.contains("use ms, s, m, h or d"), "{err}");
    }

    #[test]
    fn sizes_are_si_or_iec_and_bare_letters_are_refused() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64MB"), Ok(64_000_000));
        assert_eq!(parse_size("2kB"), Ok(2000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1_000b"), Ok(1000));
        let bare = parse_size("64M").unwrap_err();
        assert!(bare.contains("64MiB") && bare.contains("64MB"), "{bare}");
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1e30GiB").is_err());
    }

    #[test]
    fn formats_sizes_and_durations() {
        assert_eq!(fmt_size(256 << 20), "256 MiB");
        assert_eq!(fmt_size(1000), "1000 bytes");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.50s");
        assert_eq!(fmt_duration(Duration::from_secs(3)), "3s");
        assert_eq!(fmt_duration(Duration::from_secs(123)), "2m3s");
        assert_eq!(fmt_secs(Duration::from_millis(1234)), "1.23s");
        assert_eq!(secs_f64(Duration::from_micros(1_234_567)), 1.235);
    }
}
