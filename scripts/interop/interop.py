"""sahelwatch against the OASIS reference tools (called by scripts/interop/run).

usage: interop.py BASE_URL ALICE_TOKEN BOB_TOKEN

Alice is an admin of NGO Alpha, which owns AMBER and AMBER+STRICT incidents;
Bob is an analyst of Agency Beta, which owns GREEN ones. Every check prints
one line; any failure raises and exits non-zero.
"""

import copy
import json
import sys
import uuid
from datetime import datetime

import requests
import stix2
import stix2validator
from taxii2client.v21 import Server, as_pages

BASE, ALICE, BOB = sys.argv[1], sys.argv[2], sys.argv[3]
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"


class Bearer(requests.auth.AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + self.token
        return r


def ok(what):
    print(f"interop: ok  {what}")


def export(token, query=""):
    r = requests.get(f"{BASE}/api/v1/incidents/export?format=stix{query}", headers={"Authorization": "Bearer " + token})
    r.raise_for_status()
    assert r.headers["content-type"] == "application/stix+json;version=2.1", r.headers["content-type"]
    return r.json()


def incident_ids(objects):
    return {o["id"] for o in objects if o["type"] == "incident"}


# 1. STIX: the OASIS validator and the stix2 library on exported bundles.
bundles = {"alice": export(ALICE), "bob": export(BOB)}
for who, bundle in bundles.items():
    results = stix2validator.validate_instance(bundle, stix2validator.ValidationOptions(version="2.1"))
    if not results.is_valid:
        stix2validator.print_results(results)
        raise SystemExit(f"{who}'s bundle is not valid STIX 2.1")
    warnings = len(results.warnings or [])
    ok(f"OASIS stix2-validator: {who}'s bundle of {len(bundle['objects'])} objects is valid ({warnings} warnings)")
    parsed = stix2.parse(bundle, allow_custom=False)
    again = json.loads(parsed.serialize())
    assert again == bundle, f"stix2 round trip changed {who}'s bundle"
    ok(f"stix2 {stix2.__version__}: {who}'s bundle parses and serialises back unchanged")

a_ids, b_ids = incident_ids(bundles["alice"]["objects"]), incident_ids(bundles["bob"]["objects"])
a_amber = {o["id"] for o in bundles["alice"]["objects"] if o["type"] == "incident" and AMBER in o["object_marking_refs"]}
a_strict = {o["id"] for o in bundles["alice"]["objects"] if o["type"] == "incident" and AMBER_STRICT in o["object_marking_refs"]}
assert a_amber and a_strict, "alice sees her AMBER and AMBER+STRICT incidents"
assert not (a_amber | a_strict) & b_ids, "bob must not receive NGO Alpha's AMBER incidents"
assert a_ids - a_amber - a_strict == b_ids, "outside NGO Alpha's own, both see the same incidents"
ok(f"exports: alice {len(a_ids)} incidents, bob {len(b_ids)} (none of alice's {len(a_amber | a_strict)} AMBER/AMBER+STRICT)")

# 2. TAXII 2.1 with the OASIS client.
def collection(token, basic=False):
    kw = {"user": "x", "password": token} if basic else {"auth": Bearer(token)}
    server = Server(f"{BASE}/taxii2/", **kw)
    assert server.title == "sahelwatch"
    root = server.api_roots[0]
    assert root.versions == ["application/taxii+json;version=2.1"], root.versions
    cols = root.collections
    assert len(cols) == 1
    return server, root, cols[0]


server, root, col = collection(ALICE)
ok(f"taxii2-client discovery: '{server.title}', API root {root.url} (max {root.max_content_length} bytes), collection '{col.title}' can_read={col.can_read} can_write={col.can_write}")

def all_objects(col, **filters):
    objects, pages = [], 0
    for envelope in as_pages(col.get_objects, per_request=250, **filters):
        objects.extend(envelope.get("objects", []))
        pages += 1
    return objects, pages


objects, pages = all_objects(col)
assert incident_ids(objects) == a_ids, "the TAXII collection holds exactly alice's export"
ok(f"objects paging: {len(objects)} objects in {pages} pages of 250, the same {len(a_ids)} incidents as the export")

manifest, mpages = [], 0
for page in as_pages(col.get_manifest, per_request=500, type="incident"):
    manifest.extend(page.get("objects", []))
    mpages += 1
assert {m["id"] for m in manifest} == a_ids
assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest)
ok(f"manifest: {len(manifest)} incident records in {mpages} pages")

locs = col.get_objects(type="location", limit=40)
assert locs["objects"] and all(o["type"] == "location" for o in locs["objects"])
one = sorted(a_amber)[0]
got = col.get_object(one)["objects"]
assert [o["id"] for o in got] == [one]
versions = col.object_versions(one)["versions"]
assert len(versions) == 1, versions
ok(f"filters: match[type]=location, object by id, versions {versions}")

# Added after the first page's last date: nothing earlier comes back.
def when(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


first = col.get_manifest(type="incident", limit=5)["objects"]
stamp = first[-1]["date_added"]
later = col.get_manifest(type="incident", added_after=stamp, limit=5000).get("objects", [])
assert later and all(when(m["date_added"]) > when(stamp) for m in later), later[:3]
ok(f"added_after={stamp}: {len(later)} incidents added later")

# 3. Bob, over Basic auth with his token as the password, as some clients send it.
_, _, bcol = collection(BOB, basic=True)
bobjects, _ = all_objects(bcol)
assert incident_ids(bobjects) == b_ids
for hidden in sorted(a_amber | a_strict)[:3]:
    try:
        bcol.get_object(hidden)
        raise SystemExit(f"LEAK: bob fetched {hidden}")
    except requests.HTTPError as e:
        assert e.response.status_code == 404, e
ok(f"bob (Basic auth) sees {len(incident_ids(bobjects))} incidents; alice's AMBER ones answer 404")

# 4. Bob adds objects: his own AMBER incident under a new id.
src = copy.deepcopy(next(o for o in bobjects if o["type"] == "incident"))
src["id"] = f"incident--{uuid.uuid4()}"
ext = next(iter(src["extensions"].values()))
ext["incident"].pop("dataset", None)
ext["incident"].pop("external_id", None)
ext["incident"]["notes"] = "added by bob over TAXII"
src["object_marking_refs"] = [AMBER]
status = bcol.add_objects(json.dumps({"objects": [src]}), wait_for_completion=False)
assert status.status == "complete" and status.success_count == 1 and status.failure_count == 0, status
status.refresh()
assert status.success_count == 1
back = bcol.get_object(src["id"])["objects"][0]
assert next(iter(back["extensions"].values()))["incident"]["notes"] == "added by bob over TAXII"
try:
    col.get_object(src["id"])
    raise SystemExit("LEAK: alice fetched bob's AMBER incident")
except requests.HTTPError as e:
    assert e.response.status_code == 404
ok(f"add_objects: status {status.status}, {status.success_count} stored; bob reads {src['id']} back, alice gets 404")

# 5. A bad envelope is refused with a TAXII error and stores nothing.
before = len(incident_ids(all_objects(bcol)[0]))
try:
    bcol.add_objects(json.dumps({"objects": [{"type": "incident", "id": "incident--x", "spec_version": "2.1"}]}))
    raise SystemExit("a malformed envelope was accepted")
except requests.HTTPError as e:
    assert e.response.status_code == 400
    body = e.response.json()
    assert body["http_status"] == "400" and "incident--x" in body["description"], body
assert len(incident_ids(all_objects(bcol)[0])) == before
ok("a malformed envelope: 400 with a TAXII error naming the object; nothing stored")
print("interop: all checks passed")
