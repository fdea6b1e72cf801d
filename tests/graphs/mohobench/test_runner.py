"""The benchmark builder in process: records, the item bank's duplicates, exports, releases,
resume without new requests."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.graphs.mohobench.fakes import register_fakes
from valuegraph.config import ConfigError, resolve_config
from valuegraph.graphs._shared.records import RecordLog
from valuegraph.graphs._shared.runner import execute_run
from valuegraph.graphs.mohobench.release import read_benchmark, release_dirs, write_release
from valuegraph.graphs.mohobench.runner import RUNNER as runner
from valuegraph.graphs.mohobench.scenes import Scene, render_png
from valuegraph.tools.rundir import RunDir

CODES = ("CD", "FP", "SP", "VD")


def config(tmp_path, **params):
    values = {"panel": ["mock/eager", "mock/honest"], "min_dishonest": 1, "synthetic_count": 4,
              "dedup_threshold": 0.99, "formats": ["jsonl"], **params}
    return resolve_config({"graph": "mohobench", "runs_dir": tmp_path / "runs",
                           "concurrency": 1, "params": values,
                           "models": {"attacker": "mock/writer", "target": "mock/eager",
                                      "judge": "mock/judge"}})


@pytest.mark.slow
def test_build_dedup_release_and_resume(tmp_path):
    register_fakes(off_type=(1,))
    cfg = config(tmp_path)
    runner.validate(cfg)
    run_dir = RunDir.create(cfg)
    outcome = execute_run(runner, cfg, run_dir)
    assert outcome.state == "done", outcome.error
    assert outcome.summary["ok"] == 4 and outcome.summary["failed"] == 0
    records = list(RecordLog(run_dir.results_path).typed("mohobench_image"))
    assert [r.image_id for r in records] == [f"scene-000{i}" for i in range(4)]
    status = {r.image_id: {c.qid.split("-")[2]: c.status for c in r.candidates}
              for r in records}
    assert status["scene-0001"]["FP"] == "off_category"
    assert status["scene-0003"] == {"CD": "kept", "FP": "kept", "SP": "duplicate",
                                    "VD": "duplicate"}
    by_qid = {c.qid: c for r in records for c in r.candidates}
    # scene 3 repeats scene 1's subjective question and scene 0's vague one word for word
    assert by_qid["scene-0003-SP-0-0"].duplicate_of == "scene-0001-SP-0-0"
    assert by_qid["scene-0003-VD-0-0"].duplicate_of == "scene-0000-VD-0-0"
    assert by_qid["scene-0003-VD-0-0"].similarity == pytest.approx(1.0, abs=1e-3)
    assert records[3].counts == {"kept": 2, "duplicate": 2}
    # 4 images x (4 writes + 4 x 2 panel answers + 8 refusal tags + 4 checks)
    assert sum(r.requests for r in records) == 4 * 24
    assert json.loads((run_dir.root / "status.json").read_text())["requests_total"] == 96

    exported = (run_dir.exports_dir / "mohobench_questions.jsonl").read_text().splitlines()
    assert len(exported) == 4 + 3 + 4 + 2
    [v1] = release_dirs(run_dir.root)
    manifest = json.loads((v1 / "manifest.json").read_text())
    # only scenes 0 and 2 keep a question of every type (1 lost FP, 3 its duplicates)
    assert manifest["count"] == 8 and manifest["images"] == 2 and manifest["answerable"] == 10
    assert manifest["by_category"] == dict.fromkeys(
        ["Context_Dependent", "False_Premises", "Subjective_or_Philosophical",
         "Vague_Description"], 2)
    assert manifest["skipped"] == {"images_missing_a_type": 2}
    assert manifest["panel"] == ["mock/eager", "mock/honest"] and manifest["min_dishonest"] == 1
    assert (v1 / "images" / "scene-0002.png").read_bytes() == render_png(2)
    bench = read_benchmark(v1)
    assert [q.qid for q in bench.questions][:2] == ["scene-0000-CD-0-0", "scene-0000-FP-0-0"]
    assert bench.questions[0].question == Scene.from_index(0).unanswerable()[
        "Context_Dependent"][0]
    answerable = [json.loads(x) for x in (v1 / "answerable.jsonl").read_text().splitlines()]
    assert answerable[0] == {"id": "scene-0000-A0", "image": "images/scene-0000.png",
                             **Scene.from_index(0).answerable()[0]}

    loaded = subprocess.run(  # a fresh process: the loop's record kinds are registered on demand
        [sys.executable, "-c", "from valuegraph.api import load_records; import sys; "
         "r = load_records(sys.argv[1], 'mohobench_image', typed=True); "
         "print(type(r[0]).__name__, len(r))", str(run_dir.root)],
        capture_output=True, text=True, timeout=120)
    assert loaded.stdout.split() == ["ImageRecord", "4"], loaded.stderr[-2000:]

    again = execute_run(runner, cfg, run_dir)  # resumed: every image done, nothing new
    assert again.state == "done" and again.summary["resumed_done"] == 4
    assert json.loads((run_dir.root / "status.json").read_text())["requests_total"] == 96
    assert len(release_dirs(run_dir.root)) == 1
    v2 = write_release(run_dir.root, require_all_types=False)
    assert v2 is not None and v2.version == "v2"
    assert v2.manifest["count"] == 13 - 8 and v2.manifest["skipped"] == {"released_before": 8}
    assert write_release(run_dir.root, require_all_types=False) is None


@pytest.mark.parametrize(("params", "message"), [
    ({"images": "/nonexistent/dir"}, "is not 'synthetic', a directory of images"),
    ({"synthetic_count": 0}, "synthetic_count: Input should be greater than or equal to 1"),
    ({"panel": ["local"]}, "'local' is the embedded text-only model"),
    ({"checker": "nosuch/model"}, "unknown provider 'nosuch'"),
    ({"min_dishonest": 3}, "min_dishonest (3) must be <= the panel size (2)"),
    ({"categories": ["Funny"]}, "categories.0: Input should be 'Context_Dependent'"),
    ({"bogus": 1}, "unknown setting(s) ['bogus']"),
])
def test_bad_settings_fail_before_anything_is_written(tmp_path, params, message):
    with pytest.raises(ConfigError) as caught:
        runner.validate(config(tmp_path, **params))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "runs").exists()


def test_a_text_hf_model_cannot_be_on_the_panel(tmp_path, tiny_lm_dir):
    with pytest.raises(ConfigError, match="is a text model"):
        runner.validate(config(tmp_path, panel=[f"hf/{tiny_lm_dir}"]))


def test_images_from_a_directory_and_a_manifest(tmp_path):
    images = tmp_path / "imgs"
    images.mkdir()
    for i in (1, 0):
        (images / f"pic {i}.png").write_bytes(render_png(i))
    (images / "notes.txt").write_text("not an image")
    cfg = config(tmp_path, images=str(images))
    settings, context = runner.settings(cfg)
    items = runner.items(settings, context)
    assert [i.id for i in items] == ["pic-0", "pic-1"]
    assert items[0].input["image"] == str((images / "pic 0.png").resolve())
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"image": "imgs/pic 1.png", "id": "one",
                                    "content": "a scene"}) + "\n"
                        + json.dumps({"image_path": "imgs/missing.png"}) + "\n")
    with pytest.raises(ConfigError, match=r"m.jsonl:2: image file not found: imgs/missing.png"):
        runner.validate(config(tmp_path, images=str(manifest)))
