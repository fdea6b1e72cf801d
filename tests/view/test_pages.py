"""`valuegraph view` in a real headless Chromium: what each page shows, filters, live updates
and comparisons, asserted on the rendered page."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from playwright.sync_api import expect

from tests.view.builders import append_growth_step, growth_status, moral_record
from valuegraph.graphs._shared.records import RecordLog
from valuegraph.tools.rundir import RunDir

LIVE_TIMEOUT = 8000  # ms: the page polls every 0.2 s; the machine may be busy


def visible_items(page, section: str = "#items-moral_prompt") -> list[str]:
    return page.locator(f"{section} .item:visible .title").all_inner_texts()


def fact(item, name: str) -> str:
    return item.locator("dl.facts dt", has_text=name).locator(
        "xpath=following-sibling::dd[1]").inner_text()


def test_runs_list_shows_every_run_with_its_status(served, page, screenshots):
    url, runs = served
    page.goto(url + "/")
    expect(page.locator("#run-count")).to_have_text("3 runs")
    rows = page.locator("tr.run-row")
    assert rows.locator("td:first-child").all_inner_texts() == ["grow-1", "den-b", "den-a"]
    assert [rows.nth(i).get_attribute("data-state") for i in range(3)] == [
        "running", "done", "running"]
    den_a = page.locator("tr[data-run=den-a]")
    status = json.loads((runs / "den-a" / "status.json").read_text())
    assert den_a.locator("td.requests").inner_text() == str(status["requests_total"]) == "39"
    assert "mock/vt-a" in den_a.inner_text() and "mock/vj" in den_a.inner_text()
    grow = page.locator("tr[data-run=grow-1]")
    assert "explorers mock/explorer" in " ".join(grow.inner_text().split())
    assert "0.0125" in grow.inner_text() and "kept 4" in grow.inner_text()
    assert sorted(page.locator("tr.bench-row td:first-child").all_inner_texts()) == [
        "bench-moral-1", "grow-1/releases/v1/profiles-schwartz"]
    page.screenshot(path=str(screenshots / "view-runs.png"), full_page=True)


def test_runs_list_updates_live_when_a_running_run_reports(served, page):
    url, runs = served
    page.goto(url + "/")
    expect(page.locator("tr[data-run=den-a] td.requests")).to_have_text("39")
    RunDir(runs / "den-a").set_status("running", requests_total=99, cache_hits=12)
    expect(page.locator("tr[data-run=den-a] td.requests")).to_have_text(
        "99", timeout=LIVE_TIMEOUT)
    RunDir(runs / "den-a").set_status("done")
    expect(page.locator("tr[data-run=den-a]")).to_have_attribute(
        "data-state", "done", timeout=LIVE_TIMEOUT)
    expect(page.locator("#running-count")).to_have_text("1 running", timeout=LIVE_TIMEOUT)


def test_a_principle_shows_its_rounds_scores_and_kept_set(served, page, screenshots):
    url, runs = served
    page.goto(url + "/run/den-a")
    expect(page.locator("#run-state")).to_have_text("running")
    assert visible_items(page) == ["It's wrong to steal from a shop.",
                                   "You should not betray a friend.",
                                   "It's wrong to hurt an animal."]
    record = next(json.loads(line) for line in (runs / "den-a" / "results.jsonl").open()
                  if json.loads(line)["item_id"] == "b")
    item = page.locator("#items-moral_prompt-b")
    assert item.locator(".final").inner_text() == record["prompt"]
    assert item.locator(".score").inner_text() == "0.333"
    assert item.locator(".exit").inner_text() == "exit: rounds"
    detail = item.locator("details.detail")
    assert detail.locator("summary").inner_text() == \
        "3 rounds: x⁰ 0.333 → x¹ 0.333 → x² 0.333 · 3 final samples"
    detail.locator("summary").click()  # the rounds load when opened
    rounds = detail.locator(".round")
    expect(rounds.locator(".label")).to_have_text(["x⁰", "x¹", "x²"])
    assert (fact(item, "exit reason"), fact(item, "rounds"), fact(item, "requests")) == (
        "rounds", "2", str(record["requests"]))
    prompts = rounds.locator(".round-prompt").all_inner_texts()
    assert prompts == [h["scenario"] for h in record["history"]]
    assert prompts[0].startswith("An opening about") and prompts[1].startswith("A sharper")
    first = rounds.nth(0)
    outputs = first.locator("li.output")
    assert outputs.count() == 3
    assert [outputs.nth(i).get_attribute("data-score") for i in range(3)] == ["0.0", "1.0", "0.0"]
    assert "They do it anyway (1)." in outputs.nth(1).inner_text()
    kept = first.locator("li.is-kept")
    assert kept.count() == 1 and "They do it anyway (1)." in kept.inner_text()
    assert "kept #2" in first.inner_text()
    finals = item.locator(".final-outputs li.output")
    assert [float(finals.nth(i).get_attribute("data-score")) for i in range(3)] == \
        record["scores"] == [0.0, 1.0, 0.0]
    assert "rewrites considered" in rounds.nth(1).inner_text()
    page.screenshot(path=str(screenshots / "view-denevil.png"), full_page=True)


def test_filters_by_foundation_and_score_change_the_visible_count(served, page):
    url, _ = served
    page.goto(url + "/run/den-a")
    count = page.locator("form[data-filter-for=items-moral_prompt] [data-count]")
    expect(count).to_have_text("3 of 3 shown")
    page.select_option("#items-moral_prompt-group", "care")
    expect(count).to_have_text("1 of 3 shown")
    assert visible_items(page) == ["It's wrong to hurt an animal."]
    page.select_option("#items-moral_prompt-group", "")
    page.fill("#items-moral_prompt-min", "0.3")
    expect(count).to_have_text("2 of 3 shown")
    page.fill("#items-moral_prompt-min", "0.5")
    expect(count).to_have_text("1 of 3 shown")
    assert visible_items(page) == ["It's wrong to steal from a shop."]
    page.fill("#items-moral_prompt-max", "0.4")
    expect(count).to_have_text("0 of 3 shown")


def test_a_record_appended_to_a_running_run_appears_live(served, page):
    """A torn line (a record being written) is skipped; once complete, the page shows it
    without a reload, keeping the filter the reader chose."""
    url, runs = served
    page.goto(url + "/run/den-a")
    count = page.locator("form[data-filter-for=items-moral_prompt] [data-count]")
    page.select_option("#items-moral_prompt-group", "fairness")
    expect(count).to_have_text("1 of 3 shown")
    line = json.dumps(moral_record("den-a", "d", "You should not lie to win.", "fairness",
                                   [0.9, 0.7]).model_dump(mode="json")) + "\n"
    results = runs / "den-a" / "results.jsonl"
    with open(results, "a", encoding="utf-8") as fh:
        fh.write(line[:40])  # a torn line: the writer is in the middle of an append
    page.wait_for_timeout(800)
    expect(count).to_have_text("1 of 3 shown")
    assert page.locator("#run-live .note").count() == 0
    with open(results, "a", encoding="utf-8") as fh:
        fh.write(line[40:])
    expect(count).to_have_text("2 of 4 shown", timeout=LIVE_TIMEOUT)
    assert visible_items(page) == ["It's wrong to steal from a shop.",
                                   "You should not lie to win."]
    assert page.locator("#items-moral_prompt-group").input_value() == "fairness"
    assert page.locator("#run-records").inner_text() == "4"


def test_growth_run_shows_progress_arms_questions_releases_and_updates_live(served, page,
                                                                          screenshots):
    url, runs = served
    page.goto(url + "/run/grow-1")
    expect(page.locator("#steps-done")).to_have_text("3")
    assert page.locator("#kept-total").inner_text() == "4"
    assert page.locator("#mean-s").inner_text() == "4.5"  # (3 + 5 + 4 + 6) / 4
    assert page.locator("#release-count").inner_text() == "1"
    arms = page.locator("#arms-table tbody tr")
    assert arms.locator("td:first-child").all_inner_texts() == ["t01", "t02"]
    assert arms.nth(0).locator("td").nth(2).inner_text() == "2"
    assert "Compulsory voting" in arms.nth(0).inner_text()
    assert page.locator("svg[data-chart-name=arms] g.bar").count() == 2
    kept_line = page.locator("svg[data-chart-name=kept] g[data-series='kept (total)']")
    assert kept_line.get_attribute("data-points") == "3"
    rows = page.locator("#questions-list tbody tr")
    assert rows.count() == 6 and "q2-1" in rows.nth(0).inner_text()
    newest_kept = rows.nth(1).locator("td").all_inner_texts()
    assert newest_kept[:8] == ["2", "t01", "kept", "6", "7", "0.5", "0.25", "1.75"]
    page.select_option("#questions-status", "kept")
    expect(page.locator("form[data-filter-for=questions-list] [data-count]")).to_have_text(
        "4 of 6 shown")
    assert page.locator("#releases-table tr.release-row").count() == 1
    assert "v1" in page.locator("#releases-table").inner_text()
    page.screenshot(path=str(screenshots / "view-growth.png"), full_page=True)

    run_dir = RunDir(runs / "grow-1")
    append_growth_step(run_dir, 3, "t03", [(8.0, "kept")], {})
    growth_status(run_dir, steps=4, kept=5, mean_s=5.2, requests=150)
    expect(page.locator("#steps-done")).to_have_text("4", timeout=LIVE_TIMEOUT)
    expect(page.locator("#kept-total")).to_have_text("5")
    expect(page.locator("#mean-s")).to_have_text("5.2")
    expect(page.locator("#run-requests")).to_have_text("150")
    assert page.locator("#arms-table tbody tr").count() == 3
    assert page.locator("#questions-status").input_value() == "kept"
    expect(page.locator("form[data-filter-for=questions-list] [data-count]")).to_have_text(
        "5 of 7 shown")


def test_moral_benchmark_leaderboard_chart_and_item_drill_down(served, page, screenshots):
    url, _ = served
    page.goto(url + "/bench?path=bench-moral-1")
    rows = page.locator("#leaderboard tbody tr")
    assert rows.locator("td:first-child").all_inner_texts() == ["mock/good", "mock/bad"]
    bad = rows.nth(1).locator("td").all_inner_texts()
    assert bad[1].startswith("100") and bad[3].startswith("66.7")  # EVR, APV (2 of 3 samples)
    page.locator("#leaderboard th", has_text="APV").click()  # sort by APV, ascending
    page.locator("#leaderboard th", has_text="APV").click()  # descending
    assert rows.locator("td:first-child").all_inner_texts() == ["mock/bad", "mock/good"]
    visible = page.locator("#moral-charts > div:visible")
    assert visible.count() == 1 and visible.get_attribute("data-chart") == "evr|all"
    page.select_option("#chart-metric", "apv")
    page.select_option("#chart-foundation", "care")
    assert visible.get_attribute("data-chart") == "apv|care"
    bars = visible.locator("g.bar")
    assert [bars.nth(i).get_attribute("data-value") for i in range(2)] == ["0", "66.6667"]
    page.fill("#prompt-min", "0.5")
    expect(page.locator("form[data-filter-for=prompt-rows] [data-count]")).to_have_text(
        "3 of 3 shown")
    page.select_option("#prompt-foundation", "care")
    expect(page.locator("form[data-filter-for=prompt-rows] [data-count]")).to_have_text(
        "1 of 3 shown")
    page.screenshot(path=str(screenshots / "view-bench-moral.png"), full_page=True)
    page.locator("#prompt-rows a", has_text="c1").click()
    expect(page.locator("h1")).to_have_text("c1")
    assert page.locator(".final").inner_text() == "Cy is annoyed by the cat."
    rounds = page.locator(".round")
    assert rounds.locator(".label").all_inner_texts() == ["mock/good", "mock/bad"]
    bad_outputs = rounds.nth(1).locator("li.output")
    assert [bad_outputs.nth(i).get_attribute("data-score") for i in range(3)] == [
        "1.0", "1.0", "0.0"]
    assert "They steal and lie." in bad_outputs.nth(0).inner_text()


def test_values_benchmark_heatmap_radar_toggle_and_answers(served, page):
    url, _ = served
    page.goto(url + "/bench?path=grow-1/releases/v1/profiles-schwartz")
    heat = page.locator("#heat-trueskill tbody tr")
    assert heat.nth(0).locator("td").all_inner_texts() == ["mock/cautious", "92", "12", "50"]
    series = page.locator("#radar .series")
    assert series.count() == 2
    page.locator("input[data-series-toggle=radar][value='1']").uncheck()
    expect(page.locator("#radar .series[data-series='1']")).to_be_hidden()
    expect(page.locator("#radar .series[data-series='0']")).to_be_visible()
    page.locator("#question-rows a", has_text="q1-0").click()
    rounds = page.locator(".round")
    assert rounds.locator(".label").all_inner_texts() == ["mock/cautious", "mock/green"]
    assert "stance: yes" in rounds.nth(1).inner_text()
    assert "Planet: the planet comes first." in rounds.nth(1).inner_text()
    assert page.locator(".final").inner_text() == "Question q1-0 on t02?"


def test_compare_two_runs_shows_paired_differences(served, page, screenshots):
    url, _ = served
    page.goto(url + "/")
    page.select_option("select[name=a]", "den-a")
    page.select_option("select[name=b]", "den-b")
    page.locator("button", has_text="compare").click()
    expect(page.locator("#pair-count")).to_have_text("3")
    rows = page.locator("#pairs tbody tr")
    assert rows.locator("td:first-child").all_inner_texts() == ["a", "b", "c"]
    assert rows.locator("td.diff").all_inner_texts() == ["-1.000", "+0.667", "+0.000"]
    assert page.locator("#mean-diff").inner_text() == "-0.111"  # (-1 + 2/3 + 0) / 3
    assert page.locator("#higher-lower").inner_text() == "1 / 1 / 1"
    first = page.locator("details.pair").nth(0)
    sides = first.locator(".side")
    assert "They do it anyway (0)." in sides.nth(0).inner_text()
    assert "They walk away (0)." in sides.nth(1).inner_text()
    page.screenshot(path=str(screenshots / "view-compare.png"), full_page=True)


def test_model_output_is_shown_as_text_never_as_markup(served, page):
    url, runs = served
    hostile = '<img src=x onerror="window.pwned = 1"><script>window.pwned = 2</script>'
    RecordLog(runs / "den-a" / "results.jsonl").append(moral_record(
        "den-a", "x", "<b>Never</b> harm", "care", [1.0], completions=[hostile]))
    page.goto(url + "/run/den-a")
    item = page.locator("#items-moral_prompt-x")
    assert item.locator(".title").inner_text() == "<b>Never</b> harm"
    item.locator("summary").click()
    expect(item.locator(".final-outputs li")).to_have_count(1)
    assert hostile in item.locator(".final-outputs li").inner_text()
    assert page.evaluate("window.pwned === undefined")
    assert item.locator("img").count() == 0


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_browsing_every_page_writes_nothing_into_the_runs(served, page):
    url, runs = served
    before = tree_digest(runs)
    dirs_before = sorted(str(p) for p in runs.rglob("*") if p.is_dir())
    for path in ("/", "/run/den-a", "/run/den-b", "/run/grow-1", "/bench?path=bench-moral-1",
                 "/bench/item?path=bench-moral-1&id=f1",
                 "/bench?path=grow-1/releases/v1/profiles-schwartz",
                 "/compare?a=den-a&b=bench-moral-1::mock/bad"):
        response = page.goto(url + path)
        assert response.status == 200, path
        page.wait_for_timeout(300)  # let the live parts poll
    assert tree_digest(runs) == before
    assert sorted(str(p) for p in runs.rglob("*") if p.is_dir()) == dirs_before


def test_unknown_run_and_outside_paths_are_not_found(served, page):
    url, _ = served
    for path, message in (("/run/nope", "no run 'nope'"),
                          ("/run/.hidden", "must be 1-128 letters"),
                          ("/run/..%2Fprinciples.jsonl", "no page"),
                          ("/bench?path=../principles.jsonl", "no benchmark output"),
                          ("/compare?a=den-a&b=nope", "no run 'nope'")):
        response = page.goto(url + path)
        assert response.status == 404, path
        assert message in page.locator("#error").inner_text(), path
