"""The export reader on DynamoDB-JSON: the layout of DynamoDB's export to S3 (gzip'd data files next
to manifests), items of every kind in one table, typed attribute values (numbers as strings, NULL),
and lines that are not items."""

import glob
import gzip
import json
import os

import pytest

from meli_radar_spark import export, signals
from meli_radar_spark.jsonrows import rows


def entry(pos, id_, **extra):
    m = {"position": {"N": str(pos)}, "id": {"S": id_}, "type": {"S": "PRODUCT"}, "resolution": {"S": "resolved"}}
    m.update(extra)
    return {"M": m}


SNAP_1 = {
    "pk": {"S": "CAT#MLB#MLB1055"},
    "sk": {"S": "SNAP#2026-11-01T00:00:00Z"},
    "site": {"S": "MLB"},
    "category": {"S": "MLB1055"},
    "taken_at": {"S": "2026-11-01T00:00:00Z"},
    "expires_at": {"N": "1796083200"},
    "fetch": {"M": {"api_calls": {"N": "3"}, "duration_ms": {"N": "120"}}},
    "entries": {
        "L": [
            entry(1, "MLB1", title={"S": "Celular \"X\" — 128 GB"}, price={"N": "1999.9"}, currency={"S": "BRL"},
                  reviews_total={"N": "1200"}, rating={"N": "4.7"}),
            entry(2, "MLB2", price={"NULL": True}, brand={"S": "Marca"}),
        ]
    },
}
SNAP_2 = json.loads(json.dumps(SNAP_1))
SNAP_2["sk"] = {"S": "SNAP#2026-11-01T01:00:00Z"}
SNAP_2["taken_at"] = {"S": "2026-11-01T01:00:00Z"}
SNAP_2["entries"]["L"].reverse()
SNAP_2["entries"]["L"][0]["M"]["position"] = {"N": "1"}
SNAP_2["entries"]["L"][1]["M"]["position"] = {"N": "2"}
# SNAP_2 as items are stored now: the entries as one JSON text of columns.
SNAP_2["entries"] = {"S": json.dumps({
    "position": [1, 2], "id": ["MLB2", "MLB1"], "type": ["PRODUCT", "PRODUCT"], "resolution": ["resolved", "resolved"],
    "title": [None, "Celular \"X\" — 128 GB"], "brand": ["Marca", None], "price": [None, 1999.9],
    "currency": [None, "BRL"], "reviews_total": [None, 1200], "rating": [None, 4.7],
}, ensure_ascii=False)}
EMPTY = {"pk": {"S": "CAT#MLA#MLA1051"}, "sk": {"S": "SNAP#2026-11-01T00:00:00Z"}, "site": {"S": "MLA"},
         "category": {"S": "MLA1051"}, "taken_at": {"S": "2026-11-01T00:00:00Z"}, "entries": {"L": []}}
LATEST = {"pk": {"S": "CAT#MLB#MLB1055"}, "sk": {"S": "LATEST"}, "baseline": {"BOOL": False}}
EVENT = {"pk": {"S": "EVT#MLB#MLB1055"}, "sk": {"S": "2026-11-01T01:00:00Z#new_number_one#MLB2"}}
CAL = {"pk": {"S": "CAL#MLB#MLB1055"}, "sk": {"S": "RANKCURVE"}, "b": {"N": "1.2"}, "b_stderr": {"N": "0.1"},
       "fitted_at": {"S": "2026-10-30T00:00:00Z"}, "n": {"N": "4200"}}


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    """An export the way DynamoDB writes one to S3: AWSDynamoDB/<id>/data/*.json.gz plus manifests."""
    root = tmp_path_factory.mktemp("export")
    base = root / "AWSDynamoDB" / "01764000000000-abcdef12"
    (base / "data").mkdir(parents=True)
    (base / "manifest-summary.json").write_text(json.dumps({"version": "2020-06-30", "itemCount": 7}))
    (base / "manifest-files.json").write_text(json.dumps({"itemCount": 4, "dataFileS3Key": "data/a.json.gz"}) + "\n")
    (base / "manifest-summary.md5").write_text("0" * 32)
    with gzip.open(base / "data" / "a.json.gz", "wt", encoding="utf-8") as f:
        for item in (SNAP_1, LATEST, EVENT):
            f.write(json.dumps({"Item": item}) + "\n")
        f.write("this line is not JSON\n")
    with gzip.open(base / "data" / "b.json.gz", "wt", encoding="utf-8") as f:
        for item in (SNAP_2, EMPTY, CAL):
            f.write(json.dumps({"Item": item}) + "\n")
    return str(root)


