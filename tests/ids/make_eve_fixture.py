#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Captures real EVE records from the installed Suricata for the parser's
unit test (tests/unit/ids/data/eve-suricata.jsonl).

Runs Suricata over make_pcap.py's attack pcap twice:
  - IDS: the bundled rules as they are -> "alert" (action allowed), "flow",
    "http", "fileinfo", "ssh", "anomaly", "stats";
  - simulated IPS (--simulate-ips) with every rule turned into "drop" and
    the "drop" EVE type enabled -> "alert" (action blocked) and "drop".
Keeps one alert per sid, an IPv6 alert, and a few records of each other
type. flow_id values and the stats timestamp change from run to run.

  make_eve_fixture.py [OUT]   (default: tests/unit/ids/data/eve-suricata.jsonl)
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_rules  # noqa: E402
import make_pcap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
RULES = os.path.join(ROOT, "deploy", "suricata", "peerpipe.rules")
CONFIG = "/etc/suricata/suricata.yaml"


def run(work, name, pcap, rules, config, extra=()):
    out = os.path.join(work, name)
    os.makedirs(out)
    subprocess.run(["suricata", "-r", pcap, "-S", rules, "-c", config, "-l", out, "-k", "none",
                    "--runmode", "single"] + list(extra), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "eve.json")) as f:
        return [line.rstrip("\n") for line in f]


def main(argv):
    dest = argv[1] if len(argv) > 1 else os.path.join(ROOT, "tests", "unit", "ids", "data",
                                                      "eve-suricata.jsonl")
    work = tempfile.mkdtemp(prefix="pp-eve-fixture-")
    pcap = os.path.join(work, "attack.pcap")
    make_pcap.build("attack").save(pcap)

    ips_rules, ips_yaml = check_rules.ips_setup(work, RULES, CONFIG)

    ids = run(work, "ids", pcap, RULES, CONFIG)
    ips = run(work, "ips", pcap, ips_rules, ips_yaml, ["--simulate-ips"])

    keep, seen_sid, count = [], set(), {}
    want = {"flow": 2, "http": 1, "fileinfo": 1, "ssh": 1, "anomaly": 1, "stats": 1}
    for line in ids:
        ev = json.loads(line)
        t = ev["event_type"]
        if t == "alert":
            sid = ev["alert"]["signature_id"]
            v6 = ":" in ev["src_ip"]
            if (sid, v6) not in seen_sid:
                seen_sid.add((sid, v6))
                keep.append(line)
        elif count.get(t, 0) < want.get(t, 0):
            count[t] = count.get(t, 0) + 1
            keep.append(line)
    blocked = drops_alert = drops_plain = 0
    for line in ips:
        ev = json.loads(line)
        if ev["event_type"] == "alert" and blocked < 2:
            blocked += 1
            keep.append(line)
        elif ev["event_type"] == "drop" and "alert" in ev and drops_alert < 2:
            drops_alert += 1
            keep.append(line)
        elif ev["event_type"] == "drop" and "alert" not in ev and drops_plain < 2:
            drops_plain += 1
            keep.append(line)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "w") as f:
        f.write("\n".join(keep) + "\n")
    print("%s: %d records (%d alerts)" % (dest, len(keep), len(seen_sid)))
    subprocess.run(["rm", "-rf", work])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
