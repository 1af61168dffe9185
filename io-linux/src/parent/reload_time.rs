//! What a `reload_time_file` says: the time of a scheduled reload (keepalived's
//! `read_file()` and `parse_datetime()`, `keepalived/core/reload_monitor.c`). The file's
//! first line is exactly `HH:MM:SS`, `YY-MM-DD HH:MM:SS` or `YYYY-MM-DD HH:MM:SS`, each
//! with an optional `Z` for UTC; otherwise the time is the host's local time. A time
//! without a date that has passed today means tomorrow; a date and time that has passed
//! is ignored. A time that does not exist (31 June, 25:00, a local time skipped by a
//! daylight-saving change) is ignored too.

use std::io::Read;
use std::path::Path;

/// keepalived reads the line with `fgets()` into 21 bytes: 20 characters at most.
const LINE_MAX: usize = 20;

/// Why a reload time is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadTime {
    #[error(
        "'{0}' is not HH:MM:SS, YY-MM-DD HH:MM:SS or YYYY-MM-DD HH:MM:SS (with an optional Z)"
    )]
    Format(String),
    #[error("'{0}' is not a valid time")]
    Invalid(String),
    #[error("'{0}' is in the past")]
    Past(String),
}

/// A reload time as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadTime {
    /// Year, month (1-12) and day of month, if a date is given.
    pub date: Option<(i32, u32, u32)>,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// A trailing `Z`: the time is UTC, not local.
    pub utc: bool,
}

/// When a reload is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// Seconds since the epoch.
    pub at: i64,
    /// The file gave a date: it is removed once the reload is done, `reload_repeat` or
    /// not, as it can never be due again.
    pub dated: bool,
}

/// The reload time in the file at `path`: `Ok(None)` when the file cannot be read or is
/// empty (a scheduled reload is then cancelled), and the text of its first line with
/// the reason when it holds no valid time.
pub fn read(path: &Path) -> Result<Option<(String, ReloadTime)>, (String, BadTime)> {
    let mut buf = [0u8; LINE_MAX];
    let Ok(mut f) = std::fs::File::open(path) else {
        return Ok(None);
    };
    let mut n = 0;
    while n < LINE_MAX {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => {
                if buf[n..n + k].contains(&b'\n') {
                    n += k;
                    break;
                }
                n += k;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(None),
        }
    }
    let line = first_line(&buf[..n]);
    if n == 0 {
        return Ok(None);
    }
    match parse(&line) {
        Ok(t) => Ok(Some((line, t))),
        Err(e) => Err((line, e)),
    }
}

/// The first line of what was read, without its newline.
fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// `line` as a reload time: its exact format is checked here, and whether the time
/// exists by [`ReloadTime::due`].
pub fn parse(line: &str) -> Result<ReloadTime, BadTime> {
    let bad = || BadTime::Format(line.to_string());
    let (text, utc) = match line.strip_suffix('Z') {
        Some(t) => (t, true),
        None => (line, false),
    };
    let (date, time) = match text.len() {
        8 => (None, text),
        17 | 19 => {
            let (d, t) = text.split_at(text.len() - 9);
            let t = t.strip_prefix(' ').ok_or_else(bad)?;
            (Some(d), t)
        }
        _ => return Err(bad()),
    };
    let [hour, minute, second] = fields(time, ':').ok_or_else(bad)?;
    let date = match date {
        None => None,
        Some(d) => {
            let [y, m, day] = fields(d, '-').ok_or_else(bad)?;
            // strptime's %y: 69-99 are 1969-1999, 00-68 are 2000-2068.
            let year = match d.len() {
                8 if y >= 69 => 1900 + y as i32,
                8 => 2000 + y as i32,
                _ => y as i32,
            };
            Some((year, m, day))
        }
    };
    let t = ReloadTime {
        date,
        hour,
        minute,
        second,
        utc,
    };
    // strptime's ranges; whether the day exists in its month is the calendar's to say.
    let in_range = hour <= 23
        && minute <= 59
        && second <= 60
        && date.is_none_or(|(_, m, d)| (1..=12).contains(&m) && (1..=31).contains(&d));
    if in_range {
        Ok(t)
    } else {
        Err(BadTime::Invalid(line.to_string()))
    }
}