def test_reads_snapshots_and_counts_what_it_skipped(spark, export_dir):
    snaps, cal, stats = export.read_export(spark, export_dir)
    got = sorted(rows(snaps), key=lambda s: (s["site"], s["taken_at"]))
    assert [(s["site"], s["category"], s["taken_at"]) for s in got] == [
        ("MLA", "MLA1051", "2026-11-01T00:00:00Z"),
        ("MLB", "MLB1055", "2026-11-01T00:00:00Z"),
        ("MLB", "MLB1055", "2026-11-01T01:00:00Z"),
    ]
    first = got[1]["entries"]
    assert first[0] == {"position": 1, "id": "MLB1", "type": "PRODUCT", "title": "Celular \"X\" — 128 GB",
                        "price": 1999.9, "currency": "BRL", "reviews_total": 1200, "rating": 4.7}
    assert first[1] == {"position": 2, "id": "MLB2", "type": "PRODUCT", "brand": "Marca"}  # NULL price: absent
    # SNAP_2, stored by column, reads the same as SNAP_1's maps.
    second = got[2]["entries"]
    assert second[0] == {"position": 1, "id": "MLB2", "type": "PRODUCT", "brand": "Marca"}
    assert second[1] == dict(first[0], position=2)
    assert got[0]["entries"] == []
    # The 7 data lines; the manifests (and the .md5) are not read.
    assert stats["snapshots"] == 3
    assert stats["lines"] == 7
    assert stats["not_items"] == 1  # the line that is not JSON
    assert [(r["site"], r["category"], r["b"], r["b_stderr"], r["n"]) for r in cal.collect()] == [
        ("MLB", "MLB1055", 1.2, 0.1, 4200)
    ]


def test_the_export_feeds_the_signals(spark, export_dir):
    snaps, cal, _ = export.read_export(spark, export_dir)
    sig = signals.compute(snaps, calibration=cal)
    cats = sorted(rows(sig.categories), key=lambda c: c["taken_at"])
    # The empty MLA snapshot is not scored; MLB is scored twice with the calibrated curve.
    assert [(c["site"], c["baseline"]) for c in cats] == [("MLB", True), ("MLB", False)]
    assert cats[1]["demand"]["source"] == "calibrated" and cats[1]["volatility"] == 1.0
    ev = rows(sig.events)
    assert sorted((e["key_kind"], e["product"]) for e in ev) == [("new_number_one", "MLB2")]
    assert ev[0]["previous_number_one"] == "MLB1"


def test_the_job_writes_every_output_and_a_rerun_changes_nothing(spark, export_dir, tmp_path):
    from meli_radar_spark import job

    out = str(tmp_path / "out")
    first = job.run(spark, export_dir, out, "2026-11-02")
    assert first["read"]["snapshots"] == 3 and first["wrote"]["events"] == 1
    tables = ["history", "signals/products", "signals/categories", "events", "reports/volatility",
              "reports/breakouts", "reports/diffusion", "reports/time_to_number_one",
              "reports/time_to_number_one_summary", "calibration/curves"]
    def count(t):
        # A table with no rows is an empty folder.
        assert os.path.isdir(f"{out}/{t}"), t
        if not glob.glob(f"{out}/{t}/**/*.parquet", recursive=True):
            return 0
        return spark.read.parquet(f"{out}/{t}").count()

    counts = {t: count(t) for t in tables}
    assert counts["history"] == 4 and counts["signals/products"] == 4 and counts["events"] == 1
    ev = spark.read.parquet(f"{out}/events").first()
    assert (ev["site"], str(ev["date"]), ev["sk"]) == ("MLB", "2026-11-01", "2026-11-01T01:00:00Z#new_number_one#MLB2")
    with open(f"{out}/runs/date=2026-11-02/summary.json") as f:
        assert json.load(f)["wrote"]["events"] == 1
    # The same run date again: the same partitions, rewritten, nothing added.
    job.run(spark, export_dir, out, "2026-11-02")
    assert {t: count(t) for t in tables} == counts


