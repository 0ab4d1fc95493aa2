"""The benchmarks that judge the code itself: bench.compare (do two commits give the same figures?) and bench.tests
(how long the tests take) read their inputs as they claim."""
from bench import compare, tests


def test_compare_keeps_every_figure_and_leaves_out_what_a_run_measures_of_the_machine():
    results = {"models": {"product": {"accuracy": 0.93, "macro_f1": 0.9, "train_s": 402.0, "eval_rows_per_s": 12.6,
                                      "peak_rss_mb": 2150.0, "lr": {"chosen": 5e-05, "source": "lr_find"},
                                      "durations_s": {"fit": 300.0}, "bert_weight": [0.4]}},
               "latency": {"p50_ms": 104.0}, "ratio_product_over_ktrain": 0.82, "train_minutes": 1.0,
               "label_agreement": 1.0, "statuses": {"ok": 48}, "far empty cells": {"bytes": 502293,
                                                                                  "outcome": "refused"}}

    assert compare.figures(results) == {
        "models.product.accuracy": 0.93, "models.product.macro_f1": 0.9, "models.product.lr.chosen": 5e-05,
        "models.product.lr.source": "lr_find", "models.product.bert_weight.0": 0.4, "label_agreement": 1.0,
        "statuses.ok": 48, "far empty cells.outcome": "refused"}


def test_compare_names_each_figure_that_changed_appeared_or_went():
    before = {"accuracy": 0.9, "macro_f1": 0.8, "rows.joined": 200}
    after = {"accuracy": 0.9, "macro_f1": 0.81, "rows.nbsvm": 290}

    assert compare.differences(before, after) == {"macro_f1": [0.8, 0.81], "rows.joined": [200, None],
                                                  "rows.nbsvm": [None, 290]}
    assert compare.differences(before, dict(before)) == {}


def test_the_tests_benchmark_reads_each_tiers_counts_and_pytests_own_time():
    output = ("=== fast tier: python -m pytest\n........\n"
              "====== 502 passed, 77 warnings in 139.49s (0:02:19) ======\n"
              "=== slow tier: python -m pytest -m slow\n"
              "================= 6 passed, 1 skipped in 80.10s (0:01:20) =================\n")

    assert dict(zip(tests.TIER.findall(output), tests.pytest_summary(output))) == {
        "fast": {"counts": {"passed": 502, "warnings": 77}, "pytest_s": 139.49},
        "slow": {"counts": {"passed": 6, "skipped": 1}, "pytest_s": 80.1}}
