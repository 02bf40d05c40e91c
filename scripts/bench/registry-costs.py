#!/usr/bin/env python3
"""What each kind of manifest request costs the registry: CPU time of the registry process
(/proc/PID/stat) and wall time per request, one keep-alive connection, over N variants'
`-staging` tags — for each registry given, side by side (scripts/bench/promote passes the one
as Debian configures it and the one without blob-descriptor cache). Shows the floor a checked
promotion cannot go below.
Usage: registry-costs.py REPO N NAME HOST REGISTRY_PID [NAME HOST REGISTRY_PID…]
Prints a Markdown table."""
import http.client
import sys
import time

repo, n, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if not rest or len(rest) % 3:
    sys.exit("usage: registry-costs.py REPO N NAME HOST REGISTRY_PID [NAME HOST REGISTRY_PID...]")
registries = [(rest[i], rest[i + 1], int(rest[i + 2])) for i in range(0, len(rest), 3)]
variants = [f"ubuntu-22.04-helix-v{i}-amd64" for i in range(n)]
ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
])
TICK = 1000 / 100  # ms per clock tick (USER_HZ)
KINDS = ["HEAD by tag", "GET by tag", "PUT, new tag", "PUT, existing tag, same digest", "PUT, existing tag, other digest"]


def costs(host, pid):
    """{request kind: (registry CPU ms, wall ms)} per request on the registry at host."""
    conn = http.client.HTTPConnection(host)

    def cpu_ticks():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def req(method, path, body=None, headers=None):
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit(f"{method} {host}{path}: HTTP {r.status}: {data[:200]!r}")
        return r, data

    manifests = {}
    for v in variants:
        r, data = req("GET", f"/v2/{repo}/manifests/{v}-staging", headers={"Accept": ACCEPT})
        manifests[v] = (r.getheader("Content-Type"), data)

    def put(v, tag, body_of=None):
        media, body = manifests[body_of or v]
        req("PUT", f"/v2/{repo}/manifests/{v}-{tag}", body=body, headers={"Content-Type": media})

    stamp = time.strftime("%H%M%S")
    others = dict(zip(variants, variants[1:] + variants[:1]))
    fns = [
        lambda v: req("HEAD", f"/v2/{repo}/manifests/{v}-staging", headers={"Accept": ACCEPT}),
        lambda v: req("GET", f"/v2/{repo}/manifests/{v}-staging", headers={"Accept": ACCEPT}),
        lambda v: put(v, f"cost{stamp}"),
        lambda v: put(v, f"cost{stamp}"),
        lambda v: put(v, f"cost{stamp}", others[v]),
    ]
    out = {}
    for kind, fn in zip(KINDS, fns):
        c0, t0 = cpu_ticks(), time.perf_counter()
        for v in variants:
            fn(v)
        c1, t1 = cpu_ticks(), time.perf_counter()
        out[kind] = (TICK * (c1 - c0) / n, 1000 * (t1 - t0) / n)
    return out


results = [(name, costs(host, pid)) for name, host, pid in registries]
print("| request (1 connection) | " + " | ".join(f"{name}: registry CPU / request | {name}: wall / request" for name, _ in results) + " |")
print("|---|" + "---|---|" * len(results))
for kind in KINDS:
    print(f"| {kind} | " + " | ".join(f"{c[kind][0]:.2f} ms | {c[kind][1]:.2f} ms" for _, c in results) + " |")


def cpu(c, kind):
    return c[kind][0]


floors = [cpu(c, "GET by tag") + cpu(c, "PUT, existing tag, other digest") for _, c in results]
checked = [cpu(c, "GET by tag") + 2 * cpu(c, "HEAD by tag") + cpu(c, "PUT, existing tag, other digest") + cpu(c, "PUT, new tag") for _, c in results]
print("| **floor (GET + PUT existing tag)** | " + " | ".join(f"{f:.2f} ms | –" for f in floors) + " |")
print("| **checked move (SPEC §6: GET, 2 HEAD, PUT channel, PUT new release tag)** | "
      + " | ".join(f"{c:.2f} ms = **{c / f:.2f}× the floor** | –" for c, f in zip(checked, floors)) + " |")
