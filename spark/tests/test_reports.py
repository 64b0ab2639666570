"""The reports on a small two-site history: a brand that rises in Brazil three hours before Argentina,
a product that needs three hours to reach #1, a breakout, the daily volatility."""

import pytest

from meli_radar_spark import export, reports, signals
from meli_radar_spark.jsonrows import rows


def snap(site, h, ids, extra=None):
    extra = extra or {}
    entries = []
    for i, x in enumerate(ids):
        e = {"position": i + 1, "id": x, "type": "PRODUCT", "title": f"Produto {x}", "brand": "Filler"}
        e.update(extra.get(x, {}))
        entries.append(e)
    return {"site": site, "category": f"{site}1055", "taken_at": f"2026-11-01T{h:02d}:00:00Z", "entries": entries}


def moved(ids, who, to):
    out = [x for x in ids if x != who]
    out.insert(to - 1, who)
    return out


ACME = {"title": "ACME Phone X (128 GB)", "brand": "Acme"}


def history():
    snaps = []
    for site in ("MLB", "MLA"):
        base = [f"{site}F{i:02d}" for i in range(1, 21)]
        acme = f"{site}ACME"
        for h in range(7):
            ids = list(base)
            if site == "MLB":
                # Acme enters at #15 at 1 h, #5 at 2 h (a new product in the top 10), #1 from 4 h on.
                place = {1: 15, 2: 5, 3: 3}.get(h, 1 if h >= 4 else None)
                # F20 (in the list since the start) jumps to #2 at 3 h: a breakout.
                if h >= 3:
                    ids = moved(ids, f"{site}F20", 2)
            else:
                place = 3 if h >= 5 else None  # Acme reaches Argentina's top 10 at 5 h
            if place:
                ids = moved(ids[:19], acme, place)
            snaps.append(snap(site, h, ids, {acme: ACME}))
    return snaps


@pytest.fixture(scope="module")
def products_and_categories(spark):
    sig = signals.compute(export.snapshots_from_json(spark, history()))
    return sig.products, sig.categories


def test_diffusion_finds_the_leader_and_the_lag(products_and_categories):
    products, _ = products_and_categories
    got = rows(reports.diffusion(products))
    acme = sorted((r["kind"], r["key"], r["site"], r["follower_site"], r["lag_hours"]) for r in got
                  if "acme" in r["key"])
    assert acme == [("brand", "acme", "MLB", "MLA", 3.0), ("title", "acme phone x 128 gb", "MLB", "MLA", 3.0)]


def test_time_to_number_one(products_and_categories):
    products, _ = products_and_categories
    per, summary = reports.time_to_number_one(products)
    got = [(r["site"], r["id"], r["hours"]) for r in rows(per)]
    # The baseline #1 (there from the first snapshot) has no known start: only Acme counts.
    assert got == [("MLB", "MLBACME", 3.0)]
    s = rows(summary)
    assert [(r["site"], r["products"], r["hours_p50"]) for r in s] == [("MLB", 1, 3.0)]


def test_breakouts(products_and_categories):
    products, _ = products_and_categories
    got = [(r["site"], r["id"], r["best_position"], r["first_breakout"]) for r in rows(reports.breakouts(products))]
    assert ("MLB", "MLBF20", 2, "2026-11-01T03:00:00Z") in got
    assert all(r[1] != "MLBACME" for r in got)  # a new product is `new`, not a breakout


def test_volatility_per_day(products_and_categories):
    _, categories = products_and_categories
    got = {(r["site"], r["date"]): r for r in rows(reports.volatility(categories))}
    assert got[("MLB", "2026-11-01")]["snapshots"] == 7
    assert got[("MLA", "2026-11-01")]["entrants"] == 1
    assert got[("MLA", "2026-11-01")]["volatility_max"] > 0
