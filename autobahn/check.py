#!/usr/bin/env python3
"""Check Autobahn|Testsuite reports and fail on any non-conformance.

Reads the ``index.json`` master reports that ``wstest`` writes into the
``outdir`` of its spec (run.sh uses one outdir per testee, e.g.
``autobahn/reports/servers/ws-std-server/index.json``), prints a table of
outcomes per agent and case group, lists every failing case and ends with
the line::

    autobahn: N ok, M non-strict, K informational, U unimplemented, F failed

Each case gets exactly one outcome, so N + M + K + U + F is the number of
cases.  A case is *failed* when its ``behavior`` or ``behaviorClose`` is
anything other than OK / NON-STRICT / INFORMATIONAL / UNIMPLEMENTED, i.e.
FAILED, WRONG CODE, UNCLEAN, and also FAILED BY CLIENT (the server testee
did not close the TCP connection first, so wstest's client had to) or any
value this script does not know.

The exit status is non-zero when

* any case failed (see above),
* any case is NON-STRICT,
* any case is UNIMPLEMENTED outside the prefixes given with
  ``--allow-unimplemented`` (e.g. ``12,13`` while permessage-deflate is
  missing),
* an agent named with ``--expect-agent`` has no results or zero cases,
* an agent lacks cases listed in the ``--expect-cases`` file (wstest's
  fuzzingclient stops early and still writes a report when a server testee
  stops accepting connections),
* no report was found at all.

INFORMATIONAL is always fine.  Standard library only.
"""

import argparse
import json
import os
import sys

OK = "OK"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
UNIMPLEMENTED = "UNIMPLEMENTED"
FAILED = "FAILED"
WRONG_CODE = "WRONG CODE"
UNCLEAN = "UNCLEAN"
# Any other value (FAILED BY CLIENT, or something unknown) is counted here.
OTHER = "OTHER"

COLUMNS = [OK, NON_STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED, WRONG_CODE, UNCLEAN, OTHER]
NOT_FAILED = {OK, NON_STRICT, INFORMATIONAL, UNIMPLEMENTED}
# behaviorClose values that are fine.  wstest sets UNIMPLEMENTED /
# NON-STRICT only on `behavior`; they are accepted here too so that the
# close column never hides a worse `behavior`.
CLOSE_NOT_FAILED = {OK, INFORMATIONAL, NON_STRICT, UNIMPLEMENTED}


def case_key(case_id):
    """Sort key for case ids like '1.1.10' (numeric, not lexicographic)."""
    key = []
    for part in str(case_id).split("."):
        try:
            key.append((0, int(part), ""))
        except ValueError:
            key.append((1, 0, part))
    return key


def case_group(case_id):
    return str(case_id).split(".", 1)[0]


def parse_prefixes(text):
    """'12,13' or '12.*, 6.4' -> ['12', '13'] / ['12', '6.4']."""
    prefixes = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item == "*":
            prefixes.append("")  # matches every case
            continue
        if item.endswith(".*"):
            item = item[:-2]
        prefixes.append(item)
    return prefixes


def matches_prefix(case_id, prefixes):
    for p in prefixes:
        if p == "" or case_id == p or case_id.startswith(p + "."):
            return True
    return False


def classify(behavior, behavior_close):
    """Return the single outcome (one of COLUMNS) of a case."""
    if behavior not in NOT_FAILED:
        return behavior if behavior in (FAILED, WRONG_CODE, UNCLEAN) else OTHER
    if behavior_close not in CLOSE_NOT_FAILED:
        return behavior_close if behavior_close in (FAILED, WRONG_CODE, UNCLEAN) else OTHER
    return behavior


