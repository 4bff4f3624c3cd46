#!/usr/bin/env python3
"""Independent Sigma oracle: pySigma + its SQLite backend.

Reads rule files (one path per line in RULES) and Sigma-shaped event records
(JSON lines in RECORDS: {"seq": N, "view": "process_creation", "fields": {...}}),
loads the records into an SQLite table `logs` (text columns COLLATE NOCASE, as
Sigma compares case-insensitively), converts every rule to SQL with pySigma's
SQLite backend and prints, per rule, the seqs it matches:

    {"id": "...", "seqs": [1, 5]}            or
    {"id": "...", "error": "why pySigma could not convert it"}

Usage: sigma_oracle.py RULES RECORDS
"""
import json
import re
import sqlite3
import sys

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection

# The views each log source reads; must name the same views as
# replay/src/sigma/fields.rs (the view is part of each record).
VIEW_PREFIX = {
    "process_creation": "process_creation",
    "file_event": "file_event:",
    "file_delete": "file_delete",
    "process_termination": "process_termination",
    "network_connection": "network_connection:",
    "auditd": "auditd:",
}


def views_of(logsource):
    key = logsource.category or logsource.service
    return VIEW_PREFIX.get(key)


def regexp(pattern, value):
    if value is None:
        return False
    return re.search(pattern, str(value)) is not None


def main():
    rules_file, records_file = sys.argv[1], sys.argv[2]
    records = [json.loads(l) for l in open(records_file, encoding="utf-8") if l.strip()]
    columns = sorted({k for r in records for k in r["fields"]})
    numeric = {c for c in columns if all(isinstance(r["fields"].get(c), (int, type(None))) for r in records)}
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, regexp, deterministic=True)
    cols = ['"seq" INTEGER', '"view" TEXT', '"_raw" TEXT COLLATE NOCASE'] + [
        f'"{c}" INTEGER' if c in numeric else f'"{c}" TEXT COLLATE NOCASE' for c in columns if c != "_raw"
    ]
    db.execute(f"CREATE TABLE logs ({', '.join(cols)})")
    names = ["seq", "view", "_raw"] + [c for c in columns if c != "_raw"]
    rows = [[r["seq"], r["view"], r["fields"].get("_raw")] + [r["fields"].get(c) for c in names[3:]] for r in records]
    db.executemany(f"INSERT INTO logs VALUES ({', '.join('?' for _ in names)})", rows)

    backend = sqliteBackend(collate_nocase=True, fulltext_field="_raw")
    for path in open(rules_file, encoding="utf-8").read().split("\n"):
        if not path:
            continue
        try:
            collection = SigmaCollection.from_yaml(open(path, encoding="utf-8").read())
        except Exception as e:  # noqa: BLE001 - report, do not stop
            print(json.dumps({"file": path, "error": f"{type(e).__name__}: {e}"}))
            continue
        for rule in collection.rules:
            rid = str(rule.id) if rule.id else rule.title
            prefix = views_of(rule.logsource)
            if prefix is None:
                continue
            try:
                queries = backend.convert_rule(rule)
            except Exception as e:  # noqa: BLE001
                print(json.dumps({"id": rid, "error": f"{type(e).__name__}: {e}"}))
                continue
            seqs = set()
            for q in queries:
                sql = f"SELECT seq FROM ({q}) WHERE view = ? OR (? LIKE '%:' AND substr(view, 1, length(?)) = ?)"
                for (seq,) in db.execute(sql, (prefix, prefix, prefix, prefix)):
                    seqs.add(seq)
            print(json.dumps({"id": rid, "seqs": sorted(seqs)}))


if __name__ == "__main__":
    main()
