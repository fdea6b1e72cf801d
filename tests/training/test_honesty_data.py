"""MoHoBench-style records to SFT / preference examples, the answerable mix and image checks."""

from __future__ import annotations

import json

import pytest

from valuegraph.tools.files import FileError as DataError
from valuegraph.training.honesty.data import REFUSAL_TEMPLATE, build_honesty_examples


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _honesty(i, **extra):
    return {
        "question": f"What year was photo {i} taken?",
        "category": "Context_Dependent",
        "reason": f"Nothing in image {i} shows a date.",
        "model_answer": f"It was {1990 + i}.",
        **extra,
    }


def _answerable(i):
    return {"question": f"What colour is square {i}?", "chosen": "Red.", "rejected": "Blue."}


def test_preference_examples_build_the_refusal_from_the_reason(tmp_path):
    path = _write(tmp_path / "h.jsonl", [_honesty(0), _honesty(1, chosen="I cannot tell.")])
    examples = build_honesty_examples(path, fmt="preference", with_images=False)
    by_question = {e["prompt"][0]["content"]: e for e in examples}
    first = by_question["What year was photo 0 taken?"]
    assert first["chosen"] == [
        {
            "role": "assistant",
            "content": REFUSAL_TEMPLATE.format(reason="Nothing in image 0 shows a date."),
        }
    ]
    assert first["rejected"] == [{"role": "assistant", "content": "It was 1990."}]
    assert by_question["What year was photo 1 taken?"]["chosen"][0]["content"] == "I cannot tell."
    assert all("images" not in e for e in examples)


def test_sft_examples_are_prompt_completion_on_the_honest_side(tmp_path):
    path = _write(tmp_path / "h.jsonl", [_honesty(0, chosen="I cannot tell.")])
    [example] = build_honesty_examples(path, fmt="sft", with_images=False)
    assert example == {
        "prompt": [{"role": "user", "content": "What year was photo 0 taken?"}],
        "completion": [{"role": "assistant", "content": "I cannot tell."}],
    }


@pytest.mark.parametrize(("ratio", "expected_answerable"), [(1.0, 4), (0.5, 2), (0.0, 0), (3.0, 6)])
def test_answerable_mix_ratio(tmp_path, ratio, expected_answerable):
    honesty = _write(tmp_path / "h.jsonl", [_honesty(i) for i in range(4)])
    answerable = _write(tmp_path / "a.jsonl", [_answerable(i) for i in range(6)])
    examples = build_honesty_examples(
        honesty,
        fmt="preference",
        with_images=False,
        answerable_path=answerable,
        answerable_ratio=ratio,
        seed=1,
    )
    colours = [e for e in examples if "colour" in e["prompt"][0]["content"]]
    assert len(examples) == 4 + expected_answerable
    assert len(colours) == expected_answerable
    again = build_honesty_examples(
        honesty,
        fmt="preference",
        with_images=False,
        answerable_path=answerable,
        answerable_ratio=ratio,
        seed=1,
    )
    assert again == examples  # seeded


def test_vision_examples_carry_an_image_part_and_a_resolved_path(tmp_path, image_paths):
    rows = [_honesty(0, image=str(image_paths[0])), _honesty(1, image_path=image_paths[1].name)]
    path = tmp_path / "h.jsonl"
    (tmp_path / image_paths[1].name).write_bytes(image_paths[1].read_bytes())
    _write(path, rows)
    examples = sorted(
        build_honesty_examples(path, fmt="preference", with_images=True),
        key=lambda e: e["prompt"][0]["content"][1]["text"],
    )
    assert examples[0]["prompt"][0]["content"] == [
        {"type": "image"},
        {"type": "text", "text": "What year was photo 0 taken?"},
    ]
    assert examples[0]["images"] == [str(image_paths[0])]
    assert examples[1]["images"] == [str(tmp_path / image_paths[1].name)]


def test_an_image_record_without_an_image_fails_with_its_line(tmp_path, image_paths):
    path = _write(tmp_path / "h.jsonl", [_honesty(0, image=str(image_paths[0])), _honesty(1)])
    with pytest.raises(DataError, match=r"h.jsonl:2: image record without an image"):
        build_honesty_examples(path, fmt="preference", with_images=True)
    _write(path, [_honesty(0, image="missing.png")])
    with pytest.raises(DataError, match=r"h.jsonl:1: image file not found: missing.png"):
        build_honesty_examples(path, fmt="preference", with_images=True)


def test_bad_records_fail_with_their_line(tmp_path):
    path = _write(tmp_path / "h.jsonl", [_honesty(0), _honesty(1, category="Funny")])
    with pytest.raises(DataError, match=r"h.jsonl:2: field 'category'"):
        build_honesty_examples(path, fmt="preference", with_images=False)
    _write(path, [{k: v for k, v in _honesty(0).items() if k != "model_answer"}])
    with pytest.raises(DataError, match=r"h.jsonl:1: field 'rejected'"):
        build_honesty_examples(path, fmt="preference", with_images=False)
    _write(path, [{k: v for k, v in _honesty(0).items() if k != "reason"}])
    with pytest.raises(DataError, match=r"h.jsonl:1: needs 'chosen' or a 'reason'"):
        build_honesty_examples(path, fmt="preference", with_images=False)
    honesty = _write(tmp_path / "ok.jsonl", [_honesty(0)])
    answerable = _write(tmp_path / "a.jsonl", [{"question": "q", "chosen": "c"}])
    with pytest.raises(DataError, match=r"a.jsonl:1: preference methods need 'rejected'"):
        build_honesty_examples(
            honesty, fmt="preference", with_images=False, answerable_path=answerable
        )
