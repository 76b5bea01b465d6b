"""Secrets from files (compose secrets): the database password and the metrics token are read
from the files the settings name, never taken from the environment; a missing file is a clear
refusal at start-up."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from pydantic import ValidationError

from bridges_kit.settings import ServiceSettings, with_password


def test_the_database_password_comes_from_its_file_quoted_into_the_url(tmp_path):
    secret = tmp_path / "referrals_db_password"
    secret.write_text("p@ss:w/rd%?\n")  # a trailing newline, as editors leave it
    settings = ServiceSettings.from_env(
        {
            "BRIDGES_DATABASE_URL": "postgresql://bridges_referrals@postgres:5432/bridges_referrals",
            "BRIDGES_DATABASE_PASSWORD_FILE": str(secret),
        }
    )
    url = urlsplit(settings.database_url.get_secret_value())
    assert (url.username, unquote(url.password or ""), url.hostname, url.port, url.path) == (
        "bridges_referrals",
        "p@ss:w/rd%?",
        "postgres",
        5432,
        "/bridges_referrals",
    )


def test_a_password_already_in_the_url_is_replaced_by_the_files():
    assert with_password("postgresql://u:old@h/db", "new") == "postgresql://u:new@h/db"


def test_the_metrics_token_comes_from_its_file(tmp_path):
    token = tmp_path / "metrics_token"
    token.write_text("t" * 40)
    settings = ServiceSettings.from_env({"BRIDGES_METRICS_TOKEN_FILE": str(token)})
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == "t" * 40


def test_a_missing_secret_file_is_refused_with_its_name(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ValidationError, match=f"cannot read the secret file {missing}"):
        ServiceSettings.from_env({"BRIDGES_DATABASE_PASSWORD_FILE": str(missing)})
    missing.write_text("x")
    with pytest.raises(ValidationError, match="needs a user"):
        ServiceSettings.from_env(
            {
                "BRIDGES_DATABASE_URL": "postgresql://h/db",
                "BRIDGES_DATABASE_PASSWORD_FILE": str(missing),
            }
        )