# Snapshot items as stored now: no names (they are in the product items), `type` and `resolution` as
# one letter per entry, the currency of every entry with a price written once.
def _snap(cat, at, columns):
    return {"pk": {"S": f"CAT#MLB#{cat}"}, "sk": {"S": f"SNAP#{at}"}, "site": {"S": "MLB"}, "category": {"S": cat},
            "taken_at": {"S": at}, "entries": {"S": json.dumps(columns, ensure_ascii=False)}}


OLD_COLUMNS = _snap("MLB1000", "2026-11-01T01:00:00Z", {
    "position": [1], "id": ["MLB5"], "type": ["PRODUCT"], "resolution": ["resolved"], "title": ["Fone (antigo)"],
    "price": [9.9], "currency": ["BRL"]})
SLIM_A = _snap("MLB1000", "2026-11-01T02:00:00Z", {
    "position": [1, 2, 3], "id": ["MLB5", "MLB6", "MLBU7"], "type": "PIU", "resolution": "RFO",
    "price": [10.5, 20.0, None], "currency": "BRL"})
SLIM_B = _snap("MLB1000", "2026-11-01T03:00:00Z", {
    "position": [1, 2], "id": ["MLB6", "MLB5"], "type": "IP", "resolution": "CC", "price": [19.0, 10.5],
    "currency": "BRL", "reviews_total": [None, 40]})


def _meta(id_, **names):
    m = {"pk": {"S": f"PROD#MLB#{id_}"}, "sk": {"S": "META"}, "id": {"S": id_}, "type": {"S": "PRODUCT"},
         "first_seen": {"S": "2026-11-01T00:00:00Z"}, "resolution": {"S": "resolved"}, "price": {"N": "10.5"},
         "brand": {"NULL": True}, "expires_at": {"N": "1800000000"}}
    m.update({k: {"S": v} for k, v in names.items()})
    return m


@pytest.fixture(scope="module")
def slim_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("slim")
    with open(root / "items.json", "w", encoding="utf-8") as f:
        for item in (OLD_COLUMNS, SLIM_A, SLIM_B, _meta("MLB5", title="Fone <b>", brand="Marca",
                                                         permalink="https://x/MLB5"),
                     _meta("MLB6", title="Cabo USB-C")):
            f.write(json.dumps({"Item": item}, ensure_ascii=False) + "\n")
    return str(root)


def test_slim_items_take_their_names_from_the_product_items(spark, slim_dir):
    snaps, _, stats = export.read_export(spark, slim_dir)
    assert stats["snapshots"] == 3 and stats["items"] == 5
    got = {s["taken_at"]: s["entries"] for s in rows(snaps)}
    # An item written before with its own title keeps it (the product item's is newer).
    assert got["2026-11-01T01:00:00Z"] == [
        {"position": 1, "id": "MLB5", "type": "PRODUCT", "title": "Fone (antigo)", "price": 9.9, "currency": "BRL"}]
    fone = {"title": "Fone <b>", "brand": "Marca", "permalink": "https://x/MLB5"}
    assert got["2026-11-01T02:00:00Z"] == [
        dict(fone, position=1, id="MLB5", type="PRODUCT", price=10.5, currency="BRL"),
        {"position": 2, "id": "MLB6", "type": "ITEM", "title": "Cabo USB-C", "price": 20.0, "currency": "BRL"},
        # No product item: no names, still in the list.
        {"position": 3, "id": "MLBU7", "type": "USER_PRODUCT"},
    ]
    assert got["2026-11-01T03:00:00Z"] == [
        {"position": 1, "id": "MLB6", "type": "ITEM", "title": "Cabo USB-C", "price": 19.0, "currency": "BRL"},
        dict(fone, position=2, id="MLB5", type="PRODUCT", price=10.5, currency="BRL", reviews_total=40),
    ]
    # The signals see the names (the diffusion report keys on brands and titles).
    sig = signals.compute(snaps)
    products = {(p["taken_at"], p["id"]): p for p in rows(sig.products)}
    assert products[("2026-11-01T03:00:00Z", "MLB5")]["brand"] == "Marca"


