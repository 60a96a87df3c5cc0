"""The image's build and start, parts of `make image-check` that run in seconds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scripts import dockerfile
from scripts.page_check import CheckFailed, Site, expect_page, expect_static, static_urls
from tests.config.test_settings import PRODUCTION_ENV
from tests.conftest import REPO_ROOT, base_env, run_manage


def runtime() -> dockerfile.Runtime:
    return dockerfile.read(REPO_ROOT / "Dockerfile", base_env={"PATH": "/usr/bin"})


def test_the_image_starts_the_server_on_port_as_its_user_without_migrating():
    image = runtime()
    command = " ".join(image.start_command)
    assert image.entrypoint == ["dumb-init", "--"]
    assert "config.serve" in command
    assert '"${PORT:-8000}"' in command
    assert "migrate" not in command
    assert "PORT" in " ".join(image.healthcheck)
    assert image.user == "10001:10001"
    assert image.env["PATH"].startswith("/opt/venv/bin:")


def test_the_dockerfile_builds_with_the_build_script():
    steps = [run for run in runtime().build_runs if "image-build.sh" in run]
    assert [step.split()[2] for step in steps] == ["deps", "app"]


def test_the_build_script_collects_static_files_with_the_production_manifest(tmp_path):
    venv_bin = tmp_path / "opt" / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    # Stands for the image's virtualenv: this one's Python, with the runtime packages.
    (venv_bin / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (venv_bin / "python").chmod(0o755)
    script = REPO_ROOT / "scripts" / "image-build.sh"
    built = subprocess.run(
        ["sh", str(script), "app", str(REPO_ROOT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    manifest = json.loads((tmp_path / "app" / "staticfiles" / "staticfiles.json").read_text())
    assert "img/mark.svg" in manifest["paths"]
    assert not list((tmp_path / "app").rglob("db.sqlite3"))


@pytest.fixture
def production_site(daphne_server, tmp_path):
    def start(*, collected_with_debug: str) -> Site:
        static_root = tmp_path / "static"
        env = base_env(
            **PRODUCTION_ENV,
            STATIC_ROOT=str(static_root),
            SECURE_PROXY_SSL_HEADER="1",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        )
        collected = run_manage(
            "collectstatic", "--noinput", "-v", "0", env={**env, "DEBUG": collected_with_debug}
        )
        assert collected.returncode == 0, collected.stderr
        migrated = run_manage("migrate", "--noinput", env=env)
        assert migrated.returncode == 0, migrated.stderr
        server = daphne_server(**env)
        return Site(port=server.port, host="hub.example.com")

    return start


def test_pages_and_their_static_files_answer_when_collected_for_production(production_site):
    site = production_site(collected_with_debug="0")
    _, html = expect_page(site, "/accounts/login/")
    fetched = expect_static(site, static_urls(html))
    assert any("mark." in url for url in fetched)


def test_the_page_check_fails_on_static_files_collected_in_debug_mode(production_site):
    """Today's first defect put back: the image check must not pass it."""
    site = production_site(collected_with_debug="1")
    with pytest.raises(CheckFailed, match="answered 500"):
        expect_page(site, "/accounts/login/")
