"""Fails when TRL moves the private override points our trainers rely on."""

from __future__ import annotations

import inspect

import pytest
import trl
from trl import DPOTrainer

from valuegraph.training import trl_pin
from valuegraph.training.d2o.trainer import D2OTrainer
from valuegraph.training.honesty.trainer import ORPOTrainer, SimPOTrainer

OVERRIDE_POINTS = {
    "_compute_loss": ["self", "model", "inputs", "return_outputs"],
    "_prepare_dataset": ["self", "dataset", "processing_class", "args", "dataset_name"],
    "_set_signature_columns_if_needed": ["self"],
    "_precompute_ref_logps": ["self", "dataset", "name", "batch_size"],
    "compute_ref_log_probs": ["self", "model", "inputs"],
}


def test_installed_trl_is_the_pinned_version():
    assert trl.__version__ == trl_pin.PINNED_TRL_VERSION == "1.16.0"


@pytest.mark.parametrize("name", sorted(OVERRIDE_POINTS))
def test_override_points_keep_their_signatures(name):
    assert list(inspect.signature(getattr(DPOTrainer, name)).parameters) == OVERRIDE_POINTS[name]


def test_trl_calls_the_override_points_where_we_expect():
    compute_loss = inspect.getsource(DPOTrainer.compute_loss)
    assert "self._compute_loss(model, inputs, return_outputs)" in compute_loss
    init = inspect.getsource(DPOTrainer.__init__)
    assert 'self._prepare_dataset(train_dataset, processing_class, args, "train")' in init
    assert "self._precompute_ref_logps(" in init
    assert "add_fused_lm_head(" in init
    precompute = inspect.getsource(DPOTrainer._precompute_ref_logps)
    assert "self.compute_ref_log_probs(model, padded_batch)" in precompute
    assert '"ref_chosen_logps": ref_chosen_logps[indices]' in precompute


def test_our_trainers_override_exactly_these_methods():
    assert {n for n in OVERRIDE_POINTS if n in vars(D2OTrainer)} == set(OVERRIDE_POINTS)
    for trainer in (SimPOTrainer, ORPOTrainer):
        overridden = {n for n in OVERRIDE_POINTS if any(n in vars(c) for c in trainer.__mro__[:2])}
        assert overridden == {"_compute_loss"}


def test_a_different_trl_version_is_refused(monkeypatch):
    monkeypatch.setattr(trl, "__version__", "1.17.0")
    with pytest.raises(RuntimeError, match="install trl==1.16.0"):
        trl_pin.check_trl_version()
