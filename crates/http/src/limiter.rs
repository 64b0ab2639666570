//! A token-bucket rate limiter shared by every request of the process.
//!
//! The budget defaults to 4.5 requests/s: 90 % of the 18,000 requests/hour an app gets
//! (`max_requests_per_hour`, meli-api.md §10.1). Waiters *reserve* a slot: the bucket may go negative,
//! and each caller sleeps until its own slot comes, so callers are served in arrival order and a
//! burst of N callers is spread exactly `1/rate` apart. Over any window of `T` seconds at most
//! `burst + rate·T` requests start.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
struct Bucket {
    /// Available tokens; negative when slots are reserved ahead.
    tokens: f64,
    last: Instant,
}

/// A token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    // Held only to update the bucket, never across the sleep.
    bucket: Mutex<Bucket>,
}

/// The limiter could not give a slot before the caller's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSlotBeforeDeadline;

impl RateLimiter {
    /// `rate` requests per second (must be > 0), `burst` ≥ 1 requests at once. The bucket starts full.
    pub fn new(rate: f64, burst: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 { rate } else { 4.5 };
        let burst = if burst.is_finite() && burst >= 1.0 { burst } else { 1.0 };
        RateLimiter { rate, burst, bucket: Mutex::new(Bucket { tokens: burst, last: Instant::now() }) }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Waits for a slot. With a `latest_start`, gives up at once (reserving nothing) when the slot
    /// would come after it.
    pub async fn acquire(&self, latest_start: Option<Instant>) -> Result<(), NoSlotBeforeDeadline> {
        let wait = {
            let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
            b.last = now;
            let wait =
                if b.tokens >= 1.0 { Duration::ZERO } else { Duration::from_secs_f64((1.0 - b.tokens) / self.rate) };
            if latest_start.is_some_and(|t| now + wait > t) {
                return Err(NoSlotBeforeDeadline);
            }
            b.tokens -= 1.0;
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spreads_a_burst_at_the_budget() {
        let l = std::sync::Arc::new(RateLimiter::new(4.5, 2.0));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..20 {
            let l = l.clone();
            handles.push(tokio::spawn(async move {
                l.acquire(None).await.unwrap();
                Instant::now()
            }));
        }
        let mut times: Vec<f64> = Vec::new();
        for h in handles {
            times.push((h.await.unwrap() - start).as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        // Over every window, at most burst + rate·T starts.
        for (i, t) in times.iter().enumerate() {
            let allowed = 2.0 + 4.5 * t + 1e-6;
            assert!((i + 1) as f64 <= allowed.floor() + 1e-9, "start {i} at {t}s exceeds the budget");
        }
        // And it does not wait more than it must: 18 slots after the burst at 1/4.5 s each.
        let last = times.last().copied().unwrap();
        assert!((last - 18.0 / 4.5).abs() < 0.01, "last start at {last}s");
    }

    #[tokio::test(start_paused = true)]
    async fn refuses_a_slot_past_the_deadline_without_reserving_it() {
        let l = RateLimiter::new(1.0, 1.0);
        l.acquire(None).await.unwrap();
        let soon = Instant::now() + Duration::from_millis(500);
        assert_eq!(l.acquire(Some(soon)).await, Err(NoSlotBeforeDeadline));
        // Nothing was reserved: the next slot is still one second after the first.
        let t0 = Instant::now();
        l.acquire(None).await.unwrap();
        assert_eq!((Instant::now() - t0).as_millis(), 1000);
    }
}
