"""Value theories as data, the bootstrap, and the HTML report."""

from __future__ import annotations

import numpy as np
import pytest

from valuegraph.evals.report import HtmlReport, new_figure
from valuegraph.values.stats import bootstrap_ci
from valuegraph.values.theories import BIG_FIVE, HONESTY_TYPES, MORAL_FOUNDATIONS, SCHWARTZ


def test_theory_sizes_and_lookups():
    assert len(MORAL_FOUNDATIONS.dimensions) == 5
    assert SCHWARTZ.codes == ("SDI", "STI", "HED", "ACH", "POW", "SEC", "CON", "TRA", "BEN",
                              "UNI")
    assert len(BIG_FIVE.dimensions) == 5
    assert HONESTY_TYPES.codes == ("Context_Dependent", "False_Premises",
                                   "Subjective_or_Philosophical", "Vague_Description")
    assert SCHWARTZ.get("Power").code == "POW"
    with pytest.raises(KeyError, match="allowed: SDI"):
        SCHWARTZ.get("XYZ")


def test_schwartz_groups_and_oppositions():
    assert set(SCHWARTZ.groups_of("HED")) == {"Openness to change", "Self-enhancement"}
    assert SCHWARTZ.opposite_group("Conservation") == "Openness to change"
    assert SCHWARTZ.are_opposed("POW", "UNI") and SCHWARTZ.are_opposed("SEC", "STI")
    assert not SCHWARTZ.are_opposed("BEN", "UNI")
    assert not SCHWARTZ.are_opposed("ACH", "SEC")


def test_bootstrap_mean_interval_covers_and_is_deterministic():
    data = list(np.linspace(0, 1, 41))
    point, low, high = bootstrap_ci(data, lambda xs: float(np.mean(xs)), seed=1)
    assert point == pytest.approx(0.5)
    assert low < 0.5 < high and high - low < 0.25
    assert bootstrap_ci(data, lambda xs: float(np.mean(xs)), seed=1) == (point, low, high)
    assert bootstrap_ci([0.3], lambda xs: float(np.mean(xs))) == (0.3, 0.3, 0.3)


def test_report_embeds_table_and_figure(tmp_path):
    report = HtmlReport("Demo <report>")
    report.table(["model", "APV"], [["local", 12.345]])
    fig, ax = new_figure()
    ax.bar(["a"], [1.0])
    report.figure(fig, "a bar")
    html = report.write(tmp_path / "r.html").read_text()
    assert "<td>12.35</td>" in html and "Demo &lt;report&gt;" in html
    assert html.count("data:image/png;base64,") == 1
