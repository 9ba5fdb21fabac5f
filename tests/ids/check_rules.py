#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks deploy/suricata/peerpipe.rules against the installed Suricata.

  1. `suricata -T` loads the file with no error (and no rule skipped);
  2. over make_pcap.py's attack pcap, every case raises exactly its
     expected sids, each once, and nothing else;
  3. over the benign pcap, nothing fires;
  4. every sid in the rules file has at least one attack case;
  5. with --ips, the same with every rule as "drop" under --simulate-ips
     (as the gateway's ips mode loads them): each attack alert is
     "blocked" and comes with a drop record, the benign flows lose nothing.

Alerts are mapped to cases through the EVE alert's flow.src_port (the
initiator's port), as the gateway maps them to streams. Prints TAP.

  check_rules.py [--rules FILE] [--config suricata.yaml] [--keep DIR]
                 [--ips] [--table]   (--table: a markdown table for docs/ids.md)
Exit 77 (skip) when suricata is not installed.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_pcap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, diag=None):
        self.n += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.n, what))
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines():
                    print("# " + line)
        return cond


def rule_sids(path):
    sids = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            sid = int(re.search(r"\bsid:\s*(\d+)\s*;", line).group(1))
            msg = re.search(r'\bmsg:\s*"((?:[^"\\]|\\.)*)"', line).group(1)
            sids[sid] = msg
    return sids


def ips_setup(work, rules, config):
    """Rules with every "alert" as "drop", and a config with the "drop"
    EVE type enabled; returns (rules, config) paths in work."""
    with open(config) as f:
        yaml = f.read()
    yaml, n = re.subn(r"\n        #- drop:\n        #    alerts: yes(.*)\n        #    flows: all",
                      r"\n        - drop:\n            alerts: yes\1\n            flows: all", yaml)
    if n != 1:
        raise SystemExit("cannot enable the drop logger in " + config)
    ips_config = os.path.join(work, "ips.yaml")
    with open(ips_config, "w") as f:
        f.write(yaml)
    ips_rules = os.path.join(work, "ips.rules")
    with open(rules) as f, open(ips_rules, "w") as g:
        g.write(re.sub(r"(?m)^alert ", "drop ", f.read()))
    return ips_rules, ips_config


def run_suricata(args, pcap, rules, config, outdir, extra=()):
    shutil.rmtree(outdir, ignore_errors=True)  # Suricata appends to eve.json
    os.makedirs(outdir)
    cmd = [args.suricata, "-r", pcap, "-S", rules, "-c", config, "-l", outdir, "-k", "none",
           "--runmode", "single"] + list(extra)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    events = []
    eve = os.path.join(outdir, "eve.json")
    if os.path.exists(eve):
        with open(eve) as f:
            events = [json.loads(line) for line in f]
    return p.returncode, p.stdout, events


def initiator_port(ev):
    """The client's port: the flow's src when the record has it, else
    the top level ordered by direction (drop records)."""
    if "src_port" in ev.get("flow", {}):
        return ev["flow"]["src_port"]
    return ev["dest_port"] if ev.get("direction") == "to_client" else ev["src_port"]


def check_pcap(tap, kind, events, ips=False):
    cases = make_pcap.CASES[kind]
    by_port = collections.defaultdict(list)
    drops = collections.defaultdict(int)
    for ev in events:
        if ev["event_type"] == "drop":
            drops[initiator_port(ev)] += 1
        if ev["event_type"] != "alert":
            continue
        by_port[initiator_port(ev)].append(ev["alert"]["signature_id"])
        want = "blocked" if ips else "allowed"
        tap.ok(ev["alert"]["action"] == want, "%s sid %d on port %d: action %s" %
               (kind, ev["alert"]["signature_id"], initiator_port(ev), ev["alert"]["action"]))
    if ips:
        for i, case in enumerate(cases):
            port = make_pcap.client_port(kind, i)
            tap.ok(bool(drops[port]) == bool(case[3]), "%s %s (port %d): %d packets dropped" %
                   (kind, case[0], port, drops[port]))
    fired = collections.defaultdict(set)  # sid -> case names
    for i, (name, _sport, _ex, want, _v6) in enumerate(cases):
        port = make_pcap.client_port(kind, i)
        got = sorted(by_port.pop(port, []))
        for sid in got:
            fired[sid].add(name)
        tap.ok(got == sorted(want), "%s %s (port %d): sids %s" % (kind, name, port, got or "none"),
               "expected %s" % sorted(want))
    tap.ok(not by_port, "%s: no alert outside the cases" % kind, dict(by_port))
    return fired


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", default=os.path.join(ROOT, "deploy", "suricata", "peerpipe.rules"))
    ap.add_argument("--config", default="/etc/suricata/suricata.yaml")
    ap.add_argument("--suricata", default="suricata")
    ap.add_argument("--keep", help="keep pcaps and Suricata logs in this directory")
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--ips", action="store_true", help="rules as drop, --simulate-ips")
    args = ap.parse_args()

    if not shutil.which(args.suricata):
        print("1..0 # SKIP suricata not installed")
        return 77
    work = args.keep or tempfile.mkdtemp(prefix="pp-ids-rules-")
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    try:
        sids = rule_sids(args.rules)
        p = subprocess.run([args.suricata, "-T", "-v", "-S", args.rules, "-c", args.config,
                            "-l", work], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        m = re.search(r"(\d+) rules successfully loaded, (\d+) rules failed, (\d+)", p.stdout)
        loaded = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
        tap.ok(p.returncode == 0 and loaded == (len(sids), 0, 0),
               "suricata -T: %s rules loaded, 0 failed, 0 skipped (file has %d)" %
               (loaded[0] if loaded else "?", len(sids)), p.stdout[-3000:])

        rules, config, extra = args.rules, args.config, []
        if args.ips:
            rules, config = ips_setup(work, args.rules, args.config)
            extra = ["--simulate-ips"]
        results = {}
        for kind in ("attack", "benign"):
            pcap = os.path.join(work, kind + ".pcap")
            make_pcap.build(kind).save(pcap)
            rc, out, events = run_suricata(args, pcap, rules, config, os.path.join(work, kind),
                                           extra)
            tap.ok(rc == 0, "suricata -r %s.pcap%s exits 0" % (kind, " --simulate-ips" * args.ips),
                   out[-3000:])
            results[kind] = check_pcap(tap, kind, events, args.ips)

        wanted = {s for c in make_pcap.ATTACK for s in c[3]}
        tap.ok(set(sids) == wanted, "every rule has an attack case and every case a rule",
               "rules without a case: %s; cases without a rule: %s" %
               (sorted(set(sids) - wanted), sorted(wanted - set(sids))))
        print("1..%d" % tap.n)

        print("# %-8s %-14s %-14s %s" % ("sid", "fired:attack", "fired:benign", "msg"))
        for sid, msg in sorted(sids.items()):
            print("# %-8d %-14s %-14s %s" % (sid, "yes" if sid in results["attack"] else "NO",
                                            "YES" if sid in results["benign"] else "no", msg))
        if args.table:
            for sid, msg in sorted(sids.items()):
                cases = ", ".join(sorted(results["attack"].get(sid, ())))
                print("| %d | %s | %s |" % (sid, msg, cases))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
