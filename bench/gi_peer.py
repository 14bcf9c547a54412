"""PySAL as a peer for Getis-Ord Gi*: time esda.G_Local(star=True, binary
weights, no permutations) on the grid, weights and counts that
analytics_bench wrote, and compare its z-scores with ours.

Usage: python gi_peer.py GRID.json   (prints one JSON line)
Run with the interpreter of scripts/analytics/venv (esda, libpysal pinned).
"""
import json
import sys
import time
import warnings

import esda
import libpysal
import numpy as np


def main(path):
    data = json.load(open(path))
    neighbours = data["neighbours"]
    values = np.asarray(data["values"], dtype=float)
    ours = np.asarray(data["z"], dtype=float)
    n = len(neighbours)
    t = time.perf_counter()
    w = libpysal.weights.W({i: list(nb) for i, nb in enumerate(neighbours)},
                           id_order=list(range(n)), silence_warnings=True)
    weights_ms = (time.perf_counter() - t) * 1000
    runs = []
    g = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            t = time.perf_counter()
            g = esda.G_Local(values, w, transform="B", star=True, permutations=0)
            runs.append((time.perf_counter() - t) * 1000)
    zs = np.asarray(g.Zs, dtype=float)
    ok = np.isfinite(zs)
    print(json.dumps({
        "cells": n,
        "weights_ms": weights_ms,
        "g_local_ms": sorted(runs)[1],
        "max_abs_z_diff": float(np.max(np.abs(zs[ok] - ours[ok]))) if ok.any() else None,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
