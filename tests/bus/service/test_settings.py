"""`onestop up` settings: flags win over the environment, which wins over the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.nats_address import redacted
from bus.service.settings import SettingsError, UpSettings


def test_defaults_run_an_embedded_durable_server_in_var():
    settings = UpSettings.read({})

    assert settings.embedded
    assert settings.data_dir == Path("var").absolute()
    assert settings.port == 4244
    assert settings.sync_interval == "always"
    assert settings.event_stream == "ONESTOP"
    assert settings.server_config().host == "127.0.0.1"


def test_flags_win_over_the_environment(tmp_path):
    env = {"ONESTOP_DATA_DIR": "/srv/onestop", "ONESTOP_NATS_PORT": "5000"}

    settings = UpSettings.read(env, data_dir=str(tmp_path), port=6000)

    assert (settings.data_dir, settings.port) == (tmp_path, 6000)


def test_the_environment_wins_over_the_defaults():
    env = {"ONESTOP_DATA_DIR": "/srv/onestop", "ONESTOP_NATS_PORT": "5000",
           "ONESTOP_SYNC_INTERVAL": "10s", "NATS_SERVER_BIN": "/opt/nats-server"}

    config = UpSettings.read(env).server_config()

    assert (config.data_dir, config.port, config.sync_interval, config.binary) == (
        Path("/srv/onestop"), 5000, "10s", Path("/opt/nats-server"))


def test_nats_url_means_no_embedded_server():
    assert not UpSettings.read({"NATS_URL": "nats://nats:4222"}).embedded


@pytest.mark.parametrize("env", [{"ONESTOP_NATS_PORT": "http"}, {"ONESTOP_NATS_PORT": "70000"},
                                 {"ONESTOP_SYNC_INTERVAL": "sometimes"},
                                 {"NATS_STREAM": "ONESTOP.EVENTS"},
                                 {"NATS_URL": "nats://a:4222,,nats://b:4222"},
                                 {"NATS_URL": "http://a:4222"},
                                 {"ONESTOP_OVERDUE_SECONDS": "abc"},
                                 {"ONESTOP_OVERDUE_SECONDS": "0"},
                                 {"ONESTOP_OVERDUE_SETTLING_SECONDS": "-1"},
                                 {"ONESTOP_OVERDUE_SETTLING_SECONDS": "nan"}])
def test_refuses_values_it_cannot_use_and_names_the_setting(env):
    with pytest.raises(SettingsError, match=next(iter(env))):
        UpSettings.read(env)


def test_printed_urls_hide_passwords():
    assert redacted("nats://service:s3cret@nats:4222") == "nats://service:***@nats:4222"
    assert redacted("nats://127.0.0.1:4244") == "nats://127.0.0.1:4244"


def test_the_overdue_watchs_timings_take_fractions_and_no_settling():
    UpSettings.read({"ONESTOP_OVERDUE_SECONDS": "0.2", "ONESTOP_OVERDUE_SETTLING_SECONDS": "0"})
