"""The `kring` command as an organisation's administrator and a script would use it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.conference.heavy import WORKER_NICENESS
from server.storage.migrate import head_revision
from tests.support.server import ROOT, Instance, LiveServer

PASSWORD = "correct horse battery"


def test_demo_json_has_the_documented_shape_and_a_realistic_size(live_server: LiveServer) -> None:
    demo = live_server.instance.demo()
    assert set(demo) == {"conference_id", "coordinator", "participants"}
    assert set(demo["coordinator"]) == {"email", "password", "login_url"}
    assert demo["coordinator"]["login_url"] == f"{live_server.url}/login"
    people = demo["participants"]
    assert 12 <= len(people) <= 20, "about fifteen people, as at a real conference"
    assert all(set(p) == {"name", "role", "invitation_url"} for p in people)
    assert {p["role"] for p in people} == {
        "client",
        "network_member",
        "professional",
        "mandated_professional",
    }


def test_every_demo_link_opens_that_persons_page_in_the_information_phase(
    live_server: LiveServer,
) -> None:
    demo = live_server.instance.demo()
    for person in demo["participants"]:
        with httpx.Client(
            follow_redirects=True, timeout=10, headers={"origin": live_server.url}
        ) as device:
            confirm = device.get(person["invitation_url"])
            assert person["name"] in confirm.text
            page = device.post(person["invitation_url"])
        assert page.status_code == 200
        assert person["name"] in page.text
        assert "Informatiefase" in page.text


def test_the_demo_coordinator_can_log_in_and_sees_the_demo(live_server: LiveServer) -> None:
    demo = live_server.instance.demo("--phase", "private_time")
    with httpx.Client(
        base_url=live_server.url, timeout=10, headers={"origin": live_server.url}
    ) as browser:
        login = browser.post(
            "/login",
            data={
                "email": demo["coordinator"]["email"],
                "password": demo["coordinator"]["password"],
            },
        )
        assert login.status_code == 303
        page = browser.get(f"/conferences/{demo['conference_id']}")
    assert "Privétijd" in page.text
    assert "Sanne Smit" in page.text


def test_demo_if_empty_leaves_an_existing_database_alone(instance: Instance) -> None:
    instance.cli("db", "upgrade")
    first = instance.cli("demo", "--if-empty")
    assert "Coordinator:" in first.stdout
    second = instance.cli("demo", "--if-empty")
    assert second.stdout == ""
    assert "no demo created" in second.stderr


def test_the_help_lists_the_commands_and_says_nothing_of_kring_s_own_code(
    instance: Instance,
) -> None:
    """`kring --help` is read by an organisation's administrator: what each command is for,
    not how Kring's source is laid out."""
    helped = instance.cli("--help")
    assert "serve, db upgrade, coordinator" in helped.stdout
    assert "run the web server" in helped.stdout
    for internal in ("commands.py", "module", "imports"):
        assert internal not in helped.stdout, helped.stdout


def test_coordinator_accounts_are_added_and_their_password_reset(instance: Instance) -> None:
    instance.cli("db", "upgrade")
    instance.cli("coordinator", "add", "Wim@Example.org", "--password-stdin", stdin=PASSWORD + "\n")
    duplicate = instance.cli(
        "coordinator",
        "add",
        "wim@example.org",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        check=False,
    )
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr
    short = instance.cli(
        "coordinator", "add", "kim@example.org", "--password-stdin", stdin="short\n", check=False
    )
    assert short.returncode == 2 and "minstens 10 tekens" in short.stderr
    own_address = instance.cli(
        "coordinator",
        "add",
        "kim.de.vries@example.org",
        "--password-stdin",
        stdin="Kim.de.Vries@example.org\n",
        check=False,
    )
    assert own_address.returncode == 2, "the account's own email is no password"
    assert "te makkelijk te raden" in own_address.stderr
    reset = instance.cli(
        "coordinator",
        "reset-password",
        "wim@example.org",
        "--password-stdin",
        stdin="another long password\n",
    )
    assert "sessions ended" in reset.stderr
    unknown = instance.cli(
        "coordinator",
        "reset-password",
        "nobody@example.org",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        check=False,
    )
    assert unknown.returncode == 2 and "no account" in unknown.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KRING_SESSION_DAYS", "abc"),
        ("KRING_DATABASE_URL", "mysql://x/y"),
        ("KRING_TIMEZONE", "Mars/Olympus_Mons"),
    ],
)
def test_a_bad_setting_stops_the_command_and_names_the_variable(
    instance: Instance, name: str, value: str
) -> None:
    instance.env[name] = value
    result = instance.cli("serve", "--port", "1", check=False)
    assert result.returncode == 2
    assert name in result.stderr


