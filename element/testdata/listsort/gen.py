#!/usr/bin/env python3
"""Writes golden.json: inputs, comparators and the orders CPython's
list.sort gives them, for element/listsort_test.go.

Comparators are defined by a seeded table so the Go test can rebuild them:
  "total":   compare values
  "table":   cmp(a, b) = table[a][b], an arbitrary antisymmetric table
  "partial": like BuildStream's: a few random "a after b" relations,
             otherwise equal
Run with the python3 whose sort matches CPython 3.12 (3.11 and 3.12 share
the powersort implementation).
"""
import functools, json, random

def make_table(rng, m, density):
    t = [[0] * m for _ in range(m)]
    for a in range(m):
        for b in range(a + 1, m):
            if rng.random() < density:
                v = rng.choice([-1, 1])
                t[a][b], t[b][a] = v, -v
    return t

cases = []
rng = random.Random(20261124)
for size in [0, 1, 2, 3, 5, 8, 13, 31, 63, 64, 65, 100, 257, 700, 1500, 3000]:
    for kind in ["total", "table", "partial", "runs"]:
        m = max(1, min(size, 60))
        vals = [rng.randrange(m) for _ in range(size)]
        if kind == "runs":
            # Long ascending and descending stretches exercise galloping.
            vals = sorted(vals)
            cut = size // 3
            vals = vals[:cut] + sorted(vals[cut:], reverse=True)
            for _ in range(size // 50):
                i = rng.randrange(max(1, size))
                if size:
                    vals[i] = rng.randrange(m)
        table = make_table(rng, m, 0.5 if kind == "table" else (0.05 if kind == "partial" else 0.0))
        calls = [0]
        def cmp(a, b):
            calls[0] += 1
            va, vb = a[1], b[1]
            if kind in ("total", "runs"):
                return (va > vb) - (va < vb)
            return table[va][vb]
        items = list(enumerate(vals))
        out = sorted(items, key=functools.cmp_to_key(cmp))
        cases.append({"kind": kind, "values": vals, "table": table if kind in ("table", "partial") else None,
                      "order": [i for i, _ in out], "calls": calls[0]})
with open("golden.json", "w") as f:
    json.dump(cases, f, separators=(",", ":"))
