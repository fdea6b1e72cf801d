"""The TRL version our trainers are written against.

D²O, SimPO and ORPO override private methods of ``trl.DPOTrainer`` (``_compute_loss``,
``_prepare_dataset``, ``_precompute_ref_logps``, ...), which TRL changes between releases
(0.x had ``dpo_loss`` / ``concatenated_forward``). ``tests/training/test_trl_pin.py`` fails when
the override points move.
"""

from __future__ import annotations

PINNED_TRL_VERSION = "1.16.0"


def check_trl_version() -> None:
    """Raises if the installed TRL is not the pinned version.

    Raises:
        RuntimeError: Naming the installed and the required version.
    """
    import trl

    if trl.__version__ != PINNED_TRL_VERSION:
        raise RuntimeError(
            f"valuegraph's trainers override private methods of trl {PINNED_TRL_VERSION}, but trl "
            f"{trl.__version__} is installed; install trl=={PINNED_TRL_VERSION}"
        )
