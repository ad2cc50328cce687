//! Wall-clock time, ours and the platform's. Our "now" in Unix ms (with the test hook
//! `CARDMINT_TEST_CLOCK_OFFSET_MS`, which plays a machine whose clock is off or has stepped),
//! and what an answer's `Date` header says of the platform's clock against ours. Waits never
//! use these: they use `Instant`, the monotonic clock.

/// Today's date on this machine's calendar: the day a sale, a consignment or an expiry is
/// counted on.
pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// The one way cardmint writes a moment: RFC 3339 in UTC to the second,
/// `2026-12-03T23:59:07Z` (the ledger, the manifest, the lock's holder, call records, reports).
pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// [`stamp`] of a platform time given in UTC without its zone (call records).
pub fn stamp_utc(t: chrono::NaiveDateTime) -> String {
    stamp(t.and_utc())
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let offset = *OFFSET.get_or_init(|| {
        std::env::var("CARDMINT_TEST_CLOCK_OFFSET_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    });
    chrono::Utc::now().timestamp_millis() + offset
}

/// How far the platform's clock is ahead of ours (platform − ours, in ms), as an interval that
/// holds the truth: `lo_ms ..= hi_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub lo_ms: i64,
    pub hi_ms: i64,
}

impl Offset {
    /// Nothing measured: the clocks are taken to agree within 2 s (call times have one-second
    /// precision, and a small drift is common).
    pub const UNMEASURED: Offset = Offset {
        lo_ms: -2_000,
        hi_ms: 2_000,
    };

    /// From an answer whose `Date` header said `date_ms` (to the second), to a request that left
    /// at `sent_ms` and was answered at `recv_ms` (our clock): the platform wrote its date
    /// between the two, in the second it names.
    pub fn from_date(date_ms: i64, sent_ms: i64, recv_ms: i64) -> Offset {
        // A little room for the platform's own rounding and our scheduling.
        const SLACK_MS: i64 = 250;
        Offset {
            lo_ms: date_ms - recv_ms - SLACK_MS,
            hi_ms: date_ms + 1_000 - sent_ms + SLACK_MS,
        }
    }

    /// When a moment of the platform's clock may have been on ours: `lo ..= hi`.
    pub fn ours(&self, platform_ms: i64) -> (i64, i64) {
        (
            platform_ms.saturating_sub(self.hi_ms),
            platform_ms.saturating_sub(self.lo_ms),
        )
    }
}

/// The `Date` header of an HTTP answer (RFC 7231, `Wed, 02 Dec 2026 19:25:00 GMT`), in Unix ms.
pub fn http_date_ms(value: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|d| d.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_header_bounds_the_offset_and_places_platform_times_on_ours() {
        let date = http_date_ms("Wed, 02 Dec 2026 19:25:00 GMT").unwrap();
        // The platform is 36 s ahead; the request took 100 ms.
        let sent = date - 36_000 - 40;
        let offset = Offset::from_date(date, sent, sent + 100);
        assert!(
            offset.lo_ms <= 36_000 && 36_000 <= offset.hi_ms,
            "{offset:?}"
        );
        assert!(offset.hi_ms - offset.lo_ms < 1_700, "{offset:?}");
        let (lo, hi) = offset.ours(date + 5_000);
        assert!(lo <= date + 5_000 - 36_000 && date + 5_000 - 36_000 <= hi);
        assert_eq!(http_date_ms("not a date"), None);
    }
}
