#!/usr/bin/env python3
"""Check sahelwatch's Getis-Ord Gi* z-scores against PySAL's esda.

    gi_check.py FILE.json [FILE.json ...] [--tolerance 1e-6]

FILE.json: {"ids": [...], "neighbours": [[j, ...], ...], "values": [...],
"z": [...], "p": [...] (optional)}. ``neighbours[i]`` lists the positions of
cell i's neighbours, without i itself; weights are binary.

esda.G_Local(values, w, transform='B', star=True, permutations=0) adds a
self-weight of 1 to every cell (libpysal.weights.fill_diagonal) and computes
Zs = (G - W_i/n) / sqrt(W_i (n - W_i) / (n - 1) / n^2 * s^2 / mean^2) with
G = sum_j w_ij y_j / sum(y) and s^2 the population variance: the textbook Gi*
(Getis & Ord 1995) for a positive mean. Where W_i == n that variance is 0 and
esda gives NaN or infinity; sahelwatch gives z = 0 there, which is accepted.
esda's p_norm is one-sided: sahelwatch's two-sided p must be 2 * p_norm.

Exits 0 when, in every file, every |z difference| (and p difference, if
given) is at most the tolerance; 1 otherwise (printing the worst cell); 2 on
bad input; 3 when esda or libpysal cannot be imported.
"""

import argparse
import json
import sys
import warnings

try:
    import numpy as np
    import esda
    import libpysal
except ImportError as e:  # pragma: no cover - the message is the point
    print(
        f"gi_check: cannot import PySAL ({e}); install it with\n"
        "  pip install -r scripts/analytics/requirements.txt",
        file=sys.stderr,
    )
    sys.exit(3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    return max(check(path, args.tolerance) for path in args.files)


def check(path: str, tolerance: float) -> int:
    """Checks one file; returns the exit code for it."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    ids = data["ids"]
    neighbours = data["neighbours"]
    values = np.asarray(data["values"], dtype=float)
    ours_z = np.asarray(data["z"], dtype=float)
    ours_p = np.asarray(data["p"], dtype=float) if "p" in data else None
    n = len(ids)
    if not (len(neighbours) == len(values) == len(ours_z) == n) or (
        ours_p is not None and len(ours_p) != n
    ):
        print(f"gi_check: {path}: ids, neighbours, values, z (and p) differ in length", file=sys.stderr)
        return 2
    for i, nb in enumerate(neighbours):
        if i in nb or any(not 0 <= j < n for j in nb):
            print(f"gi_check: {path}: bad neighbour list for cell {i} ({ids[i]}): {nb}", file=sys.stderr)
            return 2

    w = libpysal.weights.W(
        {i: list(nb) for i, nb in enumerate(neighbours)},
        id_order=list(range(n)),
        silence_warnings=True,
    )
    with warnings.catch_warnings():
        # Cells whose neighbourhood is the whole grid divide by zero, and
        # fill_diagonal warns about islands (cells without neighbours).
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        g = esda.G_Local(values, w, transform="B", star=True, permutations=0)
    zs = np.asarray(g.Zs, dtype=float)
    p_two = 2.0 * np.asarray(g.p_norm, dtype=float)

    # Where esda's variance is 0 (W_i == n) it has no z; we must say z = 0.
    degenerate = ~np.isfinite(zs)
    diff = np.where(degenerate, np.abs(ours_z), np.abs(zs - ours_z))
    if ours_p is not None:
        pdiff = np.where(degenerate, np.abs(ours_p - 1.0), np.abs(p_two - ours_p))
    else:
        pdiff = np.zeros(n)

    worst = int(np.argmax(diff)) if n else 0
    worst_p = int(np.argmax(pdiff)) if n else 0
    max_diff = float(diff[worst]) if n else 0.0
    max_pdiff = float(pdiff[worst_p]) if n else 0.0
    print(
        f"gi_check: {path}: esda {esda.__version__}, libpysal {libpysal.__version__}: "
        f"{n} cells, {int(degenerate.sum())} degenerate, "
        f"max |z difference| {max_diff:.3e}, max |p difference| {max_pdiff:.3e}, "
        f"|z| up to {float(np.nanmax(np.abs(zs))) if n else 0.0:.3f}"
    )
    ok = True
    if not max_diff <= tolerance:
        ok = False
        print(
            f"gi_check: {path}: FAIL worst z at cell {worst} ({ids[worst]}): ours {float(ours_z[worst])!r}, "
            f"esda {float(zs[worst])!r}, value {float(values[worst])!r}, "
            f"{len(neighbours[worst])} neighbours",
            file=sys.stderr,
        )
    if not max_pdiff <= tolerance:
        ok = False
        print(
            f"gi_check: {path}: FAIL worst p at cell {worst_p} ({ids[worst_p]}): ours {float(ours_p[worst_p])!r}, "
            f"esda 2*p_norm {float(p_two[worst_p])!r}",
            file=sys.stderr,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