/// Three fields of digits separated by `sep`: two digits each, or four for a first field
/// of that length.
fn fields(s: &str, sep: char) -> Option<[u32; 3]> {
    let mut parts = s.split(sep);
    let mut out = [0u32; 3];
    for (i, slot) in out.iter_mut().enumerate() {
        let p = parts.next()?;
        let width_ok = p.len() == 2 || (i == 0 && p.len() == 4);
        if !width_ok || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

impl ReloadTime {
    /// When this time is due, seen at `now` (seconds since the epoch): today's date for a
    /// time alone, tomorrow's once today's has passed (`parse_datetime()`).
    pub fn due(&self, now: i64, line: &str) -> Result<Due, BadTime> {
        let today = civil(now, self.utc);
        let (year, month, day) = self.date.unwrap_or(today);
        let at = self
            .epoch(year, month, day)
            .ok_or_else(|| BadTime::Invalid(line.to_string()))?;
        if at > now {
            return Ok(Due {
                at,
                dated: self.date.is_some(),
            });
        }
        if self.date.is_some() {
            return Err(BadTime::Past(line.to_string()));
        }
        // Tomorrow: the day after, normalised by the calendar (31 Dec + 1 is 1 Jan).
        let at = to_epoch(
            Fields {
                year,
                month,
                day: day + 1,
                hour: self.hour,
                minute: self.minute,
                second: self.second,
            },
            self.utc,
        )
        .ok_or_else(|| BadTime::Invalid(line.to_string()))?;
        Ok(Due { at, dated: false })
    }

    /// The epoch seconds of this time on the given date, if that time exists there: the
    /// calendar's reading of the fields must give back the same fields (keepalived's
    /// `mktime()` round trip).
    fn epoch(&self, year: i32, month: u32, day: u32) -> Option<i64> {
        let f = Fields {
            year,
            month,
            day,
            hour: self.hour,
            minute: self.minute,
            second: self.second,
        };
        let at = to_epoch(f, self.utc)?;
        (from_epoch(at, self.utc)? == f).then_some(at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fields {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

/// Today's date at `now`, in UTC or local time.
fn civil(now: i64, utc: bool) -> (i32, u32, u32) {
    from_epoch(now, utc).map_or((1970, 1, 1), |f| (f.year, f.month, f.day))
}

fn to_epoch(f: Fields, utc: bool) -> Option<i64> {
    // SAFETY: a zeroed `tm` is a valid value; timegm/mktime only read and normalise it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = f.year - 1900;
    tm.tm_mon = f.month as i32 - 1;
    tm.tm_mday = f.day as i32;
    tm.tm_hour = f.hour as i32;
    tm.tm_min = f.minute as i32;
    tm.tm_sec = f.second as i32;
    // Whether daylight saving applies is the time zone's to say.
    tm.tm_isdst = -1;
    // SAFETY: `tm` is a valid, owned struct.
    let t = unsafe {
        if utc {
            libc::timegm(&mut tm)
        } else {
            libc::mktime(&mut tm)
        }
    };
    (t != -1).then_some(t)
}

fn from_epoch(t: i64, utc: bool) -> Option<Fields> {
    // SAFETY: a zeroed `tm` is a valid value to be filled.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let time: libc::time_t = t;
    // SAFETY: both pointers are to owned, valid values.
    let ok = unsafe {
        if utc {
            !libc::gmtime_r(&time, &mut tm).is_null()
        } else {
            !libc::localtime_r(&time, &mut tm).is_null()
        }
    };
    ok.then(|| Fields {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
    })
}

/// `at` as the log lines give it: local `YYYY-MM-DD HH:MM:SS` (`format_time_t()`).
pub fn local_text(at: i64) -> String {
    match from_epoch(at, false) {
        Some(f) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            f.year, f.month, f.day, f.hour, f.minute, f.second
        ),
        None => at.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04 21:00:00 UTC.
    const NOW: i64 = 1_796_418_000;

    fn due(line: &str) -> Result<Due, BadTime> {
        parse(line)?.due(NOW, line)
    }

    #[test]
    fn the_three_formats_parse_with_or_without_z() {
        assert_eq!(
            parse("22:30:05").unwrap(),
            ReloadTime {
                date: None,
                hour: 22,
                minute: 30,
                second: 5,
                utc: false
            }
        );
        assert_eq!(
            parse("26-12-05 01:02:03Z").unwrap().date,
            Some((2026, 12, 5))
        );
        assert_eq!(parse("69-01-01 00:00:00").unwrap().date, Some((1969, 1, 1)));
        let t = parse("2026-12-05 01:02:03Z").unwrap();
        assert_eq!((t.date, t.hour, t.utc), (Some((2026, 12, 5)), 1, true));
    }

    #[test]
    fn anything_but_the_exact_formats_is_refused() {
        for bad in [
            "",
            "Z",
            "1:02:03",
            " 1:02:03",
            "01:02:03 ",
            "01:02:03\r",
            "01-02-03",
            "2026-12-05  01:02:03",
            "2026-12-05T01:02:03",
            "2026/12/05 01:02:03",
            "26-12-5 001:02:03",
            "2026-12-05 01:02:03ZZ",
            "+1:02:03",
            "aa:bb:cc",
        ] {
            assert!(
                matches!(parse(bad), Err(BadTime::Format(_))),
                "{bad:?}: {:?}",
                parse(bad)
            );
        }
        for bad in [
            "24:00:00",
            "12:60:00",
            "2026-13-01 00:00:00",
            "2026-00-01 00:00:00",
        ] {
            assert!(matches!(parse(bad), Err(BadTime::Invalid(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_time_alone_is_today_or_tomorrow_once_passed() {
        assert_eq!(
            due("21:30:00Z").unwrap(),
            Due {
                at: NOW + 1800,
                dated: false
            }
        );
        // Passed today, and the second that is now: tomorrow.
        assert_eq!(due("20:00:00Z").unwrap().at, NOW - 3600 + 86_400);
        assert_eq!(due("21:00:00Z").unwrap().at, NOW + 86_400);
    }

    #[test]
    fn a_date_and_time_is_that_moment_or_refused_once_passed() {
        assert_eq!(
            due("2026-12-05 00:00:00Z").unwrap(),
            Due {
                at: NOW + 3 * 3600,
                dated: true
            }
        );
        assert_eq!(due("26-12-04 21:00:01Z").unwrap().at, NOW + 1);
        assert!(matches!(due("2026-12-04 21:00:00Z"), Err(BadTime::Past(_))));
        assert!(matches!(due("2025-01-01 00:00:00Z"), Err(BadTime::Past(_))));
    }

    #[test]
    fn a_day_that_does_not_exist_is_refused() {
        for bad in [
            "2027-02-29 00:00:00Z",
            "2027-06-31 00:00:00Z",
            "2027-01-01 00:00:60Z",
        ] {
            assert!(matches!(due(bad), Err(BadTime::Invalid(_))), "{bad}");
        }
        assert!(due("2028-02-29 00:00:00Z").is_ok());
    }

    #[test]
    fn the_file_gives_its_first_line_of_at_most_20_characters() {
        let dir = std::env::temp_dir().join(format!("kars-reload-time-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t");
        std::fs::write(&f, "2030-01-02 03:04:05Z\nignored\n").unwrap();
        let (line, t) = read(&f).unwrap().unwrap();
        assert_eq!(line, "2030-01-02 03:04:05Z");
        assert_eq!(t.date, Some((2030, 1, 2)));
        std::fs::write(&f, "03:04:05\n").unwrap();
        assert_eq!(read(&f).unwrap().unwrap().0, "03:04:05");
        // More than 20 characters: the rest is not read, and the line is not a time.
        std::fs::write(&f, "2030-01-02 03:04:05Z junk").unwrap();
        assert!(read(&f).is_ok());
        std::fs::write(&f, "2030-01-02 03:04:05 junk").unwrap();
        assert!(matches!(read(&f), Err((_, BadTime::Format(_)))));
        std::fs::write(&f, "").unwrap();
        assert_eq!(read(&f), Ok(None));
        assert_eq!(read(&dir.join("missing")), Ok(None));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
