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


def history(site, cat, b, hours, seed, rate=30.0, n=20, sales=False):
    """Hourly snapshots of one list: neighbours swap at random, reviews grow at rate·p^-b per hour."""
    rng = random.Random(seed)
    order = [f"{site}{seed}{i:03d}" for i in range(n)]
    reviews = {x: rng.randint(0, 500) for x in order}
    sold = {x: 0 for x in order}
    snaps = []
    for h in range(hours):
        for _ in range(3):
            i = rng.randrange(n - 1)
            order[i], order[i + 1] = order[i + 1], order[i]
        entries = []
        for p, x in enumerate(order, start=1):
            reviews[x] += poisson(rng, rate * p ** -b)
            e = {"position": p, "id": x, "type": "PRODUCT", "reviews_total": reviews[x]}
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
        assert r["positions"] == 20 and r["n"] == 299 * 20


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
