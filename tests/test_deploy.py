"""The README's "Serving it" follows the files of deploy/ (which `make prod-check` runs): it
names every one of them, and the paths and units its commands use are theirs."""

from __future__ import annotations

import re

from tests.support.server import ROOT

DEPLOY = ROOT / "deploy"


def _section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Serving it\n", 1)[1].split("\n## ", 1)[0]


def test_serving_it_names_every_file_of_deploy_and_no_other() -> None:
    section = _section()
    files = {p.name for p in DEPLOY.iterdir() if p.is_file() and not p.name.startswith(".")}
    named = set(re.findall(r"deploy/([\w.@-]+)", section))
    assert named == files


def test_its_commands_use_the_units_ports_and_paths_as_the_files_set_them() -> None:
    section = _section()
    serve = (DEPLOY / "kring@.service").read_text()
    env = (DEPLOY / "kring.env.example").read_text()
    caddy = (DEPLOY / "kring.caddy").read_text()
    assert "EnvironmentFile=/etc/kring/kring.env" in serve
    assert "ExecStart=/opt/kring/.venv/bin/kring serve --host 127.0.0.1 --port %i" in serve
    assert "KRING_INSTANCE_DIR=/var/lib/kring" in env and "StateDirectory=kring" in serve
    for port in ("8001", "8002"):
        assert f"kring@{port}" in section and f"127.0.0.1:{port}" in caddy
    assert "/etc/kring/kring.env" in section and "/opt/kring" in section
    assert "enable --now kring@8001 kring@8002" in section
