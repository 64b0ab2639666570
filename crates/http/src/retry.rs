//! Retry policy: exponential backoff with jitter, `Retry-After` when sent, and a deadline.
//!
//! What is retried is decided by `SourceError::is_transient` alone (429, 5xx, timeouts, dropped
//! connections, truncated or malformed bodies).
//!
//! The arithmetic, with the defaults (`max_attempts` = 4, `request_timeout` = 10 s, `base` = 250 ms,
//! `max_backoff` = 8 s): the worst case of one call without a deadline is
//! 4 × 10 s (attempts) + (0.25 + 0.5 + 1) s (backoffs, jitter only shortens them) ≈ 41.8 s, which fits
//! a 60 s function timeout with room for the rate limiter. With a deadline `D`, nothing is started
//! that cannot finish before `D`:
//! - an attempt starts only if `remaining ≥ min_attempt` (default 1 s), and its timeout is
//!   `min(request_timeout, remaining)`, so it ends (answer or timeout) by `D`;
//! - a backoff sleep (or rate-limiter wait) is taken only if `remaining − sleep ≥ min_attempt`;
//!   otherwise the call stops with its last error (or `DeadlineExceeded` if it had none).
//!
//! So `Σ attempt timeouts + Σ sleeps ≤ D − start` always holds.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// How a call is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (≥ 1).
    pub max_attempts: u32,
    /// Timeout of one attempt (connect + headers + body).
    pub request_timeout: Duration,
    /// First backoff; doubles each retry.
    pub base: Duration,
    /// Cap of one backoff (before jitter), and of an honoured `Retry-After`.
    pub max_backoff: Duration,
    /// No attempt starts with less time than this before the deadline.
    pub min_attempt: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            request_timeout: Duration::from_secs(10),
            base: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            min_attempt: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The sleep before retry number `retry` (1 for the first retry): "equal jitter", uniform in
    /// `[d/2, d]` with `d = min(max_backoff, base·2^(retry−1))`; a `Retry-After` is honoured as a floor
    /// (capped at `max_backoff`), plus up to 10 % jitter so that a crowd does not come back at once.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>, rng: &mut impl Rng) -> Duration {
        let exp = self.base.saturating_mul(1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX));
        let d = exp.min(self.max_backoff);
        let jittered = d.mul_f64(rng.gen_range(0.5..=1.0));
        match retry_after {
            Some(ra) => {
                let ra = ra.min(self.max_backoff);
                ra.max(jittered) + ra.mul_f64(rng.gen_range(0.0..=0.1))
            }
            None => jittered,
        }
    }

    /// The timeout of an attempt starting now, or `None` if no attempt may start before `deadline`.
    pub fn attempt_timeout(&self, now: Instant, deadline: Option<Instant>) -> Option<Duration> {
        match deadline {
            None => Some(self.request_timeout),
            Some(d) => {
                let remaining = d.saturating_duration_since(now);
                (remaining >= self.min_attempt && !remaining.is_zero()).then(|| self.request_timeout.min(remaining))
            }
        }
    }

    /// Whether sleeping `sleep` from `now` still leaves an attempt's worth of time before `deadline`.
    pub fn may_sleep(&self, now: Instant, sleep: Duration, deadline: Option<Instant>) -> bool {
        deadline.is_none_or(|d| d.saturating_duration_since(now) >= sleep + self.min_attempt)
    }

    /// The latest moment an attempt may start (for the rate limiter's wait).
    pub fn latest_start(&self, deadline: Option<Instant>) -> Option<Instant> {
        deadline.map(|d| d.checked_sub(self.min_attempt).unwrap_or(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn backoff_grows_with_jitter_and_honours_retry_after() {
        let p = RetryPolicy::default();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for retry in 1..=8 {
            let d = p.base.saturating_mul(1 << (retry - 1)).min(p.max_backoff);
            for _ in 0..50 {
                let b = p.backoff(retry, None, &mut rng);
                assert!(b >= d / 2 && b <= d, "retry {retry}: {b:?} outside [{:?}, {d:?}]", d / 2);
            }
        }
        let b = p.backoff(1, Some(Duration::from_secs(3)), &mut rng);
        assert!(b >= Duration::from_secs(3) && b <= Duration::from_millis(3300));
        let capped = p.backoff(1, Some(Duration::from_secs(3600)), &mut rng);
        assert!(capped <= p.max_backoff.mul_f64(1.1));
        // Different draws differ (jitter exists).
        let draws: std::collections::BTreeSet<u128> =
            (0..20).map(|_| p.backoff(3, None, &mut rng).as_nanos()).collect();
        assert!(draws.len() > 10);
    }

    #[test]
    fn deadline_arithmetic() {
        let p = RetryPolicy::default();
        let now = Instant::now();
        assert_eq!(p.attempt_timeout(now, None), Some(p.request_timeout));
        assert_eq!(p.attempt_timeout(now, Some(now + Duration::from_secs(3))), Some(Duration::from_secs(3)));
        assert_eq!(p.attempt_timeout(now, Some(now + Duration::from_millis(999))), None);
        assert_eq!(p.attempt_timeout(now, Some(now + Duration::from_secs(60))), Some(p.request_timeout));
        assert!(p.may_sleep(now, Duration::from_secs(1), Some(now + Duration::from_secs(2))));
        assert!(!p.may_sleep(now, Duration::from_millis(1001), Some(now + Duration::from_secs(2))));
    }
}