def test_the_server_refuses_to_start_on_an_unmigrated_database(instance: Instance) -> None:
    result = instance.cli("serve", "--port", "0", check=False)
    assert result.returncode != 0
    assert "run `kring db upgrade` first" in result.stderr


def test_a_database_a_newer_kring_migrated_is_refused_with_that_reason(
    instance: Instance,
) -> None:
    instance.cli("db", "upgrade")
    with sqlite3.connect(instance.folder / "kring.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    said = (
        "the database is at schema 9999, which this Kring does not know (its newest is "
        f"{head_revision()}): a newer Kring migrated it; run that one, or restore a backup "
        "made before it"
    )
    demo = instance.cli("demo", check=False)
    assert (demo.returncode, demo.stderr) == (2, f"kring: {said}\n")
    serve = instance.cli("serve", "--port", "0", check=False)
    assert serve.returncode != 0 and said in serve.stderr
    upgrade = instance.cli("db", "upgrade", check=False)  # nothing this Kring can do for it
    assert (upgrade.returncode, upgrade.stderr) == (2, f"kring: {said}\n")


@pytest.mark.parametrize(
    "command",
    [["purge", "--dry-run"], ["purge"], ["demo"], ["export", "abc", "-o", "x.zip"]],
)
def test_a_command_on_an_unmigrated_database_says_to_upgrade_it_first(
    instance: Instance, command: list[str]
) -> None:
    result = instance.cli(*command, check=False)
    assert result.returncode == 2
    database = instance.folder / "kring.db"
    assert (
        result.stderr
        == f"kring: there is no database at {database}: run `kring db upgrade` first\n"
    )
    assert not database.exists(), "no empty database is left behind"
    sqlite3.connect(database).close()  # an empty one, as SQLite makes when it opens none
    result = instance.cli(*command, check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "kring: the database is at schema none, this Kring needs "
        f"{head_revision()}: run `kring db upgrade` first\n"
    )
    assert not (instance.folder / "x.zip").exists()


def test_the_database_is_readable_only_by_its_owner_whatever_the_umask(
    instance: Instance,
) -> None:
    database = instance.folder / "kring.db"
    before = os.umask(0o022)  # the usual one: files readable by everyone
    try:
        instance.cli("db", "upgrade")
        instance.demo()
        assert database.stat().st_mode & 0o777 == 0o600, "what families typed is Kring's only"
        made = instance.folder / "made-by-kring"
        instance.env["KRING_INSTANCE_DIR"] = str(made)
        instance.cli("db", "upgrade")
        assert made.stat().st_mode & 0o777 == 0o700
        instance.env["KRING_INSTANCE_DIR"] = str(instance.folder)
        # A database made by an earlier Kring (or copied in by hand) is made private too, with
        # any WAL files SQLite left beside it.
        for path in instance.folder.glob("kring.db*"):
            path.chmod(0o644)
        instance.cli("demo", "--if-empty")  # any command that opens the database
        for path in instance.folder.glob("kring.db*"):
            assert path.stat().st_mode & 0o777 == 0o600, path.name
        database.chmod(0o644)
        instance.cli("backup", str(instance.folder / "copy.backup"))  # a backup too
    finally:
        os.umask(before)
    for path in instance.folder.glob("kring.db*"):
        assert path.stat().st_mode & 0o777 == 0o600, path.name


