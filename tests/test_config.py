"""Configuration precedence and validation."""

from __future__ import annotations

import pytest

from valuegraph.config import ConfigError, parse_overrides, resolve_config


def test_precedence_explicit_over_file_over_env_over_default(tmp_path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("budget: 20\nseed: 5\nmodels:\n  target: hf/x\n")
    env = {"VALUEGRAPH_BUDGET": "10", "VALUEGRAPH_SEED": "3", "VALUEGRAPH_CONCURRENCY": "7"}
    cfg = resolve_config({"seed": 9}, cfg_file, env)
    assert cfg.seed == 9          # explicit
    assert cfg.budget == 20       # file beats env
    assert cfg.concurrency == 7   # env beats default
    assert cfg.cache is True      # default
    assert cfg.models["target"] == "hf/x" and cfg.models["judge"] == "local"


def test_toml_file_and_dotted_overrides(tmp_path):
    cfg_file = tmp_path / "run.toml"
    cfg_file.write_text('graph = "g"\n[params]\nT = 3\n')
    cfg = resolve_config(parse_overrides(["params.K=4", "models.judge=mock/j"]), cfg_file, {})
    assert cfg.params == {"T": 3, "K": 4}
    assert cfg.models["judge"] == "mock/j"


@pytest.mark.parametrize("explicit,message", [
    ({"budget": -1}, "invalid setting budget: budget must be >= 1"),
    ({"bogus": 1}, "unknown setting 'bogus'; allowed settings: graph"),
    ({"models": {"critic": "local"}}, "unknown role(s) ['critic']; allowed roles"),
    ({"checkpointer": "mysql://x"}, "checkpointer must be 'sqlite' or a postgresql:// URL"),
])
def test_invalid_values_one_line(explicit, message):
    with pytest.raises(ConfigError) as info:
        resolve_config(explicit, None, {})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_malformed_and_unreadable_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("budget: [1,\n")
    with pytest.raises(ConfigError, match="malformed config file"):
        resolve_config({}, bad, {})
    with pytest.raises(ConfigError, match="config file .*missing.yaml not found"):
        resolve_config({}, tmp_path / "missing.yaml", {})
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        resolve_config({}, listy, {})


def test_override_syntax():
    assert parse_overrides(["a=1", "b.c=none", "d=text"]) == {"a": 1, "b": {"c": None},
                                                             "d": "text"}
    with pytest.raises(ConfigError, match="--set expects key=value"):
        parse_overrides(["novalue"])
