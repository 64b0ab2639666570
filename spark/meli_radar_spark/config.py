"""The signal thresholds of docs/signals.md §2 — the same names and defaults as the Rust
``SignalConfig`` (crates/core/src/signals/config.rs), so a vector's ``config`` object means the same
thing to both implementations."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

DAY_SECS = 86_400


@dataclass(frozen=True)
class SignalConfig:
    top_n: tuple = (10, 3)
    hysteresis: int = 2
    rearm_secs: int = 6 * 3600
    move_places: int = 5
    price_drop_share: float = 0.10
    price_window_secs: int = 86_400
    reviews_window_secs: int = 86_400
    reviews_surge_min: int = 20
    reviews_surge_share: float = 0.05
    momentum_tau_secs: int = 12 * 3600
    momentum_window_secs: int = 86_400
    momentum_base: int = 21
    trend_places: int = 3
    breakout_places: int = 10
    breakout_top: int = 10
    new_window_secs: int = 86_400
    dwell_top: int = 10
    day_tolerance_secs: int = 3 * 3600
    demand_b: float = 0.87
    demand_b_stderr: float = 0.15
    sparkline_points: int = 12
    event_ttl_days: int = 90
    snapshot_ttl_days: int = 400
    _extra: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: dict | None) -> "SignalConfig":
        """A partial JSON object: missing fields take their defaults, unknown ones are an error (as in
        Rust's ``deny_unknown_fields``)."""
        obj = dict(obj or {})
        known = {f.name for f in fields(cls) if not f.name.startswith("_")}
        unknown = set(obj) - known
        if unknown:
            raise ValueError(f"unknown signal config fields: {sorted(unknown)}")
        if "top_n" in obj:
            obj["top_n"] = tuple(obj["top_n"])
        return cls(**obj)

    def lookback_secs(self) -> int:
        """How far back a snapshot's history reaches (the longest window any signal needs)."""
        secs = max(
            DAY_SECS + max(self.day_tolerance_secs, 0),
            self.price_window_secs,
            self.reviews_window_secs,
            self.momentum_window_secs,
        )
        return max(secs, 0)

    def rearm(self) -> int:
        return max(self.rearm_secs, 0)

    def top_ns(self) -> list[int]:
        """Deduplicated, without 0, largest first."""
        return sorted({n for n in self.top_n if n > 0}, reverse=True)

    def smallest_top(self) -> int:
        ns = self.top_ns()
        return ns[-1] if ns else 3
