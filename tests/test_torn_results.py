"""A crash in the middle of writing a record leaves a torn last line in ``results.jsonl``.
Readers skip it, the next writer cuts it off (keeping a copy), and the run resumes: nothing is
lost, nothing is duplicated, nothing is sent twice. A broken line *inside* the file is damage,
named with its line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.test_run_endings import PRINCIPLES, REQUESTS_PER_PRINCIPLE, run_args, script
from valuegraph.cli import app
from valuegraph.graphs._shared.records import RecordLog
from valuegraph.tools.files import FileError
from valuegraph.tools.results import ResultLog
from valuegraph.tools.rundir import RunDir


def test_writer_cuts_a_torn_tail_and_keeps_each_fragment(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"id": 1}\n{"id": 2, "tru')
    assert [r["id"] for r in ResultLog(path)] == [1]  # a reader leaves the file as it is
    assert path.read_text().endswith('"tru')
    log = ResultLog(path, writer=True)
    assert log.repaired == tmp_path / "results.jsonl.torn-1"
    assert log.repaired.read_text() == '{"id": 2, "tru'
    log.append({"id": 3})
    assert path.read_text() == '{"id": 1}\n{"id": 3}\n'
    with open(path, "a") as fh:
        fh.write('{"id": 4, "x')
    assert ResultLog(path, writer=True).repaired == tmp_path / "results.jsonl.torn-2"
    assert (tmp_path / "results.jsonl.torn-1").read_text() == '{"id": 2, "tru'
    assert (tmp_path / "results.jsonl.torn-2").read_text() == '{"id": 4, "x'
    assert ResultLog(path, writer=True).repaired is None  # a clean file is left alone


def test_a_broken_line_inside_is_named(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"id": 1}\n{"id": \n{"id": 3}\n')
    with pytest.raises(FileError, match=r"results.jsonl:2: broken record"):
        ResultLog(path).read()
    path.write_text('{"id": 1}\n[1, 2]\n')
    with pytest.raises(FileError, match=r"results.jsonl:2: broken record: expected a JSON object"):
        ResultLog(path).read()


def test_denevil_run_torn_mid_record_resumes_without_loss_or_duplicates(tmp_path):
    script(target_fails=False)
    first = CliRunner().invoke(app, run_args(tmp_path))
    assert first.exit_code == 0, first.output
    run = tmp_path / "runs" / "r"
    results = run / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    assert len(lines) == 3
    # The process died while writing the last principle's record: its graph had finished
    # (checkpointed), its record is half on disk.
    fragment = lines[2][: len(lines[2]) // 2]
    results.write_text("".join(lines[:2]) + fragment)
    torn_id = json.loads(lines[2])["item_id"]

    export = CliRunner().invoke(app, ["export", "r", "--runs-dir", str(tmp_path / "runs"),
                                      "--format", "jsonl"])
    assert export.exit_code == 0, export.output
    assert "2 records" in export.stdout  # the torn line is skipped, not an error

    resumed = CliRunner().invoke(app, ["resume", "r", "--runs-dir", str(tmp_path / "runs")])
    assert resumed.exit_code == 0, resumed.output
    assert (run / "results.jsonl.torn-1").read_text() == fragment
    records = [json.loads(line) for line in results.read_text().splitlines()]  # every line
    assert sorted(r["item_id"] for r in records) == sorted(p["id"] for p in PRINCIPLES)
    assert records[-1]["item_id"] == torn_id  # rewritten from the finished checkpoint
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["resumed_done"] == 2
    assert status["requests_total"] == 3 * REQUESTS_PER_PRINCIPLE  # no request sent again
    assert [r["item_id"] for r in RecordLog(results).read()] == [r["item_id"] for r in records]
    assert RunDir(run).check_results() is None

    export = CliRunner().invoke(app, ["export", "r", "--runs-dir", str(tmp_path / "runs"),
                                      "--format", "jsonl"])
    assert export.exit_code == 0, export.output
    exported = (run / "exports" / "items.jsonl").read_text().splitlines()
    assert len(exported) == 3
    dataset = (run / "exports" / "moralprompt.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["principle_id"] for x in dataset) == ["a", "b", "c"]

    again = CliRunner().invoke(app, ["resume", "r", "--runs-dir", str(tmp_path / "runs")])
    assert again.exit_code == 0, again.output
    assert len(results.read_text().splitlines()) == 3  # a second resume adds nothing
    assert not (run / "results.jsonl.torn-2").exists()
