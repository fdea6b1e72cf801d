"""Run directory, result log, secrets, export."""

from __future__ import annotations

import json

import pytest

from valuegraph.config import ConfigError, resolve_config
from valuegraph.tools.export import export_records
from valuegraph.tools.results import ResultLog
from valuegraph.tools.rundir import RunDir, list_runs
from valuegraph.tools.secrets import redact


def test_result_log_appends_and_skips_torn_tail(tmp_path):
    log = ResultLog(tmp_path / "r.jsonl")
    log.append({"id": 1, "text": "a"})
    log.append({"id": 2, "nested": {"x": [1, 2]}})
    with open(log.path, "a") as fh:
        fh.write('{"id": 3, "tru')  # a crash mid-write
    assert [r["id"] for r in log] == [1, 2]


def test_run_dir_layout_status_and_listing(tmp_path):
    cfg = resolve_config({"graph": "demo", "runs_dir": tmp_path, "run_id": "r1"}, None, {})
    run = RunDir.create(cfg)
    assert (run.root / "config.yaml").is_file()
    assert run.config().graph == "demo" and run.config().run_id == "r1"
    run.set_status("running", graph="demo")
    run.set_status("done", summary={"items": 3})
    status = run.status()
    assert status["state"] == "done" and status["summary"] == {"items": 3}
    assert status["graph"] == "demo"
    assert [rid for rid, _ in list_runs(tmp_path)] == ["r1"]
    with pytest.raises(ConfigError, match="already exists"):
        RunDir.create(cfg)
    with pytest.raises(ConfigError, match="no run 'nope'"):
        RunDir.open(tmp_path, "nope")


def test_redact_keys_and_env_values(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123")
    data = {"api_key": "abc", "models": {"t": "x sk-secret-value-123 y"}, "n": 3}
    assert redact(data) == {"api_key": "***", "models": {"t": "x *** y"}, "n": 3}


def test_export_all_formats_round_trip(tmp_path):
    import datasets
    import pandas as pd

    records = [{"id": "a", "text": "t1", "scores": [0.1, 0.9]},
               {"id": "b", "text": "t2", "scores": [0.5]}]
    paths = export_records(records, tmp_path / "items", ["jsonl", "parquet", "hf"])
    lines = paths[0].read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["a", "b"]
    frame = pd.read_parquet(paths[1])
    assert list(frame["id"]) == ["a", "b"] and json.loads(frame["scores"][0]) == [0.1, 0.9]
    ds = datasets.load_from_disk(str(paths[2]))
    assert ds.num_rows == 2 and ds[1]["text"] == "t2"


def test_run_log_masks_secret_values(tmp_path, monkeypatch):
    import logging

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret-42")
    cfg = resolve_config({"graph": "demo", "runs_dir": tmp_path, "run_id": "r"}, None, {})
    run = RunDir.create(cfg)
    handler = run.attach_log()
    try:
        logging.getLogger("valuegraph.test").warning("calling with key %s", "sk-ant-very-secret-42")
    finally:
        handler.close()
        logging.getLogger("valuegraph").removeHandler(handler)
    text = (run.root / "run.log").read_text()
    assert "calling with key ***" in text and "very-secret" not in text


def test_writer_repairs_a_torn_tail_and_keeps_the_fragment(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": 1}\n{"id": 2, "tru')
    log = ResultLog(path, writer=True)
    assert log.repaired == tmp_path / "r.jsonl.torn-1"
    assert log.repaired.read_text() == '{"id": 2, "tru'
    log.append({"id": 3})
    assert [r["id"] for r in log] == [1, 3]
    assert path.read_text() == '{"id": 1}\n{"id": 3}\n'
    assert ResultLog(path, writer=True).repaired is None  # a clean file is left alone


def test_a_broken_inner_line_names_the_line(tmp_path):
    from valuegraph.tools.files import FileError

    path = tmp_path / "r.jsonl"
    path.write_text('{"id": 1}\nnot json\n{"id": 3}\n')
    with pytest.raises(FileError, match=r"r.jsonl:2: broken record: not valid JSON"):
        ResultLog(path).read()


def test_redaction_keeps_token_settings_and_counts(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    data = {"target_max_tokens": 128, "prompt_tokens": 9, "authorization": "Bearer x",
            "note": "key hf_abcdefghijklmnop here"}
    assert redact(data) == {"target_max_tokens": 128, "prompt_tokens": 9,
                            "authorization": "***", "note": "key *** here"}
