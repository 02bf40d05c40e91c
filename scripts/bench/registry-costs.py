#!/usr/bin/env python3
"""What each kind of manifest request costs the registry: CPU time of the registry process
(/proc/PID/stat) and wall time per request, one keep-alive connection, over N variants'
`-staging` tags. Used by scripts/bench/promote to show the floor a checked promotion cannot
go below. Usage: registry-costs.py HOST REGISTRY_PID REPO N
Prints a Markdown table."""
import http.client
import sys
import time

host, pid, repo, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
variants = [f"ubuntu-22.04-helix-v{i}-amd64" for i in range(n)]
ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
])
TICK = 1000 / 100  # ms per clock tick (USER_HZ)


def cpu_ticks():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


conn = http.client.HTTPConnection(host)


def req(method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: HTTP {r.status}: {data[:200]!r}")
    return r, data


manifests = {}
for v in variants:
    r, data = req("GET", f"/v2/{repo}/manifests/{v}-staging", headers={"Accept": ACCEPT})
    manifests[v] = (r.getheader("Content-Type"), data, r.getheader("Docker-Content-Digest"))
rows = []


def measure(name, fn):
    c0, t0 = cpu_ticks(), time.perf_counter()
    for v in variants:
        fn(v)
    c1, t1 = cpu_ticks(), time.perf_counter()
    rows.append((name, TICK * (c1 - c0) / n, 1000 * (t1 - t0) / n))


def put(v, tag, body_of=None):
    media, body, _ = manifests[body_of or v]
    req("PUT", f"/v2/{repo}/manifests/{v}-{tag}", body=body, headers={"Content-Type": media})


stamp = time.strftime("%H%M%S")
others = dict(zip(variants, variants[1:] + variants[:1]))
measure("HEAD by tag", lambda v: req("HEAD", f"/v2/{repo}/manifests/{v}-staging", headers={"Accept": ACCEPT}))
measure("GET by tag", lambda v: req("GET", f"/v2/{repo}/manifests/{v}-staging", headers={"Accept": ACCEPT}))
measure("PUT, new tag", lambda v: put(v, f"cost{stamp}"))
measure("PUT, existing tag, same digest", lambda v: put(v, f"cost{stamp}"))
measure("PUT, existing tag, other digest", lambda v: put(v, f"cost{stamp}", others[v]))
cost = {name: c for name, c, _ in rows}
print("| request (registry as packaged, 1 connection) | registry CPU / request | wall / request |")
print("|---|---|---|")
for name, c, w in rows:
    print(f"| {name} | {c:.2f} ms | {w:.2f} ms |")
floor = cost["GET by tag"] + cost["PUT, existing tag, other digest"]
checked = cost["GET by tag"] + 2 * cost["HEAD by tag"] + cost["PUT, existing tag, other digest"] + cost["PUT, new tag"]
print(f"| **floor (GET + PUT existing tag)** | {floor:.2f} ms | – |")
print(f"| **checked move (SPEC §6: GET, 2 HEAD, PUT channel, PUT new release tag)** | {checked:.2f} ms = **{checked / floor:.2f}× the floor** | – |")
