"""docker-compose.yml, .env.example and the Dockerfile, checked without docker (not available
on the build machines): they parse, name real settings and commands, and wire health checks."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy.engine import make_url

from archive import open_store
from axis.config import Settings
from axis.service.push import PushSettings
from tests.deploy.conftest import ROOT, axis_env, axis_run

_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def _env_example() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.split("#", 1)[0].strip()
    return out


def _interpolate(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is None:
            raise AssertionError(f"${{{name}}} has no default and is not in .env.example")
        return default

    return _VAR.sub(sub, text).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(_interpolate((ROOT / "docker-compose.yml").read_text(), _env_example()))


def test_the_services_and_their_start_order(compose):
    services = compose["services"]
    assert set(services) >= {"postgres", "minio", "minio-init", "migrate", "api", "worker"}
    for name in ("postgres", "minio", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["command"] == ["axis", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["minio-init"]["condition"] == "service_completed_successfully"
        assert services[name]["build"] == "."
    assert "--with-lock" in services["minio-init"]["entrypoint"]
    api = services["api"]["command"]
    assert api[:2] == ["axis", "serve"] and "--workers=4" in api
    assert services["worker"]["command"] == ["axis", "worker"]
    assert int(services["worker"]["deploy"]["replicas"]) == 2


def test_the_urls_the_containers_get_are_what_the_hub_parses(compose):
    for name in ("migrate", "api", "worker"):
        env = compose["services"][name]["environment"]
        db = make_url(env["AXIS_DATABASE_URL"])
        assert db.drivername == "postgresql+psycopg" and db.host == "postgres"
        store = open_store(env["AXIS_STORE_URL"])  # builds the client; connects on first use
        assert type(store).__name__ == "S3Store"
    worker = compose["services"]["worker"]["environment"]
    assert worker["AXIS_PUSH_HEARTBEAT_FILE"] in " ".join(
        compose["services"]["worker"]["healthcheck"]["test"]
    )


def test_every_axis_variable_of_the_example_is_a_setting():
    known = {f"AXIS_{name.upper()}" for name in Settings.model_fields}
    known |= {f"AXIS_PUSH_{name.upper()}" for name in PushSettings.model_fields}
    # Read by docker compose itself (substitution in docker-compose.yml), not by the hub.
    compose_only = set(_VAR.findall((ROOT / "docker-compose.yml").read_text()))
    compose_only = {name for name, _ in compose_only}
    for key in _env_example():
        if key.startswith("AXIS_") and key not in compose_only:
            assert key in known, f"{key} in .env.example is not a setting"
    values = {k: v for k, v in _env_example().items() if k.startswith("AXIS_PUSH_")}
    settings = PushSettings(
        **{
            k.removeprefix("AXIS_PUSH_").lower(): v
            for k, v in values.items()
            if k.removeprefix("AXIS_PUSH_").lower() in PushSettings.model_fields
        }
    )
    assert settings.lease_s > settings.timeout_s + settings.connect_timeout_s


def test_the_dockerfile_runs_commands_that_exist(tmp_path):
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-9]", text, re.M)
    assert re.search(r"^USER (?!root)", text, re.M)
    for package in ("axis", "formats", "signing", "archive"):
        assert f"COPY {package} ./{package}" in text
    env = axis_env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    for args in (["db", "upgrade", "--help"], ["worker", "--help"], ["serve", "--help"]):
        assert axis_run(env, *args).returncode == 0, args
    assert "--workers" in axis_run(env, "serve", "--help").stdout
