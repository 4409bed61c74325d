"""Config: the shipped file, environment references, and errors that name the key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from proxy.config import ConfigError, default_config_data, parse_config

ROOT = Path(__file__).resolve().parents[2]


def test_repo_config_is_the_embedded_default():
    assert yaml.safe_load((ROOT / "config.yaml").read_text()) == default_config_data()
    config = parse_config(default_config_data())
    assert set(config.contexts) >= {
        "preferences",
        "expertise",
        "goals",
        "constraints",
        "communication_style",
    }


def test_secrets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SM_TEST_KEY", "sk-from-env-123")
    monkeypatch.setenv("SM_TEST_BASE", "http://127.0.0.1:1")
    config = parse_config(
        {
            "model_list": [
                {
                    "model_name": "m",
                    "litellm_params": {
                        "model": "openai/m",
                        "api_key": "os.environ/SM_TEST_KEY",
                        "api_base": "${SM_TEST_BASE}/v1",
                    },
                }
            ]
        }
    )
    params = config.model_list[0].litellm_params.model_dump()
    assert params["api_key"] == "sk-from-env-123"
    assert params["api_base"] == "http://127.0.0.1:1/v1"


def test_auth_key_from_a_missing_variable_is_an_error(monkeypatch):
    monkeypatch.delenv("SM_NOT_SET", raising=False)
    with pytest.raises(ConfigError, match="auth.keys"):
        parse_config({"auth": {"keys": [{"key": "os.environ/SM_NOT_SET"}]}})


@pytest.mark.parametrize(
    "raw,path",
    [
        ({"server": {"port": "many"}}, "server.port"),
        ({"store": {"colour": "red"}}, "store.colour"),
        ({"contexts": {"Bad Name": {"description": "x"}}}, "contexts"),
        ({"injection": {"rules": [{"name": "a"}, {"name": "a"}]}}, "injection.rules"),
        (
            {"injection": {"rules": [{"name": "a", "position": "middle"}]}},
            "injection.rules.0.position",
        ),
    ],
)
def test_errors_name_the_key_path(raw, path):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert path in str(caught.value)
