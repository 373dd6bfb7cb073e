"""Unit tests for check.py: python3 -m unittest discover -s autobahn"""

import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check  # noqa: E402


def case(behavior="OK", behavior_close="OK", code=1000):
    return {
        "behavior": behavior,
        "behaviorClose": behavior_close,
        "remoteCloseCode": code,
        "duration": 1,
        "reportfile": "x.json",
    }


class CheckTestBase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write_index(self, subdir, data):
        path = os.path.join(self.dir, subdir)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "index.json"), "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        return path

    def run_check(self, *args):
        out = io.StringIO()
        status = check.main(list(args) + [self.dir], out=out)
        text = out.getvalue()
        return status, text, text.strip().splitlines()[-1]


class MainTest(CheckTestBase):
    def test_all_ok_passes(self):
        self.write_index(
            "servers/a",
            {"a": {"1.1.1": case(), "1.1.2": case(), "2.1": case(), "10.1.1": case()}},
        )
        status, text, last = self.run_check("--expect-agent", "a")
        self.assertEqual(status, 0, text)
        self.assertEqual(
            last, "autobahn: 4 ok, 0 non-strict, 0 informational, 0 unimplemented, 0 failed"
        )
        self.assertEqual([l for l in text.splitlines() if l.startswith(("FAIL ", "ERROR "))], [])

    def test_informational_is_fine(self):
        self.write_index(
            "servers/a",
            {"a": {"7.13.1": case("INFORMATIONAL", "INFORMATIONAL"), "1.1.1": case()}},
        )
        status, text, last = self.run_check("--expect-agent", "a")
        self.assertEqual(status, 0, text)
        self.assertEqual(
            last, "autobahn: 1 ok, 0 non-strict, 1 informational, 0 unimplemented, 0 failed"
        )

    def test_non_strict_fails(self):
        self.write_index("servers/a", {"a": {"1.1.1": case(), "6.4.1": case("NON-STRICT")}})
        status, text, last = self.run_check("--expect-agent", "a")
        self.assertNotEqual(status, 0)
        self.assertIn("FAIL a 6.4.1: behavior=NON-STRICT", text)
        self.assertEqual(
            last, "autobahn: 1 ok, 1 non-strict, 0 informational, 0 unimplemented, 0 failed"
        )

    def test_unimplemented_allowed_only_where_told(self):
        self.write_index(
            "servers/a",
            {"a": {"1.1.1": case(), "12.1.1": case("UNIMPLEMENTED"), "13.2.3": case("UNIMPLEMENTED")}},
        )
        status, text, _ = self.run_check("--allow-unimplemented", "12,13", "--expect-agent", "a")
        self.assertEqual(status, 0, text)
        # Without the option the same report fails.
        status, text, _ = self.run_check("--expect-agent", "a")
        self.assertNotEqual(status, 0)
        self.assertIn("FAIL a 12.1.1: behavior=UNIMPLEMENTED", text)

    def test_unimplemented_outside_allowed_groups_fails(self):
        self.write_index(
            "servers/a",
            {"a": {"12.1.1": case("UNIMPLEMENTED"), "5.1": case("UNIMPLEMENTED")}},
        )
        status, text, last = self.run_check("--allow-unimplemented", "12,13", "--expect-agent", "a")
        self.assertNotEqual(status, 0)
        self.assertIn("FAIL a 5.1: behavior=UNIMPLEMENTED", text)
        self.assertNotIn("FAIL a 12.1.1", text)
        self.assertEqual(
            last, "autobahn: 0 ok, 0 non-strict, 0 informational, 2 unimplemented, 0 failed"
        )

    def test_missing_agent_fails(self):
        self.write_index("servers/a", {"a": {"1.1.1": case()}})
        status, text, _ = self.run_check("--expect-agent", "a", "--expect-agent", "b")
        self.assertNotEqual(status, 0)
        self.assertIn("ERROR agent 'b' has no results", text)

    def test_agent_with_zero_cases_fails(self):
        self.write_index("clients/b", {"b": {}})
        self.write_index("servers/a", {"a": {"1.1.1": case()}})
        status, text, _ = self.run_check("--expect-agent", "a", "--expect-agent", "b")
        self.assertNotEqual(status, 0)
        self.assertIn("ERROR agent 'b' has zero cases", text)

    def test_missing_expected_cases_fail(self):
        self.write_index("servers/a", {"a": {"1.1.1": case(), "1.1.2": case()}})
        expected = os.path.join(self.dir, "expected.json")
        with open(expected, "w", encoding="utf-8") as fh:
            json.dump(["1.1.1", "1.1.2", "2.1"], fh)
        status, text, _ = self.run_check("--expect-agent", "a", "--expect-cases", expected)
        self.assertNotEqual(status, 0)
        self.assertIn("ERROR agent 'a' is missing 1 of 3 expected cases (2.1)", text)
        with open(expected, "w", encoding="utf-8") as fh:
            json.dump(["1.1.1", "1.1.2"], fh)
        status, text, _ = self.run_check("--expect-agent", "a", "--expect-cases", expected)
        self.assertEqual(status, 0, text)

    def test_no_reports_fails(self):
        status, text, last = self.run_check()
        self.assertNotEqual(status, 0)
        self.assertIn("no index.json found", text)
        self.assertEqual(
            last, "autobahn: 0 ok, 0 non-strict, 0 informational, 0 unimplemented, 0 failed"
        )

    def test_close_failures_fail_and_summary_counts(self):
        self.write_index(
            "servers/a",
            {
                "a": {
                    "1.1.1": case(),
                    "1.1.2": case(),
                    "2.1": case("FAILED", "OK"),
                    "7.9.1": case("OK", "WRONG CODE", 1000),
                    "7.7.1": case("OK", "UNCLEAN", None),
                    "7.1.1": case("OK", "FAILED BY CLIENT"),
                    "6.4.2": case("NON-STRICT"),
                    "7.13.1": case("INFORMATIONAL", "INFORMATIONAL"),
                    "12.1.1": case("UNIMPLEMENTED"),
                    "12.1.2": case("UNIMPLEMENTED", "UNCLEAN"),
                }
            },
        )
        self.write_index("clients/c", {"c": {"1.1.1": case(), "9.1.1": case()}})
        status, text, last = self.run_check(
            "--allow-unimplemented", "12,13", "--expect-agent", "a", "--expect-agent", "c"
        )
        self.assertNotEqual(status, 0)
        # ok: 1.1.1, 1.1.2 (a) + 1.1.1, 9.1.1 (c); failed: 2.1, 7.9.1, 7.7.1, 7.1.1, 12.1.2
        self.assertEqual(
            last, "autobahn: 4 ok, 1 non-strict, 1 informational, 1 unimplemented, 5 failed"
        )
        for line in (
            "FAIL a 2.1: behavior=FAILED behaviorClose=OK",
            "FAIL a 7.9.1: behavior=OK behaviorClose=WRONG CODE",
            "FAIL a 7.7.1: behavior=OK behaviorClose=UNCLEAN",
            "FAIL a 7.1.1: behavior=OK behaviorClose=FAILED BY CLIENT",
            "FAIL a 12.1.2: behavior=UNIMPLEMENTED behaviorClose=UNCLEAN",
            "FAIL a 6.4.2: behavior=NON-STRICT",
        ):
            self.assertIn(line, text)
        self.assertNotIn("FAIL c", text)
        # failures are listed in numeric case order
        self.assertLess(text.index("FAIL a 2.1:"), text.index("FAIL a 12.1.2:"))
        self.assertLess(text.index("FAIL a 7.1.1:"), text.index("FAIL a 7.9.1:"))


