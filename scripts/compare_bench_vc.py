"""Paired comparison of two ``voxmorph bench vc`` reports on the files both converted.

    python scripts/compare_bench_vc.py EARLIER.json LATER.json [--system "neural calibrated"]...

For every group (cross-gender, same-gender, vctk, librispeech) and system both reports hold, it
matches rows by source file and target and prints the later report's mean minus the earlier one's,
with the standard error of the per-file differences, for similarity, MCD, F0 correlation with
the source, CER and DNSMOS. A system may be compared with another one (``--system A=B``: A of the
later report against B of the earlier, e.g. the new neural converter against the WORLD rows).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from voxmorph.eval.report import paired_difference

COLUMNS = {"similarity": "similarity", "mcd": "MCD dB", "f0_corr_source": "F0 corr (src)", "cer": "CER",
           "dnsmos_ovrl": "DNSMOS"}


def _renamed(row: dict) -> dict:
    """Reports written before the judge called similarity by its name held it as ``secs``."""
    if "secs" in row:
        row["similarity"] = row.pop("secs")
    return row


def _key(row: dict) -> tuple:
    return row["kind"], row.get("pair"), row["source"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("earlier", type=Path)
    ap.add_argument("later", type=Path)
    ap.add_argument("--system", action="append",
                    help="a system to compare (repeatable); LATER_NAME=EARLIER_NAME pairs two names. "
                         "Default: every system both reports hold")
    args = ap.parse_args()
    earlier, later = ([_renamed(r) for r in json.loads(p.read_text())["rows"]]
                      for p in (args.earlier, args.later))
    if args.system:
        pairs = [tuple(s.split("=", 1)) if "=" in s else (s, s) for s in args.system]
    else:
        names = [r["system"] for r in later]
        pairs = [(s, s) for s in dict.fromkeys(names) if any(r["system"] == s for r in earlier)]
    print(f"{args.later} minus {args.earlier}, paired per file (mean +- standard error)\n")
    print("| group | system | n | " + " | ".join(COLUMNS.values()) + " |")
    print("|---|---|---|" + "---|" * len(COLUMNS))
    for kind in dict.fromkeys(r["kind"] for r in later):
        for new_name, old_name in pairs:
            old = {_key(r): r for r in earlier if r["kind"] == kind and r["system"] == old_name}
            matched = [(old[_key(r)], r) for r in later
                       if r["kind"] == kind and r["system"] == new_name and _key(r) in old]
            if not matched:
                continue
            cells = [paired_difference([b[c] - a[c] for a, b in matched
                                        if a.get(c) is not None and b.get(c) is not None]) for c in COLUMNS]
            name = new_name if new_name == old_name else f"{new_name} vs {old_name}"
            print(f"| {kind} | {name} | {len(matched)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
