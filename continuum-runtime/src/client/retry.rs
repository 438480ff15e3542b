//! When to try again: exponential backoff with jitter, capped, and the
//! server's `retry-after`. Used by publishing (retries) and subscribing
//! (reconnects) alike.

use std::time::Duration;

use http::header::{HeaderMap, RETRY_AFTER};

pub(super) fn backoff_delay(
    (initial, max): (Duration, Duration),
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    if let Some(after) = retry_after {
        return after.min(max);
    }
    let exp = initial
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(max);
    // "Equal jitter": half fixed, half random, so retries of many clients spread out.
    let half = exp / 2;
    let jitter = crate::id::random_u64() % (half.as_micros() as u64 + 1);
    half + Duration::from_micros(jitter)
}

/// `retry-after` in seconds or as an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    #[test]
    fn backoff_grows_with_jitter_and_honours_retry_after_up_to_max() {
        let b = (Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 1..=8 {
            let full =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            let d = backoff_delay(b, attempt, None);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            backoff_delay(b, 1, Some(Duration::from_millis(300))),
            Duration::from_millis(300)
        );
        assert_eq!(
            backoff_delay(b, 1, Some(Duration::from_secs(2))),
            Duration::from_secs(1)
        );
        assert_eq!(backoff_delay(b, 1, Some(Duration::ZERO)), Duration::ZERO);
        assert!(backoff_delay(b, u32::MAX, None) <= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_seconds_or_date() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