class TableTest(CheckTestBase):
    def test_table_has_a_row_per_agent_and_group(self):
        results = {
            "a": {"1.1.1": case(), "1.2.1": case(), "10.1.1": case(), "2.1": case("FAILED")},
        }
        outcome = check.evaluate(results)
        self.assertEqual(outcome["table"][("a", "1")][check.OK], 2)
        self.assertEqual(outcome["table"][("a", "2")][check.FAILED], 1)
        self.assertEqual(outcome["table"][("a", "10")][check.OK], 1)
        text = check.format_table(outcome["table"])
        lines = text.splitlines()
        groups = [line.split()[1] for line in lines[2:] if line.strip()]
        self.assertEqual(groups, ["1.*", "2.*", "10.*", "all"])
        for column in ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "WRONG CODE", "UNCLEAN"):
            self.assertIn(column, lines[0])


class HelpersTest(unittest.TestCase):
    def test_parse_prefixes(self):
        self.assertEqual(check.parse_prefixes("12,13"), ["12", "13"])
        self.assertEqual(check.parse_prefixes(" 12.*, 6.4 ,"), ["12", "6.4"])
        self.assertEqual(check.parse_prefixes(""), [])

    def test_matches_prefix(self):
        self.assertTrue(check.matches_prefix("12.1.1", ["12"]))
        self.assertTrue(check.matches_prefix("12", ["12"]))
        self.assertFalse(check.matches_prefix("1.2.1", ["12"]))
        self.assertFalse(check.matches_prefix("120.1", ["12"]))

    def test_classify(self):
        self.assertEqual(check.classify("OK", "OK"), "OK")
        self.assertEqual(check.classify("OK", "WRONG CODE"), "WRONG CODE")
        self.assertEqual(check.classify("FAILED", "UNCLEAN"), "FAILED")
        self.assertEqual(check.classify("OK", "FAILED BY CLIENT"), "OTHER")
        self.assertEqual(check.classify(None, None), "OTHER")
        self.assertEqual(check.classify("INFORMATIONAL", "INFORMATIONAL"), "INFORMATIONAL")

    def test_case_key_sorts_numerically(self):
        ids = ["10.1.1", "1.1.10", "1.1.2", "9.1.1", "1.1.1"]
        self.assertEqual(sorted(ids, key=check.case_key), ["1.1.1", "1.1.2", "1.1.10", "9.1.1", "10.1.1"])


if __name__ == "__main__":
    unittest.main()
