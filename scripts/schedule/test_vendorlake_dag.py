"""The DAG's exit-code mapping, tested in plain Python (without Airflow)."""

import unittest

import vendorlake_dag as d


class Outcome(unittest.TestCase):
    def test_codes(self):
        for code, want in [(0, d.SUCCESS), (1, d.RETRY), (2, d.RETRY), (3, d.FAIL), (4, d.RETRY),
                           (5, d.RETRY), (6, d.FAIL), (7, d.RETRY), (130, d.RETRY), (143, d.RETRY)]:
            self.assertEqual(d.outcome(code), want, code)


if __name__ == "__main__":
    unittest.main()
