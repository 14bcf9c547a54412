"""OSRM and Valhalla as routing peers: prepare each engine from the same OSM
extract our router reads, then time the same coordinate pairs it answers.

What is measured
- prepare_s: wall time of the engine's own preparation tools, run as
  subprocesses (OSRM: `python -m osrm extract` with the wheel's car.lua, then
  `contract` for CH, or `partition` + `customize` for MLD; the extract is run
  once and counted in both totals. Valhalla: `valhalla_build_tiles`).
  Per-step times are under "steps_s".
- p50_ms / p95_ms: one route query per pair (fastest route for a car, no
  traffic, static weights), timed with time.perf_counter around the
  in-process Python binding call (no HTTP). Included: snapping both points to
  the road network, the shortest-path search, building the engine's response
  object (OSRM: no geometry, no steps; Valhalla: no narrative but the encoded
  shape, JSON string in and out). Not included: loading the engine, building
  the request (OSRM RouteParameters, Valhalla JSON string), and any parsing
  of the response beyond the success check. Every pair is timed,
  failed ones too; "found" counts the pairs for which a route came back.
  Each engine answers all pairs once as a warm-up before the timed pass.

Usage (Python 3.12, see bench/requirements-py312.txt):
  $(pyenv root)/versions/3.12.1/bin/python -m venv bench/.venv312
  bench/.venv312/bin/pip install -r bench/requirements-py312.txt
  bench/.venv312/bin/python bench/osrm_peer.py --pbf ../shared/data/osm/monaco.osm.pbf \
      --pairs bench/out/pairs.json --work bench/out/peer [--engines osrm,valhalla]
PAIRS.json is {"graph": ..., "pairs": [[lon1, lat1, lon2, lat2], ...]}; to make
one of random points in Monaco: --make-pairs 1000 --pairs bench/out/pairs.json.
Prints one JSON object on stdout; progress goes to stderr.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = str(Path(sys.executable).parent)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def run(cmd):
    """Run one preparation tool, its output to stderr; return wall seconds."""
    log("$", " ".join(map(str, cmd)))
    # The Valhalla wrappers look their executables up on PATH.
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    t = time.perf_counter()
    subprocess.run(list(map(str, cmd)), env=env, stdout=sys.stderr, check=True)
    return time.perf_counter() - t


def pct(values, p):
    v = sorted(values)
    return v[round((len(v) - 1) * p)]


def measure(request, route, pairs, steps):
    """Build every request, warm up on all of them, then time each once."""
    requests = [request(*pair) for pair in pairs]
    for req in requests:
        route(req)
    times, found = [], 0
    for req in requests:
        t = time.perf_counter()
        ok = route(req)
        times.append((time.perf_counter() - t) * 1000)
        found += ok
    return {"prepare_s": round(sum(steps.values()), 3), "steps_s": {k: round(v, 3) for k, v in steps.items()},
            "p50_ms": round(pct(times, 0.5), 4), "p95_ms": round(pct(times, 0.95), 4),
            "found": found, "queries": len(pairs)}


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def osrm_engines(pbf, work, pairs):
    import osrm

    profile = Path(osrm.__file__).parent / "share" / "profiles" / "car.lua"
    osrm_cli = [sys.executable, "-m", "osrm"]
    base = fresh(work / "osrm" / "extract") / "map.osrm"
    extract_s = run(osrm_cli + ["extract", "-p", profile, "-o", base, pbf])
    # CH and MLD each get their own copy of the extract (copy time not counted).
    ch, mld = fresh(work / "osrm" / "ch") / "map.osrm", fresh(work / "osrm" / "mld") / "map.osrm"
    for f in base.parent.iterdir():
        shutil.copy(f, ch.parent)
        shutil.copy(f, mld.parent)
    ch_steps = {"extract": extract_s, "contract": run(osrm_cli + ["contract", ch])}
    mld_steps = {"extract": extract_s, "partition": run(osrm_cli + ["partition", mld]),
                 "customize": run(osrm_cli + ["customize", mld])}

    results = {}
    for name, algorithm, path, steps in (("osrm_ch", "CH", ch, ch_steps), ("osrm_mld", "MLD", mld, mld_steps)):
        engine = osrm.OSRM(storage_config=str(path), algorithm=algorithm, use_shared_memory=False)

        def request(lon1, lat1, lon2, lat2):
            return osrm.RouteParameters(coordinates=[(lon1, lat1), (lon2, lat2)], overview="false",
                                        generate_hints=False)

        def route(params, engine=engine):
            try:
                return engine.Route(params)["code"] == "Ok"
            except RuntimeError:  # NoRoute / NoSegment are raised
                return False

        log(f"routing {len(pairs)} pairs with OSRM {algorithm}")
        results[name] = measure(request, route, pairs, steps)
    return results


def valhalla_engine(pbf, work, pairs):
    import valhalla

    root = fresh(work / "valhalla")
    tiles = (root / "tiles").resolve()
    config = root / "valhalla.json"
    # The same defaults valhalla_build_config writes, without admin/timezone
    # databases (none are built here: no border or time-zone data).
    tiles.mkdir()
    cfg = valhalla.get_config(tile_extract="", tile_dir=tiles)
    for key in ("admin", "timezone", "landmarks"):
        cfg["mjolnir"][key] = ""
    config.write_text(json.dumps(cfg))
    steps = {"build_tiles": run(["valhalla_build_tiles", "-c", config, pbf])}

    actor = valhalla.Actor(str(config))

    def request(lon1, lat1, lon2, lat2):
        return json.dumps({"locations": [{"lon": lon1, "lat": lat1}, {"lon": lon2, "lat": lat2}],
                           "costing": "auto", "directions_type": "none"})

    def route(req):
        try:
            return '"trip"' in actor.route(req)
        except RuntimeError:  # valhalla.ValhallaError, e.g. no path / no edge near a point
            return False

    log(f"routing {len(pairs)} pairs with Valhalla")
    return {"valhalla": measure(request, route, pairs, steps)}


def make_pairs(path, n, seed=42):
    rnd = random.Random(seed)
    pairs = [[round(rnd.uniform(7.41, 7.44), 6), round(rnd.uniform(43.725, 43.75), 6),
              round(rnd.uniform(7.41, 7.44), 6), round(rnd.uniform(43.725, 43.75), 6)] for _ in range(n)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"graph": "monaco", "pairs": pairs}))
    log(f"wrote {n} random pairs to {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pbf", type=Path)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--engines", default="osrm,valhalla")
    ap.add_argument("--make-pairs", type=int, metavar="N", help="write N random Monaco pairs to --pairs and exit")
    a = ap.parse_args()
    if a.make_pairs:
        return make_pairs(a.pairs, a.make_pairs)
    if not (a.pbf and a.work):
        ap.error("--pbf and --work are required")
    runners = {"osrm": osrm_engines, "valhalla": valhalla_engine}
    if set(a.engines.split(",")) - set(runners):
        ap.error(f"--engines: choose from {','.join(runners)}")
    pbf, work = a.pbf.resolve(), a.work.resolve()
    pairs = [tuple(p) for p in json.loads(a.pairs.read_text())["pairs"]]
    out, errors = {}, {}
    for name in a.engines.split(","):
        try:
            out.update(runners[name](pbf, work, pairs))
        except Exception as e:  # report the reason, go on with the other engines
            log(f"{name} failed: {e!r}")
            errors[name] = f"{type(e).__name__}: {e}"
    if errors:
        out["errors"] = errors
    print(json.dumps(out))


if __name__ == "__main__":
    main()
