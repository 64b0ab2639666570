//! `fetcher`: Lambda: fetches best-seller lists on a schedule.
