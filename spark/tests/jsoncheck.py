"""The vectors' comparison rule (testdata/signals/README.md, and `check` in
crates/core/tests/signals_vectors.rs): objects by the expected keys only (a missing actual key is
null), numbers within an absolute 1e-4, everything else exactly."""

TOLERANCE = 1e-4


def check(expected, actual, path="$"):
    if expected is None:
        if actual is not None:
            raise AssertionError(f"{path}: expected null, got {actual!r}")
        return
    if isinstance(expected, bool) or isinstance(actual, bool):
        if expected is not actual:
            raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")
        return
    if isinstance(expected, (int, float)):
        if not isinstance(actual, (int, float)) or abs(expected - actual) > TOLERANCE:
            raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise AssertionError(f"{path}: expected an object, got {actual!r}")
        for k, v in expected.items():
            check(v, actual.get(k), f"{path}.{k}")
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            check(e, a, f"{path}[{i}]")
        return
    if expected != actual:
        raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")
