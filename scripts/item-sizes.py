#!/usr/bin/env python3
"""Item sizes as DynamoDB bills them, per kind of item, from a `meli-radar export` folder (or any
DynamoDB-JSON export: one {"Item": {...}} per line, .json or .json.gz).

Usage: scripts/item-sizes.py [--columns] EXPORT_DIR

--columns also prints what each column of the snapshot items' `entries` text costs on average (its
`"name":value,` bytes), and the rest of the item (keys, times, fetch metadata, TTL).

The size rules (developer guide, "Item sizes and formats"): an attribute costs its name's UTF-8
length plus its value: a string its UTF-8 length, a number about 1 byte per two significant digits
plus 1, a binary its length, a bool or null 1 byte, a list or map 3 bytes plus 1 byte per element
plus its elements (map keys counted like attribute names). Writes are billed per started KB of the
item, reads per started 4 KB.
"""

import base64
import collections
import gzip
import json
import math
import os
import sys


def number_size(text):
    digits = text.lstrip("-").replace(".", "").lstrip("0").split("e")[0].split("E")[0]
    return max(1, math.ceil(len(digits.rstrip("0") or "0") / 2)) + 1


def value_size(v):
    ((t, x),) = v.items()
    if t == "S":
        return len(x.encode("utf-8"))
    if t == "N":
        return number_size(x)
    if t == "B":
        return len(base64.b64decode(x))
    if t in ("BOOL", "NULL"):
        return 1
    if t in ("SS",):
        return sum(len(s.encode("utf-8")) for s in x)
    if t == "NS":
        return sum(number_size(s) for s in x)
    if t == "L":
        return 3 + sum(1 + value_size(e) for e in x)
    if t == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(e) for k, e in x.items())
    raise ValueError(f"unknown type {t}")


def item_size(item):
    return sum(len(k.encode("utf-8")) + value_size(v) for k, v in item.items())


def kind(item):
    pk, sk = item["pk"]["S"], item["sk"]["S"]
    prefix = pk.split("#", 1)[0]
    if prefix == "CAT":
        return "CAT/" + sk.split("#", 1)[0]
    return prefix


def lines(root):
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            path = os.path.join(dirpath, f)
            if f.endswith(".json.gz"):
                yield from gzip.open(path, "rt", encoding="utf-8")
            elif f.endswith(".json") and not f.startswith("manifest"):
                yield from open(path, encoding="utf-8")


def column_sizes(item):
    """Bytes of each column of a snapshot item's `entries` text (`"name":value,`), and of the rest."""
    text = item.get("entries", {}).get("S")
    if text is None:
        return None
    cols = json.loads(text)
    out = {name: len(json.dumps({name: v}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")) - 1
           for name, v in cols.items()}
    out["(rest of the item)"] = item_size(item) - len(text.encode("utf-8"))
    return out


def main():
    args = sys.argv[1:]
    columns = "--columns" in args
    args = [a for a in args if a != "--columns"]
    if len(args) != 1 or not os.path.isdir(args[0]):
        sys.exit("usage: scripts/item-sizes.py [--columns] EXPORT_DIR")
    sizes = collections.defaultdict(list)
    per_column = collections.defaultdict(int)
    snapshots = 0
    for line in lines(args[0]):
        line = line.strip()
        if line:
            item = json.loads(line)["Item"]
            sizes[kind(item)].append(item_size(item))
            c = column_sizes(item) if columns and kind(item) == "CAT/SNAP" else None
            if c is not None:
                snapshots += 1
                for name, n in c.items():
                    per_column[name] += n
    print(f"{'item':<14} {'count':>8} {'mean B':>8} {'max B':>8} {'WRU/write':>10}")
    for k in sorted(sizes):
        s = sizes[k]
        wru = sum(math.ceil(x / 1024) for x in s) / len(s)
        print(f"{k:<14} {len(s):>8} {sum(s) / len(s):>8.0f} {max(s):>8} {wru:>10.2f}")
    if snapshots:
        print(f"\nsnapshot bytes by column (mean over {snapshots} items):")
        for name, n in sorted(per_column.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<20} {n / snapshots:>7.0f}")


if __name__ == "__main__":
    main()
