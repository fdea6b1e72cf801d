"""The item bank on a real embedded Chroma store with offline MiniLM embeddings."""

from __future__ import annotations

import pytest

from valuegraph.tools.itembank import ItemBank


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bank")


def test_add_query_near_duplicates_and_reopen(bank_dir):
    bank = ItemBank(bank_dir)
    bank.add(["p1", "p2", "p3"], [
        "A nurse finds a wallet full of cash in the hospital corridor.",
        "The football team plans to fix the match for money.",
        "A chef experiments with a new recipe for chocolate cake.",
    ], [{"foundation": "fairness"}, {"foundation": "fairness"}, {"foundation": "none"}])
    assert bank.count() == 3
    dup = bank.near_duplicates([
        "A nurse discovers a wallet full of money in a hospital corridor.",
        "Quantum chromodynamics describes the strong interaction.",
    ], threshold=0.8)
    assert dup[0] is not None and dup[0].id == "p1" and dup[0].similarity > 0.8
    assert dup[1] is None
    neighbours = bank.neighbours(["Players take bribes to lose a game."], k=2)[0]
    assert neighbours[0].id == "p2"
    assert neighbours[0].similarity > neighbours[1].similarity
    bank.add(["p1"], ["A nurse finds a wallet full of cash in the hospital corridor."])
    assert bank.count() == 3  # upsert by id: resumed runs do not duplicate
    # reopening rebuilds the registered embedding function from the stored config
    del bank
    again = ItemBank(bank_dir)
    assert again.count() == 3
    assert again.get(["p2"])[0]["foundation"] == "fairness"
    assert again.near_duplicates(["The football team plans to fix the match for money."],
                                 0.99)[0].id == "p2"
