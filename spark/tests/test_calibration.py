"""The calibration recovers a known exponent from a synthetic history: review growth at position p
drawn around rate · p^-b (Poisson), products reshuffled over time."""

import json
import math
import random
from datetime import datetime, timedelta, timezone

import pytest

from meli_radar_spark import calibration, export, signals

T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)


def poisson(rng, lam):
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def history(site, cat, b, hours, seed, rate=30.0, n=20, sales=False, read_every=1):
    """Hourly snapshots of one list: neighbours swap at random, reviews grow at rate·p^-b per hour.
    With `read_every` > 1 the snapshots show a product's total as last read, every `read_every` hours
    (staggered across products), as the fetcher's reviews TTL does."""
    rng = random.Random(seed)
    order = [f"{site}{seed}{i:03d}" for i in range(n)]
    reviews = {x: rng.randint(0, 500) for x in order}
    sold = {x: 0 for x in order}
    shown = dict(reviews)
    snaps = []
    for h in range(hours):
        for _ in range(3):
            i = rng.randrange(n - 1)
            order[i], order[i + 1] = order[i + 1], order[i]
        entries = []
        for p, x in enumerate(order, start=1):
            reviews[x] += poisson(rng, rate * p ** -b)
            if (h + int(x[-3:])) % read_every == 0:
                shown[x] = reviews[x]
            e = {"position": p, "id": x, "type": "PRODUCT", "reviews_total": shown[x]}
            if sales:
                sold[x] += poisson(rng, 4 * rate * p ** -b)
                e["sold_quantity"] = sold[x]
            entries.append(e)
        snaps.append({"site": site, "category": cat,
                      "taken_at": (T0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ"), "entries": entries})
    return snaps


@pytest.fixture(scope="module")
def fitted(spark):
    snaps = (
        history("MLB", "MLB1055", 1.1, 300, seed=1)
        + history("MLA", "MLA1051", 0.6, 300, seed=2)
        + history("MLM", "MLM1000", 0.9, 300, seed=3, sales=True)
        + history("MLC", "MLC9", 1.0, 2, seed=4)  # too little evidence: no item
        + history("MLB", "MLB1000", 0.8, 400, seed=5, rate=3.0, read_every=24)
    )
    df = signals.prepare(export.snapshots_from_json(spark, snaps))
    return {(r["site"], r["category"]): r for r in calibration.fit(df).collect()}


def test_recovers_the_known_exponent(fitted):
    mlb, mla = fitted[("MLB", "MLB1055")], fitted[("MLA", "MLA1051")]
    assert abs(mlb["b"] - 1.1) <= 0.05, mlb
    assert abs(mla["b"] - 0.6) <= 0.05, mla
    for r in (mlb, mla):
        assert r["evidence"] == "reviews"
        assert 0 < r["b_stderr"] < 0.1
        # Every step between a product's first and last change of its total: nearly all of them.
        assert r["positions"] == 20 and 299 * 20 - 100 < r["n"] <= 299 * 20


def test_recovers_the_exponent_from_totals_read_once_a_day(fitted):
    # Reviews read every 24 h (the snapshots in between repeat the reading), at 3·p^-b per hour:
    # growth per snapshot is mostly zero, the reading intervals carry the evidence.
    r = fitted[("MLB", "MLB1000")]
    assert r["evidence"] == "reviews"
    assert abs(r["b"] - 0.8) <= 0.05, r
    assert 0 < r["b_stderr"] < 0.1


def test_reading_intervals_stay_within_a_stay_in_the_list(spark):
    # One product: read (total changes) at h2, h4 and h9; absent from the list at h6, so the
    # interval h4→h9 spans an absence and gives nothing; h2→h4 is the only closed one.
    pos = {0: 3, 1: 3, 2: 3, 3: 4, 4: 2, 5: 2, 7: 1, 8: 1, 9: 1}
    tot = {0: 10, 1: 10, 2: 14, 3: 14, 4: 20, 5: 20, 7: 20, 8: 20, 9: 31}
    snaps = []
    for h in range(10):
        entries = [{"position": 9, "id": "OTHER", "type": "PRODUCT"}]
        if h in pos:
            entries.append({"position": pos[h], "id": "P", "type": "PRODUCT", "reviews_total": tot[h]})
        snaps.append({"site": "MLB", "category": "MLB1", "entries": entries,
                      "taken_at": (T0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    obs = calibration.observations(signals.prepare(export.snapshots_from_json(spark, snaps))).collect()
    assert [(o["evidence"], o["growth"], o["hours"], o["steps"]) for o in obs] == [("reviews", 6.0, 2.0, 2)]
    # Positions 4 then 2 for an hour each: geometric mean √8 ≈ 2.8 → 3.
    assert obs[0]["position"] == 3


def test_sales_evidence_wins_when_present(fitted):
    r = fitted[("MLM", "MLM1000")]
    assert r["evidence"] == "sales"
    assert abs(r["b"] - 0.9) <= 0.05, r


def test_too_little_evidence_gives_no_item(fitted):
    assert ("MLC", "MLC9") not in fitted


def test_items_are_the_scorers_calibration_items(fitted, tmp_path, spark):
    rows = [fitted[("MLB", "MLB1055")], fitted[("MLA", "MLA1051")]]
    items = calibration.items(rows, "2026-06-14T00:00:00Z")
    assert [i["pk"] for i in items] == ["CAL#MLA#MLA1051", "CAL#MLB#MLB1055"]
    path = tmp_path / "cal" / "calibration.json"
    export.write_items(items, str(path))
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    item = lines[1]["Item"]
    assert item["sk"] == {"S": "RANKCURVE"}
    assert item["fitted_at"] == {"S": "2026-06-14T00:00:00Z"}
    assert float(item["b"]["N"]) == pytest.approx(rows[0]["b"])
    assert item["n"] == {"N": str(rows[0]["n"])}
    # The signals read it back through the export reader: the band follows the fitted b.
    cal = export.calibration_from_items(export.parse_items(export.read_lines(spark, str(path))))
    got = {(r["site"], r["category"]): r["b"] for r in cal.collect()}
    assert got[("MLB", "MLB1055")] == pytest.approx(rows[0]["b"])