def test_an_export_over_an_existing_file_is_readable_only_by_its_owner(
    instance: Instance,
) -> None:
    instance.cli("db", "upgrade")
    conference_id = instance.demo("--phase", "presentation")["conference_id"]
    target = instance.folder / "export.zip"
    target.write_bytes(b"an older file, readable by everyone")
    target.chmod(0o644)
    instance.cli("export", conference_id, "-o", str(target))
    assert target.stat().st_mode & 0o777 == 0o600, "a family's data is its owner's only"
    assert target.read_bytes().startswith(b"PK"), "the zip replaced the older file"


def test_an_export_that_cannot_be_written_says_why_in_one_line(instance: Instance) -> None:
    """A mistyped folder or a full disk is the operator's to fix: kring says so, without a
    Python traceback."""
    instance.cli("db", "upgrade")
    conference_id = instance.demo("--phase", "presentation")["conference_id"]
    target = instance.folder / "no-such-folder" / "export.zip"
    result = instance.cli("export", conference_id, "-o", str(target), check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    said = result.stderr.strip()
    assert said == f"kring: cannot write {target}: there is no folder {target.parent}", said
    full = instance.cli("export", conference_id, "-o", "/dev/full", check=False)
    assert full.returncode == 2
    assert full.stderr.strip() == "kring: cannot write /dev/full: No space left on device"
    assert not target.exists()
    assert _exports_audited(instance) == 0, "an export nobody got is not recorded as made"
    instance.cli("export", conference_id, "-o", str(instance.folder / "export.zip"))
    assert _exports_audited(instance) == 1


def _exports_audited(instance: Instance) -> int:
    with sqlite3.connect(instance.folder / "kring.db") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM audit_event WHERE kind = 'conference_exported'"
        ).fetchone()
    return int(count)


def test_an_export_to_a_folder_is_refused_before_it_is_made(instance: Instance) -> None:
    """`-o` names the zip file; a folder given instead (`-o /backups/`) is said at once, not
    after a long export that the audit log would then record as made."""
    instance.cli("db", "upgrade")
    conference_id = instance.demo("--phase", "presentation")["conference_id"]
    folder = instance.folder / "exports"
    folder.mkdir()
    result = instance.cli("export", conference_id, "-o", f"{folder}/", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"kring: cannot write {folder}: it is a folder; name the zip file in it, like "
        f"{folder / f'kring-{conference_id}.zip'}"
    ), result.stderr
    assert _exports_audited(instance) == 0, "nothing was exported"
    assert list(folder.iterdir()) == []


def _niceness_after(instance: Instance, *command: str) -> tuple[int, str]:
    """Run ``kring COMMAND`` in a fresh process and read that process's niceness after it."""
    script = "import os, sys; from server.cli import main; main(sys.argv[1:]); print(os.nice(0))"
    done = subprocess.run(
        [sys.executable, "-c", script, *command],
        env=instance.env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1]), done.stderr


def test_a_backup_or_an_export_gives_way_to_the_server_and_other_commands_do_not(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """A backup or an export run beside a busy server lowers its own priority, so that the
    families' typing gets the CPU first; a command people wait on (creating an account) does
    not."""
    instance = live_server.instance
    demo = instance.demo("--phase", "presentation")
    normal = os.nice(0)
    lowered = min(19, normal + WORKER_NICENESS)
    niceness, said = _niceness_after(instance, "backup", str(tmp_path / "kring.backup"))
    assert niceness == lowered and (tmp_path / "kring.backup").stat().st_size > 0, said
    out = tmp_path / "export.zip"
    niceness, said = _niceness_after(instance, "export", demo["conference_id"], "-o", str(out))
    assert niceness == lowered and out.stat().st_size > 0, said
    niceness, _said = _niceness_after(instance, "demo", "--json")
    assert niceness == normal
