"""The figures README.md, docs/*.md and bench/README.md quote come from clean results files (bench/figures.py)."""
import json

from bench import figures


def write(tmp_path, prose, record=None):
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    (results / "run.json").write_text(json.dumps(record or {
        "quick": False, "results": {"accuracy": 0.93081, "rows_per_s": 12.66, "peak_rss_mb": 2150.0, "wall_s": 402.0,
                                    "runs": [{"ratio": 1.4951}], "forward": {"openvino (bf16)": 141.84}}}))
    document = tmp_path / "README.md"
    document.write_text(prose)
    return document


def test_every_figure_in_the_readmes_and_docs_matches_a_clean_results_file():
    assert [problem for document in figures.DOCUMENTS for problem in figures.problems(document)] == []


def test_every_document_in_docs_is_checked():
    docs = sorted((figures.REPO / "docs").glob("*.md"))
    assert docs and set(docs) <= set(figures.DOCUMENTS)


def test_a_document_one_folder_down_links_figures_relative_to_itself(tmp_path):
    write(tmp_path, "")
    (tmp_path / "docs").mkdir()
    document = tmp_path / "docs" / "benchmarks.md"
    document.write_text("It scores [93.1%](../results/run.json#results.accuracy).\n")
    assert figures.problems(document) == []
    document.write_text("It scores [93.1%](results/run.json#results.accuracy).\n")
    [problem] = figures.problems(document)
    assert "results/run.json does not exist" in problem


def test_figures_that_round_to_their_source_pass_in_any_unit_the_key_allows(tmp_path):
    document = write(tmp_path, "It scores [93.1%](results/run.json#results.accuracy) at "
                               "[12.7 reviews/s](results/run.json#results.rows_per_s), peaks at "
                               "[2.10 GB](results/run.json#results.peak_rss_mb) and takes "
                               "[6.7 min](results/run.json#results.wall_s); "
                               "[1.50x](results/run.json#results.runs.0.ratio) in the first run, "
                               "[141.8 windows/s](results/run.json#results.forward.openvino%20%28bf16%29).\n")
    assert figures.problems(document) == []


def test_a_figure_that_differs_from_its_source_fails_with_the_source_s_value(tmp_path):
    document = write(tmp_path, "It scores [93.2%](results/run.json#results.accuracy).\n")
    [problem] = figures.problems(document)
    assert "0.93081" in problem


def test_a_measured_figure_without_a_source_fails_but_a_setting_or_code_does_not(tmp_path):
    document = write(tmp_path, "Uploads stop after 25 s. Training took 53 minutes.\n\n```\nbench says 4.2x\n```\n"
                               "A `3.5 GB` peak in code.\n")
    [problem] = figures.problems(document)
    assert "'53 minutes' has no source" in problem


def test_a_missing_key_a_quick_run_and_a_run_not_for_quoting_cannot_be_quoted(tmp_path):
    document = write(tmp_path, "[93.1%](results/run.json#results.accurcy)\n")
    assert "has no key results.accurcy" in figures.problems(document)[0]
    document = write(tmp_path, "[93.1%](results/run.json#accuracy)\n", {"quick": True, "accuracy": 0.931})
    assert "--quick run" in figures.problems(document)[0]
    document = write(tmp_path, "[93.1%](results/run.json#accuracy)\n",
                     {"accuracy": 0.931, "not_for_quoting": "measured on a tree that differs from commit abc"})
    assert "not for quoting" in figures.problems(document)[0]
