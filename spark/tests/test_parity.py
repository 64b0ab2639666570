"""The signal vectors of testdata/signals/ through the Spark job: the same files, and the same
comparison, as crates/core/tests/signals_vectors.rs. Events must match exactly by key (time, key kind,
product) and in every listed field; signals at the listed times in every listed field; the number
suppressed by re-arm when the vector says it."""

import glob
import json
import os

import pytest
from pyspark.sql import functions as F

from jsoncheck import check
from meli_radar_spark import export, signals
from meli_radar_spark.config import SignalConfig
from meli_radar_spark.jsonrows import rows

VECTOR_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "signals")
VECTORS = sorted(glob.glob(os.path.join(VECTOR_DIR, "*.json")))


def key_kind_of(e):
    kind, n = e["kind"], e.get("n")
    if n is not None and kind in ("entered_top_n", "left_top_n"):
        return f"{kind[:-2]}_{n}"
    return kind


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def results(spark):
    """Every vector scored in one Spark run per distinct config: each vector's lists get their own
    category name, so they cannot see each other."""
    by_config = {}
    for i, path in enumerate(VECTORS):
        v = load(path)
        key = json.dumps(v.get("config") or {}, sort_keys=True)
        by_config.setdefault(key, []).append((i, path, v))
    out = {}
    for key, group in by_config.items():
        cfg = SignalConfig.from_json(json.loads(key))
        snaps, cals = [], []
        for i, path, v in group:
            for s in v["snapshots"]:
                s = dict(s, category=f"{s['category']}V{i:02d}")
                snaps.append(s)
            if "calibration" in v:
                s0 = v["snapshots"][0]
                c = v["calibration"]
                cals.append((s0["site"], f"{s0['category']}V{i:02d}", float(c["b"]), float(c["b_stderr"])))
        cal_df = spark.createDataFrame(cals, "site string, category string, b double, b_stderr double") if cals else None
        sig = signals.compute(export.snapshots_from_json(spark, snaps), cfg, cal_df)
        ev = rows(sig.events)
        prods = rows(sig.products)
        cats = rows(sig.categories)
        sup = rows(sig.suppressed)
        for i, path, v in group:
            cat = f"V{i:02d}"
            mine = lambda r: r["category"].endswith(cat)  # noqa: E731
            out[os.path.basename(path)] = {
                "events": [r for r in ev if mine(r)],
                "products": [r for r in prods if mine(r)],
                "categories": [r for r in cats if mine(r)],
                "suppressed": sum(r["suppressed"] for r in sup if mine(r)),
            }
    return out


def test_there_are_vectors_for_every_event_kind():
    assert len(VECTORS) >= 10
    kinds = {e["kind"] for p in VECTORS for e in load(p)["expect"]["events"]}
    assert kinds >= {
        "new_entrant", "reentry", "dropped_out", "entered_top_n", "left_top_n", "new_number_one",
        "climber", "faller", "price_drop", "reviews_surge",
    }


@pytest.mark.parametrize("path", VECTORS, ids=[os.path.basename(p)[:-5] for p in VECTORS])
def test_vector(path, results):
    v = load(path)
    got = results[os.path.basename(path)]
    expect = v["expect"]

    # Events: exactly the expected keys, and the listed fields.
    want_keys = sorted((e["taken_at"], key_kind_of(e), e["product"]) for e in expect["events"])
    got_keys = sorted((e["taken_at"], e["key_kind"], e["product"]) for e in got["events"])
    assert got_keys == want_keys, f"events differ:\n  expected {want_keys}\n  got      {got_keys}"
    for e in expect["events"]:
        key = (e["taken_at"], key_kind_of(e), e["product"])
        actual = next(a for a in got["events"] if (a["taken_at"], a["key_kind"], a["product"]) == key)
        check(e, actual, f"event {key}")
    if "suppressed" in expect:
        assert got["suppressed"] == expect["suppressed"], "suppressed events"

    # Signals at the listed snapshot times.
    for s in expect.get("signals", []):
        at = s["taken_at"]
        cat = [c for c in got["categories"] if c["taken_at"] == at]
        assert cat, f"no category signals at {at}"
        if "category" in s:
            check(s["category"], cat[0], f"{at} category")
        for pid, ep in (s.get("products") or {}).items():
            p = [x for x in got["products"] if x["taken_at"] == at and x["id"] == pid]
            assert p, f"{at}: no product {pid}"
            check(ep, p[0], f"{at} {pid}")


def test_an_unchanged_list_has_no_movement(spark):
    """A property the Rust suite checks too: the same list again and again (irregular gaps, one
    beyond the lookback) gives no events and zero volatility and churn."""
    ids = [f"MLBX{i}" for i in (5, 3, 9, 1, 7)]
    hours = [0, 1, 5, 40, 41.5, 60]
    snaps = [
        {
            "site": "MLB",
            "category": "MLB1000",
            "taken_at": f"2026-11-0{1 + int(h // 24)}T{int(h % 24):02d}:{int((h * 60) % 60):02d}:00Z",
            "entries": [{"position": i + 1, "id": x, "type": "PRODUCT"} for i, x in enumerate(ids)],
        }
        for h in hours
    ]
    sig = signals.compute(export.snapshots_from_json(spark, snaps))
    assert sig.events.count() == 0
    cats = rows(sig.categories)
    assert len(cats) == len(hours)
    for c in cats:
        if c["has_previous"]:
            assert c["volatility"] == 0.0 and c["churn"] == 0.0
    assert sig.products.where((F.col("trend") != "stable") | (F.coalesce("change_prev", F.lit(0)) != 0)).count() == 0
