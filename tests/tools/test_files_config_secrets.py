"""The one file reader, the one config reader, and the pool's secret scrubbing."""

from __future__ import annotations

import pytest

from valuegraph.config import ConfigError, read_config_file, resolve_config
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.files import FileError, read_models, read_rows, read_text
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.types import BackendError

SECRET = "sk-scrub-unit-test-31415"


def test_read_text_names_each_problem(tmp_path):
    (tmp_path / "ok.txt").write_text("h\u00e9llo")
    (tmp_path / "latin1.txt").write_bytes(b"ab\xe9")
    (tmp_path / "dir.txt").mkdir()
    assert read_text(tmp_path / "ok.txt") == "h\u00e9llo"
    with pytest.raises(FileError, match=r"latin1.txt: prompt file is not UTF-8 text \(bad byte "
                                        r"at offset 2\)"):
        read_text(tmp_path / "latin1.txt", "prompt file")
    with pytest.raises(FileError, match=r"dir.txt: is a directory; expected a seed file"):
        read_text(tmp_path / "dir.txt", "seed file")
    with pytest.raises(FileError, match=r"nope.txt: file not found"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(FileError, match=r"ok.txt/x: file not found"):  # under a file
        read_text(tmp_path / "ok.txt" / "x")


def test_rows_and_models_carry_line_numbers(tmp_path):
    from pydantic import BaseModel

    class Row(BaseModel):
        a: int

    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n[1]\n{"a": \n{"a": "x"}\n')
    assert list(read_rows(path)) == [(1, {"a": 1}), (3, "expected a JSON object"),
                                     (4, "not valid JSON (Expecting value)"), (5, {"a": "x"})]
    with pytest.raises(FileError, match=r"rows.jsonl:3: expected a JSON object"):
        read_models(path, Row)
    path.write_text('{"a": 1}\n{"a": "x"}\n')
    with pytest.raises(FileError, match=r"rows.jsonl:2: field 'a': Input should be a valid"):
        read_models(path, Row)
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text('a,b\n1,"two\nlines"\n3,x\n')
    assert list(read_rows(csv_path)) == [(2, {"a": "1", "b": "two\nlines"}),
                                         (4, {"a": "3", "b": "x"})]
    with pytest.raises(FileError, match=r"rows.txt: expected a .jsonl or .csv file"):
        list(read_rows(tmp_path / "rows.txt"))


def test_config_reader_and_env(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes(b"seed: 1\n# \xe9\n")
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ConfigError, match=r"latin1.yaml is not UTF-8 text \(bad byte at "
                                          r"offset 10\)"):
        read_config_file(tmp_path / "latin1.yaml")
    with pytest.raises(ConfigError, match=r"dir.yaml is a directory"):
        read_config_file(tmp_path / "dir.yaml")
    with pytest.raises(ConfigError, match=r"environment variable VALUEGRAPH_BUDGET is not a "
                                          r"valid value: '\[unclosed'"):
        resolve_config({}, None, {"VALUEGRAPH_BUDGET": "[unclosed"})
    for budget in (0, -1):
        with pytest.raises(ConfigError, match=f"budget must be >= 1 model requests or none, "
                                              f"got {budget}"):
            resolve_config({"budget": budget}, None, {})
    assert resolve_config({}, None, {"VALUEGRAPH_BUDGET": "7"}).budget == 7
    assert resolve_config({"budget": None}, None, {"VALUEGRAPH_BUDGET": "7"}).budget is None


async def test_pool_scrubs_secret_values_from_replies_cache_and_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    register_mock("echo", respond=lambda m, p, i: f"I saw Bearer {SECRET} ({i})")

    def refuse(messages, params, index):
        raise BackendError(f"HTTP 400: bad key {SECRET}", retryable=False, status=400)

    register_mock("refuse", respond=refuse)
    pool = ModelPool(tmp_path / "cache")
    try:
        replies = await pool.generate("mock/echo", [{"role": "user", "content": "hi"}], n=2)
        assert [r.text for r in replies] == ["I saw Bearer *** (0)", "I saw Bearer *** (1)"]
        again = await pool.generate("mock/echo", [{"role": "user", "content": "hi"}], n=2)
        assert [r.text for r in again] == [r.text for r in replies]
        assert all(r.cached for r in again)
        with pytest.raises(BackendError) as raised:
            await pool.generate("mock/refuse", [{"role": "user", "content": "hi"}])
        assert str(raised.value) == "HTTP 400: bad key ***"
    finally:
        pool.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert b"Bearer ***" in stored and SECRET.encode() not in stored


def test_run_log_masks_a_secret_in_a_traceback(tmp_path, monkeypatch):
    import logging

    from valuegraph.tools.rundir import RunDir

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    run = RunDir.create(resolve_config({"graph": "denevil", "runs_dir": tmp_path,
                                        "run_id": "r"}, None, {}))
    handler = run.attach_log()
    try:
        try:
            raise RuntimeError(f"server said: Bearer {SECRET}")
        except RuntimeError:
            logging.getLogger("valuegraph.test").exception("the call failed")
    finally:
        handler.close()
        logging.getLogger("valuegraph").removeHandler(handler)
    text = (run.root / "run.log").read_text()
    assert "the call failed" in text and "RuntimeError: server said: Bearer ***" in text
    assert SECRET not in text