def find_reports(paths):
    """Expand files/directories into a sorted list of index.json files."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                if "index.json" in filenames:
                    found.append(os.path.join(dirpath, "index.json"))
        elif os.path.isfile(path):
            found.append(path)
    return sorted(set(found))


def load_reports(files):
    """Merge index.json files into {agent: {case_id: result}}.

    Returns (results, errors)."""
    results = {}
    errors = []
    for path in files:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            errors.append("%s: cannot read report: %s" % (path, exc))
            continue
        if not isinstance(data, dict):
            errors.append("%s: not a wstest index.json (top level is not an object)" % path)
            continue
        for agent, cases in data.items():
            if not isinstance(cases, dict):
                errors.append("%s: agent %r: cases are not an object" % (path, agent))
                continue
            if agent in results:
                overlap = set(results[agent]) & set(cases)
                if overlap:
                    errors.append(
                        "%s: agent %r appears in more than one report (%d overlapping cases)"
                        % (path, agent, len(overlap))
                    )
            results.setdefault(agent, {}).update(cases)
    return results, errors


def evaluate(results, allow_unimplemented=(), expected_agents=(), expected_cases=None):
    """Evaluate merged results.

    expected_cases: optional list of case ids every agent must have.

    Returns a dict with:
      table:    {(agent, group): {column: count}}
      totals:   {column: count} over everything
      failures: [(agent, case_id, behavior, behavior_close, why)]
      errors:   [message] for missing / empty agents
    """
    table = {}
    totals = dict.fromkeys(COLUMNS, 0)
    failures = []
    errors = []

    for agent in expected_agents:
        if agent not in results:
            errors.append("agent %r has no results (testee crashed or never reported?)" % agent)
        elif not results[agent]:
            errors.append("agent %r has zero cases" % agent)

    for agent in sorted(results):
        cases = results[agent]
        if not cases and agent not in expected_agents:
            errors.append("agent %r has zero cases" % agent)
        if expected_cases is not None and cases:
            missing = [c for c in expected_cases if c not in cases]
            if missing:
                shown = ", ".join(sorted(missing, key=case_key)[:10])
                more = ", ..." if len(missing) > 10 else ""
                errors.append(
                    "agent %r is missing %d of %d expected cases (%s%s): the run stopped early?"
                    % (agent, len(missing), len(expected_cases), shown, more)
                )
        for case_id in sorted(cases, key=case_key):
            res = cases[case_id] if isinstance(cases[case_id], dict) else {}
            behavior = res.get("behavior")
            behavior_close = res.get("behaviorClose")
            outcome = classify(behavior, behavior_close)
            row = table.setdefault((agent, case_group(case_id)), dict.fromkeys(COLUMNS, 0))
            row[outcome] += 1
            totals[outcome] += 1

            why = None
            if outcome not in NOT_FAILED:
                why = "failed"
            elif outcome == NON_STRICT:
                why = "non-strict"
            elif outcome == UNIMPLEMENTED and not matches_prefix(case_id, allow_unimplemented):
                why = "unimplemented outside the allowed cases"
            if why:
                failures.append((agent, case_id, behavior, behavior_close, why))

    return {"table": table, "totals": totals, "failures": failures, "errors": errors}


def summary_line(totals):
    failed = sum(totals[c] for c in COLUMNS if c not in NOT_FAILED)
    return "autobahn: %d ok, %d non-strict, %d informational, %d unimplemented, %d failed" % (
        totals[OK],
        totals[NON_STRICT],
        totals[INFORMATIONAL],
        totals[UNIMPLEMENTED],
        failed,
    )


def format_table(table):
    headers = ["agent", "group"] + COLUMNS
    rows = []
    agents = sorted({agent for agent, _ in table})
    for agent in agents:
        groups = sorted((g for a, g in table if a == agent), key=case_key)
        agent_total = dict.fromkeys(COLUMNS, 0)
        for group in groups:
            counts = table[(agent, group)]
            for c in COLUMNS:
                agent_total[c] += counts[c]
            rows.append([agent, group + ".*"] + [str(counts[c]) for c in COLUMNS])
        rows.append([agent, "all"] + [str(agent_total[c]) for c in COLUMNS])
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]

    def fmt(row):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(w) for cell, w in zip(row[2:], widths[2:])]
        return "  ".join(cells).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    previous_agent = None
    for row in rows:
        if previous_agent is not None and row[0] != previous_agent:
            lines.append("")
        previous_agent = row[0]
        lines.append(fmt(row))
    return "\n".join(lines)


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(
        description="Check Autobahn|Testsuite index.json reports.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        default=[os.path.join(os.path.dirname(os.path.abspath(__file__)), "reports")],
        help="index.json files or directories searched recursively for them "
        "(default: autobahn/reports)",
    )
    parser.add_argument(
        "--allow-unimplemented",
        default="",
        metavar="PREFIXES",
        help="comma-separated case prefixes where UNIMPLEMENTED is allowed, e.g. '12,13'",
    )
    parser.add_argument(
        "--expect-agent",
        action="append",
        default=[],
        metavar="AGENT",
        help="agent that must have at least one case (repeatable)",
    )
    parser.add_argument(
        "--expect-cases",
        metavar="FILE",
        help="JSON list of the case ids every agent must have (run.sh writes it from the spec)",
    )
    args = parser.parse_args(argv)

    allow = parse_prefixes(args.allow_unimplemented)
    expected_cases = None
    load_errors = []
    if args.expect_cases:
        try:
            with open(args.expect_cases, encoding="utf-8") as fh:
                expected_cases = [str(c) for c in json.load(fh)]
        except (OSError, ValueError, TypeError) as exc:
            load_errors.append("%s: cannot read expected cases: %s" % (args.expect_cases, exc))
    files = find_reports(args.paths)
    results, report_errors = load_reports(files)
    outcome = evaluate(results, allow, args.expect_agent, expected_cases)
    errors = load_errors + report_errors + outcome["errors"]
    if not files:
        errors.insert(0, "no index.json found under: %s" % ", ".join(args.paths))

    for path in files:
        print("report: %s" % path, file=out)
    if outcome["table"]:
        print(file=out)
        print(format_table(outcome["table"]), file=out)
    print(file=out)

    for agent, case_id, behavior, behavior_close, why in outcome["failures"]:
        print(
            "FAIL %s %s: behavior=%s behaviorClose=%s (%s)"
            % (agent, case_id, behavior, behavior_close, why),
            file=out,
        )
    for message in errors:
        print("ERROR %s" % message, file=out)

    print(summary_line(outcome["totals"]), file=out)
    return 1 if (outcome["failures"] or errors) else 0


if __name__ == "__main__":
    sys.exit(main())