# Snapshot items as stored since they fit 1 KB (crates/core/src/snapshot.rs, `entries_to_columns`): no
# site, category or taken_at (the keys say them), ids of the item's site as numbers, other ids whole,
# no position column when the positions are 1…n, whole numbers without ".0", no price range or seller
# count. Beside them, the item of the form before (session 5) in the same list.
def _lean(at, columns):
    return {"pk": {"S": "CAT#MLA#MLA1055"}, "sk": {"S": f"SNAP#{at}"}, "expires_at": {"N": "1809129600"},
            "fetch": {"M": {"api_calls": {"N": "3"}, "duration_ms": {"N": "38"}}},
            "entries": {"S": json.dumps(columns)}}


BEFORE_1KB = {"pk": {"S": "CAT#MLA#MLA1055"}, "sk": {"S": "SNAP#2026-11-01T01:00:00Z"}, "site": {"S": "MLA"},
              "category": {"S": "MLA1055"}, "taken_at": {"S": "2026-11-01T01:00:00Z"},
              "expires_at": {"N": "1809129600"}, "fetch": {"M": {"api_calls": {"N": "36"}, "duration_ms": {"N": "17"}}},
              "entries": {"S": json.dumps({
                  "position": [1, 2], "id": ["MLA57892453", "MLAU2798868515"], "type": "PU", "resolution": "RO",
                  "price": [910069.0, None], "currency": "ARS", "price_min": [910069.0, None],
                  "price_max": [1224629.0, None], "seller_count": [7, None]})}}
LEAN_A = _lean("2026-11-01T02:00:00Z", {
    "id": [57892453, "MLAU2798868515", "MLB6111612913"], "type": "PUI", "resolution": "ROF",
    "price": [910069, None, None], "currency": "ARS", "reviews_total": [120, None, None], "rating": [4.6, None, None]})
LEAN_B = _lean("2026-11-01T03:00:00Z", {
    "position": [1, 3], "id": [22181595, 57892453], "type": "PP", "resolution": "CC",
    "price": [1273559.5, 910069], "currency": "ARS"})


@pytest.fixture(scope="module")
def lean_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("lean")
    meta = _meta("MLB0", title="Celular")
    meta["pk"] = {"S": "PROD#MLA#MLA57892453"}
    with open(root / "items.json", "w", encoding="utf-8") as f:
        for item in (BEFORE_1KB, LEAN_A, LEAN_B, meta):
            f.write(json.dumps({"Item": item}) + "\n")
    return str(root)


def test_items_under_a_kilobyte_read_their_ids_positions_and_keys(spark, lean_dir):
    snaps, _, stats = export.read_export(spark, lean_dir)
    assert stats["snapshots"] == 3
    got = sorted(rows(snaps), key=lambda s: s["taken_at"])
    # site, category and time from the keys.
    assert [(s["site"], s["category"], s["taken_at"]) for s in got] == [
        ("MLA", "MLA1055", "2026-11-01T01:00:00Z"),
        ("MLA", "MLA1055", "2026-11-01T02:00:00Z"),
        ("MLA", "MLA1055", "2026-11-01T03:00:00Z"),
    ]
    celular = {"position": 1, "id": "MLA57892453", "type": "PRODUCT", "title": "Celular", "price": 910069.0,
               "currency": "ARS"}
    opaque = {"position": 2, "id": "MLAU2798868515", "type": "USER_PRODUCT"}
    # The item of before: whole ids, its price range and seller count not read.
    assert got[0]["entries"] == [celular, opaque]
    # Numbers are ids of the item's site, a string a whole id (here another site's); positions 1…n.
    assert got[1]["entries"] == [
        dict(celular, reviews_total=120, rating=4.6),
        opaque,
        {"position": 3, "id": "MLB6111612913", "type": "ITEM"},
    ]
    # A position column when the positions are not 1…n.
    assert got[2]["entries"] == [
        {"position": 1, "id": "MLA22181595", "type": "PRODUCT", "price": 1273559.5, "currency": "ARS"},
        dict(celular, position=3),
    ]
