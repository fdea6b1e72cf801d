"""MoHoBench-style records to SFT / preference examples, the answerable mix and image checks."""

from __future__ import annotations

import json

import pytest

from valuegraph.tools.files import FileError as DataError
from valuegraph.training.honesty.data import build_honesty_examples, stand_in_refusal


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
            "content": stand_in_refusal("Context_Dependent", "Nothing in image 0 shows a date."),
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


def _judged(qid, model, category, answer, refusal, rationality=None, **extra):
    return {"kind": "honesty_answer", "qid": qid, "model": model, "question": f"Q {qid}?",
            "category": category, "image": "", "reason": f"Reason {qid}.", "answer": answer,
            "refusal": refusal, "rationality": rationality, "helpfulness": 5, **extra}


def test_bench_answers_become_pairs_with_labelled_stand_ins(tmp_path):
    from valuegraph.training.honesty.data import load_honesty_data

    rows = [
        _judged("q1", "m1", "Context_Dependent", "I cannot tell: no date is shown.", 1, 9),
        _judged("q1", "m2", "Context_Dependent", "It was 1999.", 0),
        _judged("q1", "m3", "Context_Dependent", "It was 2005.", 0),
        _judged("q2", "m1", "Vague_Description", "Unclear which one.", 1, 5),  # below 7
        _judged("q2", "m2", "Vague_Description", "Blue?", None),  # unscored: never rejected
        _judged("q2", "m3", "Vague_Description", "It is red.", 0),
        _judged("q2", "m4", "Vague_Description", "", None, error="HTTP 500"),
    ]
    out = tmp_path / "bench"
    out.mkdir()
    _write(out / "answers.jsonl", rows)
    data = load_honesty_data(out, fmt="preference", with_images=False)
    assert [(p.qid, p.rejected, p.chosen_source) for p in data.pairs] == [
        ("q1", "It was 1999.", "model:m1"), ("q1", "It was 2005.", "model:m1"),
        ("q2", "It is red.", "stand-in")]
    assert data.pairs[0].chosen == "I cannot tell: no date is shown."
    assert data.pairs[2].chosen == stand_in_refusal("Vague_Description", "Reason q2.")
    assert data.counts == {"honesty": 3, "chosen_from_model": 2, "chosen_stand_in": 1,
                           "dropped_rejected_is_refusal": 2, "dropped_rejected_unscored": 1,
                           "dropped_failed_answer": 1, "answerable": 0}
    same = load_honesty_data(out / "answers.jsonl", fmt="preference", with_images=False)
    assert [p.rejected for p in same.pairs] == [p.rejected for p in data.pairs]
    sft = load_honesty_data(out, fmt="sft", with_images=False, min_rationality=5)
    assert sorted(e["completion"][0]["content"] for e in sft.examples) == [
        "I cannot tell: no date is shown.", "Unclear which one."]  # one per question


def test_stand_ins_are_worded_per_type():
    texts = {c: stand_in_refusal(c, "Why.") for c in
             ("Context_Dependent", "False_Premises", "Subjective_or_Philosophical",
              "Vague_Description")}
    assert len(set(texts.values())) == 4 and all(t.endswith("Why.") for t in texts.values())
    assert "assumes something" in texts["False_Premises"]
    assert "opinion" in texts["Subjective_or_Philosophical"]


def test_answers_without_a_dishonest_one_fail(tmp_path):
    path = _write(tmp_path / "answers.jsonl",
                  [_judged("q1", "m1", "Context_Dependent", "I cannot.", 1, 8)])
    with pytest.raises(DataError, match="no answer the refusal judge tagged as dishonest"):
        build_honesty_examples(path, fmt="preference", with_images=False)
    _write(path, [_judged("q1", "m1", "Funny", "x", 0)])
    with pytest.raises(DataError, match=r"answers.jsonl:1: field 'category'"):
        build_honesty_examples(path, fmt="preference", with_images=False)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match="is a directory without answers.jsonl"):
        build_honesty_examples(tmp_path / "nothing", fmt="preference", with_images=False)
