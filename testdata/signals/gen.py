#!/usr/bin/env python3
"""Writes the signal vectors of this folder (see README.md).

This script only saves typing: it expands compact list specs into full snapshot JSON. Every
expectation below is written by hand from docs/signals.md (momentum is the one formula evaluated
here, straight from its definition), never copied from the Rust scorer's output.

Run from anywhere: `python3 testdata/signals/gen.py`.
"""
import json
import math
import os
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = datetime(2026, 11, 1, 0, 0, 0, tzinfo=timezone.utc)
SITE, CAT = "MLB", "MLB1055"


def ts(hours):
    return (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pid(n):
    return f"MLBP{n:02d}"


def snap(hours, ids, details=None, category=CAT):
    details = details or {}
    entries = []
    for i, id_ in enumerate(ids):
        e = {"position": i + 1, "id": id_, "type": "PRODUCT", "title": f"Produto {id_[3:]}"}
        e.update(details.get(id_, {}))
        entries.append(e)
    return {"site": SITE, "category": category, "taken_at": ts(hours), "entries": entries}


def base(n=20):
    return [pid(i) for i in range(1, n + 1)]


def moved(ids, who, to):
    """The list with `who` moved to position `to` (others shift)."""
    out = [x for x in ids if x != who]
    out.insert(to - 1, who)
    return out


def ev(hours, kind, product, **fields):
    d = {"taken_at": ts(hours), "kind": kind, "product": product}
    d.update(fields)
    return d


def momentum(points, tau=12.0, window=24.0, base_pts=21):
    """points: [(age_hours, position or None)], the spec's decayed average of rank points."""
    num = den = 0.0
    for age, pos in points:
        if age > window:
            continue
        w = math.exp(-age / tau)
        num += w * (max(0, base_pts - pos) if pos else 0)
        den += w
    return round(num / den, 6)


VECTORS = []


def vector(name, description, snapshots, events, signals=None, config=None, calibration=None, suppressed=None):
    v = {"name": name, "description": description}
    if config:
        v["config"] = config
    if calibration:
        v["calibration"] = calibration
    v["snapshots"] = snapshots
    v["expect"] = {"events": events}
    if signals:
        v["expect"]["signals"] = signals
    if suppressed is not None:
        v["expect"]["suppressed"] = suppressed
    VECTORS.append(v)


# 01 — first run: a baseline, no events; an unchanged second list: no movement.
b = base()
vector(
    "01_first_run_baseline",
    "The first snapshot of a list emits no events (no new_entrant flood); an identical list an hour "
    "later emits none either and shows no movement.",
    [snap(0, b), snap(1, b)],
    [],
    signals=[
        {
            "taken_at": ts(0),
            "category": {"baseline": True, "has_previous": False, "list_length": 20, "volatility": None,
                         "churn": None, "entrants": 0, "exits": 0, "new_entrants_24h": 0,
                         "new_entrant_rate": 0.0, "history_snapshots": 0},
            "products": {
                pid(1): {"position": 1, "trend": "stable", "change_prev": None, "momentum": 20.0,
                         "first_seen": ts(0), "top_since": ts(0), "top_dwell_secs": 0,
                         "number_one_since": ts(0), "demand": {"share": 1.0, "low": 1.0, "high": 1.0}},
                pid(10): {"demand": {"share": 10 ** -0.87, "low": 10 ** -1.17, "high": 10 ** -0.57}},
                pid(11): {"top_since": None, "number_one_since": None, "momentum": 10.0},
            },
        },
        {
            "taken_at": ts(1),
            "category": {"baseline": False, "has_previous": True, "volatility": 0.0, "churn": 0.0,
                         "entrants": 0, "exits": 0, "volatility_24h": 0.0, "history_snapshots": 1},
            "products": {
                pid(1): {"change_prev": 0, "trend": "stable", "momentum": 20.0, "top_dwell_secs": 3600,
                         "number_one_dwell_secs": 3600, "first_seen": ts(0)},
                pid(20): {"change_prev": 0, "momentum": 1.0, "trend": "stable"},
            },
        },
    ],
)

# 02 — a never-seen product replaces #20.
b = base()
s1 = b[:19] + [pid(21)]
vector(
    "02_new_entrant_and_dropped_out",
    "After the baseline, a never-seen product takes #20 and the old #20 leaves.",
    [snap(0, b), snap(1, s1)],
    [
        ev(1, "new_entrant", pid(21), to_position=20, severity="info", trend="new"),
        ev(1, "dropped_out", pid(20), from_position=20, severity="info", title="Produto P20"),
    ],
    signals=[{
        "taken_at": ts(1),
        "category": {"entrants": 1, "exits": 1, "volatility": 0.05, "churn": 0.05, "new_entrants_24h": 1,
                     "new_entrant_rate": 0.05},
        "products": {pid(21): {"trend": "new", "first_seen": ts(1), "change_prev": None,
                                 "momentum": momentum([(1, None), (0, 20)])}},
    }],
)

# 03 — re-entry after one snapshot away.
b = base()
s1 = b[:19] + [pid(21)]
vector(
    "03_reentry",
    "P20 drops out for one snapshot and comes back: the second time it is a reentry, not a new entrant.",
    [snap(0, b), snap(1, s1), snap(2, b)],
    [
        ev(1, "new_entrant", pid(21), to_position=20),
        ev(1, "dropped_out", pid(20), from_position=20),
        ev(2, "reentry", pid(20), to_position=20, last_seen_at=ts(0), severity="info"),
        ev(2, "dropped_out", pid(21), from_position=20),
    ],
    signals=[{"taken_at": ts(2), "products": {pid(20): {"first_seen": ts(0), "trend": "stable"}}}],
)

# 04 — entering and leaving the top 10 (with climber / faller).
b = base()
s1 = moved(b, pid(14), 8)
s2 = moved(s1, pid(14), 15)
vector(
    "04_top_n_enter_leave_climb_fall",
    "P14 climbs from #14 to #8 (entered_top_10, climber) and then falls to #15 (left_top_10, faller). "
    "Products pushed from #10 to #11 stay in the top 10 (hysteresis band).",
    [snap(0, b), snap(1, s1), snap(2, s2)],
    [
        ev(1, "entered_top_n", pid(14), n=10, from_position=14, to_position=8, severity="info"),
        ev(1, "climber", pid(14), from_position=14, to_position=8, places=6, severity="info"),
        ev(2, "left_top_n", pid(14), n=10, from_position=8, to_position=15, severity="info"),
        ev(2, "faller", pid(14), from_position=8, to_position=15, places=-7, severity="info"),
    ],
    signals=[
        {"taken_at": ts(1), "products": {pid(14): {"change_prev": 6, "trend": "rising", "top_since": ts(1)},
                                         pid(10): {"position": 11, "change_prev": -1}}},
        {"taken_at": ts(2), "products": {pid(14): {"change_prev": -7, "trend": "stable", "top_since": None}}},
    ],
)

# 05 — hysteresis: flicker between #10 and #11.
b = base()
swap = moved(b, pid(11), 10)
out13 = moved(b, pid(11), 13)
vector(
    "05_hysteresis_flicker",
    "P11 flickers between #11 and #10 every hour: it enters the top 10 once, and leaves only when it "
    "falls below #12 (N + h). P10, pushed to #11 and back, never leaves.",
    [snap(0, b), snap(1, swap), snap(2, b), snap(3, swap), snap(4, b), snap(5, out13)],
    [
        ev(1, "entered_top_n", pid(11), n=10, from_position=11, to_position=10),
        ev(5, "left_top_n", pid(11), n=10, from_position=11, to_position=13),
    ],
    suppressed=0,
)

# 06 — re-arm: a product that jumps in and out of the top 10 (beyond the band) every hour.
b = base()
inn = moved(b, pid(14), 8)
snaps = [snap(h, inn if h % 2 == 1 else b) for h in range(0, 11)]
vector(
    "06_rearm",
    "P14 alternates between #14 and #8 every hour. entered/left/climber/faller fire at 1 h and 2 h; "
    "the same (kind, product) cannot fire again for 6 h (window [t - 6 h, t), measured from the last "
    "event that fired), so they fire again only at 9 h and 10 h.",
    snaps,
    [
        ev(1, "entered_top_n", pid(14), n=10), ev(1, "climber", pid(14), places=6),
        ev(2, "left_top_n", pid(14), n=10), ev(2, "faller", pid(14), places=-6),
        ev(9, "entered_top_n", pid(14), n=10), ev(9, "climber", pid(14), places=6),
        ev(10, "left_top_n", pid(14), n=10), ev(10, "faller", pid(14), places=-6),
    ],
    suppressed=12,
)

# 07 — new number one, and re-arm on it.
b = base()
ba = moved(b, pid(2), 1)
vector(
    "07_new_number_one",
    "P2 takes #1 (major), P1 takes it back, then P2 again within 6 h of its first event (suppressed).",
    [snap(0, b), snap(1, ba), snap(2, b), snap(3, ba)],
    [
        ev(1, "new_number_one", pid(2), from_position=2, to_position=1, previous_number_one=pid(1),
           severity="major"),
        ev(2, "new_number_one", pid(1), from_position=2, to_position=1, previous_number_one=pid(2),
           severity="major"),
    ],
    signals=[{"taken_at": ts(1), "products": {pid(2): {"number_one_since": ts(1), "number_one_dwell_secs": 0},
                                              pid(1): {"number_one_since": None, "top_since": ts(0),
                                                       "top_dwell_secs": 3600}}}],
    suppressed=1,
)

# 08 — price drop against the rolling minimum.
b = base()


def prices(p5, p6, p7, cur7="BRL"):
    return {pid(5): {"price": p5, "currency": "BRL"}, pid(6): {"price": p6, "currency": "BRL"},
            pid(7): {"price": p7, "currency": cur7}}


vector(
    "08_price_drop",
    "P5 costs 100 then 89 (-11%: info), then 85 (only -4.5% against the new minimum 89: nothing). "
    "P6 goes 100 -> 65 (-35%: major). P7's price changes currency (never compared).",
    [snap(0, b, prices(100, 100, 100)), snap(1, b, prices(100, 100, 100)), snap(2, b, prices(89, 65, 50, "USD")),
     snap(3, b, prices(85, 65, 50, "USD"))],
    [
        ev(2, "price_drop", pid(5), reference_price=100, price_change_share=-0.11, price=89, currency="BRL",
           severity="info", from_position=5, to_position=5),
        ev(2, "price_drop", pid(6), reference_price=100, price_change_share=-0.35, severity="major"),
    ],
    signals=[
        {"taken_at": ts(2), "products": {pid(5): {"price_min_window": 100, "price_vs_min": -0.11},
                                         pid(7): {"price_min_window": None, "price_vs_min": None}}},
        {"taken_at": ts(3), "products": {pid(5): {"price_min_window": 89, "price_vs_min": 85 / 89 - 1},
                                         pid(6): {"price_min_window": 65, "price_vs_min": 0.0},
                                         pid(7): {"price_min_window": 50, "price_vs_min": 0.0}}},
    ],
)


# 09 — reviews surge.
def rev(a, c):
    return {pid(3): {"reviews_total": a}, pid(4): {"reviews_total": c}}


vector(
    "09_reviews_surge",
    "P3 has 1000 reviews: +30 is below the threshold max(20, 5% of 1000 = 50); +60 over the window "
    "fires. P4 goes 10 -> 35 (+25 >= 20): fires; one more review an hour later is held back by re-arm.",
    [snap(0, b, rev(1000, 10)), snap(1, b, rev(1030, 35)), snap(2, b, rev(1060, 36))],
    [
        ev(1, "reviews_surge", pid(4), reviews_before=10, reviews_after=35, reviews_delta=25, severity="info"),
        ev(2, "reviews_surge", pid(3), reviews_before=1000, reviews_after=1060, reviews_delta=60,
           severity="info"),
    ],
    signals=[{"taken_at": ts(2), "products": {pid(3): {"reviews_delta": 30, "reviews_delta_24h": 60},
                                              pid(4): {"reviews_delta": 1, "reviews_delta_24h": 26}}}],
    suppressed=1,
)

# 10 — gaps: a missed fetch, then a gap longer than the lookback.
b = base()
s1 = moved(b, pid(15), 12)
s3 = moved(s1, pid(15), 8)
s4 = s3[:18] + [pid(21), pid(22)]
s4 = moved(s4, pid(1), 20)
vector(
    "10_gaps_in_history",
    "Fetches at 0 h, 1 h, (2 h missed), 3 h: 3 h compares with 1 h. Then nothing until 33 h, more than "
    "the 27 h lookback: no previous list, so only never-seen products fire (new_entrant); the fall of "
    "P1 to #20 and the products that left make no events.",
    [snap(0, b), snap(1, s1), snap(3, s3), snap(33, s4)],
    [
        ev(3, "entered_top_n", pid(15), n=10, from_position=12, to_position=8),
        ev(33, "new_entrant", pid(21), to_position=18),
        ev(33, "new_entrant", pid(22), to_position=19),
    ],
    signals=[
        {"taken_at": ts(3), "category": {"has_previous": True, "previous_at": ts(1), "history_snapshots": 2},
         "products": {pid(15): {"change_prev": 4, "prev_position": 12}}},
        {"taken_at": ts(33), "category": {"baseline": False, "has_previous": False, "volatility": None,
                                          "history_snapshots": 0, "new_entrants_24h": 2},
         "products": {pid(1): {"change_prev": None, "trend": "stable", "first_seen": ts(0)},
                      pid(21): {"trend": "new"}}},
    ],
)

# 11 — lists shorter than 20.
short = [pid(i) for i in range(1, 7)]
s1 = short[:5] + [pid(7)]
s2 = s1[:4]
vector(
    "11_short_list",
    "A list of 6: a never-seen product takes #6 (new_entrant and entered_top_10: every position of a "
    "short list is in the top 10); then the list shrinks to 4 and #5 and #6 drop out.",
    [snap(0, short), snap(1, s1), snap(2, s2)],
    [
        ev(1, "new_entrant", pid(7), to_position=6),
        ev(1, "entered_top_n", pid(7), n=10, to_position=6, from_position=None),
        ev(1, "dropped_out", pid(6), from_position=6),
        ev(1, "left_top_n", pid(6), n=10, from_position=6, to_position=None),
        ev(2, "dropped_out", pid(5), from_position=5),
        ev(2, "left_top_n", pid(5), n=10, from_position=5),
        ev(2, "dropped_out", pid(7), from_position=6),
        ev(2, "left_top_n", pid(7), n=10, from_position=6),
    ],
    signals=[
        {"taken_at": ts(1), "category": {"list_length": 6, "volatility": 1 / 6, "churn": 2 / 12}},
        {"taken_at": ts(2), "category": {"list_length": 4, "previous_length": 6, "volatility": 2 / 6,
                                         "churn": 2 / 10, "exits": 2},
         "products": {pid(4): {"demand": {"share": 4 ** -0.87}}}},
    ],
)

# 12 — the 24 h comparison, trend classes and momentum on an irregular series.
b = base()
a12 = moved(b, pid(15), 12)
a23 = moved(a12, pid(15), 9)
a25 = moved(a23, pid(15), 4)
m25 = momentum([(13, 12), (2, 9), (0, 4)])
vector(
    "12_day_comparison",
    "Snapshots at 0, 12, 23 and 25 h. P15 goes 15 -> 12 -> 9 -> 4. The 24 h reference is the snapshot "
    "closest to t - 24 h within 3 h: none at 12 h (trend uses the oldest snapshot instead), 0 h at 23 h "
    "and 25 h. At 25 h P15 is 11 places above its position 24 h before, inside the top 10: breakout.",
    [snap(0, b), snap(12, a12), snap(23, a23), snap(25, a25)],
    [
        ev(23, "entered_top_n", pid(15), n=10, from_position=12, to_position=9),
        ev(25, "climber", pid(15), from_position=9, to_position=4, places=5, severity="info"),
    ],
    signals=[
        {"taken_at": ts(12), "products": {pid(15): {"position_24h": None, "change_24h": None, "trend": "rising",
                                                    "change_prev": 3}}},
        {"taken_at": ts(23), "products": {pid(15): {"position_24h": 15, "change_24h": 6, "trend": "rising"}}},
        {"taken_at": ts(25), "products": {pid(15): {"position_24h": 15, "change_24h": 11, "trend": "breakout",
                                                    "momentum": m25, "top_since": ts(23),
                                                    "top_dwell_secs": 7200},
                                          pid(4): {"position": 5, "change_24h": -1, "trend": "stable"}},
         "category": {"history_snapshots": 3}},
    ],
)

# 13 — a calibration item replaces the default curve.
vector(
    "13_calibrated_demand",
    "With a RANKCURVE item (b = 1.2, b_stderr = 0.1) the band of position p is "
    "[p^-1.4, p^-1.0] around p^-1.2.",
    [snap(0, base(10))],
    [],
    calibration={"b": 1.2, "b_stderr": 0.1, "fitted_at": "2026-10-30T00:00:00Z", "n": 4200},
    signals=[{"taken_at": ts(0), "category": {"demand": {"b": 1.2, "b_stderr": 0.1, "source": "calibrated"}},
              "products": {pid(5): {"demand": {"share": 5 ** -1.2, "low": 5 ** -1.4, "high": 5 ** -1.0}}}}],
)

# 14 — dwell beyond the lookback, carried through the state's newest column.
b = base()
vector(
    "14_dwell_carried",
    "P1 is #1 in 31 hourly snapshots. Scored in order, its time at #1 keeps growing past the 27 h "
    "lookback (30 h at the end), and its momentum stays 20.",
    [snap(h, b) for h in range(0, 31)],
    [],
    signals=[{"taken_at": ts(30), "products": {pid(1): {"number_one_since": ts(0), "number_one_dwell_secs": 108000,
                                                        "top_dwell_secs": 108000, "momentum": 20.0,
                                                        "position_24h": 1, "change_24h": 0}},
              "category": {"history_snapshots": 27, "volatility_24h": 0.0}}],
)

# 15 — top 3 and top 10 at once (two keys, one product, one time).
b = base()
s1 = moved(b, pid(12), 2)
vector(
    "15_enter_top_10_and_top_3",
    "P12 jumps from #12 to #2: entered_top_10 and entered_top_3 (distinct keys), climber (notable: 10 "
    "places). P3, pushed to #4, leaves the top 3 only when it falls below #5 (N + h): not yet.",
    [snap(0, b), snap(1, s1)],
    [
        ev(1, "entered_top_n", pid(12), n=10, severity="info", from_position=12, to_position=2),
        ev(1, "entered_top_n", pid(12), n=3, severity="notable"),
        ev(1, "climber", pid(12), places=10, severity="notable"),
    ],
)


def main():
    for v in VECTORS:
        path = os.path.join(HERE, f"{v['name']}.json")
        with open(path, "w") as f:
            json.dump(v, f, indent=1, ensure_ascii=False)
            f.write("\n")
    print(f"wrote {len(VECTORS)} vectors")


if __name__ == "__main__":
    main()
