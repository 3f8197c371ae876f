"""reviewer-admin as an intake engineer or admin uses it, run in-process on real files."""

from __future__ import annotations

from sqlalchemy import func, select

from reviewer.cli import main
from reviewer.demo.images import make_bad_files, make_demo_image
from reviewer.secret_store import MemorySecretStore
from reviewer.store.database import Database, sqlite_url
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import Case, Decision, MediaBlob, MediaItem


def _count(url: str, model, secrets) -> int:
    database = Database.open(url, keys=DatabaseKeys(secrets))
    try:
        with database.sessions() as session:
            return session.scalar(select(func.count()).select_from(model))
    finally:
        database.dispose()


def test_seed_demo_adds_cases_and_sync_pulls_them(tmp_path, capsys, secret_store):
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "seed-demo", "--cases", "30", "--sync"],
                secrets=secret_store) == 0
    out = capsys.readouterr().out
    assert "seeded 30 cases" in out
    backend = sqlite_url(data / "backend.sqlite")
    replica = sqlite_url(data / "replica.sqlite")
    assert _count(backend, Case, secret_store) == 30
    assert _count(replica, Case, secret_store) == 30
    assert _count(replica, Decision, secret_store) == _count(backend, Decision, secret_store) > 0
    assert _count(replica, MediaItem, secret_store) > 0


def test_identical_media_is_stored_once(tmp_path, secret_store):
    data = tmp_path / "data"
    main(["--data-dir", str(data), "seed-demo", "--cases", "60"], secrets=secret_store)
    backend = sqlite_url(data / "backend.sqlite")
    database = Database.open(backend, keys=DatabaseKeys(secret_store))
    with database.sessions() as session:
        hashes = session.scalars(select(MediaItem.content_hash)).all()
        blobs = session.scalar(select(func.count()).select_from(MediaBlob))
    database.dispose()
    assert blobs == len(set(hashes))


def test_seed_demo_without_media_is_fast_path(tmp_path, capsys, secret_store):
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "seed-demo", "--cases", "2500", "--no-media"],
                secrets=secret_store) == 0
    assert _count(sqlite_url(data / "backend.sqlite"), Case, secret_store) == 2500
    assert _count(sqlite_url(data / "backend.sqlite"), MediaItem, secret_store) == 0


def test_seeding_twice_adds_more_without_duplicates(tmp_path, secret_store):
    data = tmp_path / "data"
    main(["--data-dir", str(data), "seed-demo", "--cases", "10", "--no-media"],
         secrets=secret_store)
    main(["--data-dir", str(data), "seed-demo", "--cases", "10", "--no-media"],
         secrets=secret_store)
    database = Database.open(sqlite_url(data / "backend.sqlite"), keys=DatabaseKeys(secret_store))
    with database.sessions() as session:
        refs = session.scalars(select(Case.external_ref)).all()
    database.dispose()
    assert len(refs) == len(set(refs)) == 20


def test_media_check_reports_each_file(tmp_path, capsys):
    import random

    good = tmp_path / "good.png"
    good.write_bytes(make_demo_image(random.Random(1), "shapes", (64, 48), "PNG"))
    bad = make_bad_files()
    truncated = tmp_path / "photo.jpg"
    truncated.write_bytes(bad["truncated.jpg"])
    assert main(["media-check", str(good), str(truncated)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any("OK PNG 64x48" in line for line in lines)
    assert any("ERROR" in line and "truncated" in line for line in lines)
    assert main(["media-check", str(good)]) == 0


def test_check_taxonomy_names_file_and_line(tmp_path, capsys):
    broken = tmp_path / "policies.toml"
    broken.write_text('version = "1"\nsevere_actions = ["disable_account"]\n[[areas]]\ncode = \n')
    assert main(["check-taxonomy", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}:4" in err
    assert main(["check-taxonomy"]) == 0
    assert "policy areas" in capsys.readouterr().out


def test_account_commands_need_a_postgresql_team_backend(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REVIEWER_NEW_PASSWORD", "a long enough passphrase")
    embedded = sqlite_url(tmp_path / "backend.sqlite")
    for command in (["create-user", "amara", "--role", "reviewer", "--team", "integrity"],
                    ["disable-user", "amara"], ["revoke-device", "ws-1"], ["list-devices"]):
        assert main([*command, "--backend", embedded]) == 2
        assert "PostgreSQL team backend" in capsys.readouterr().err
    assert main(["create-user", "amara", "--role", "reviewer", "--team", "integrity",
                 "--backend-url", embedded]) == 2  # the old spelling is an alias
    assert "PostgreSQL team backend" in capsys.readouterr().err


def test_an_embedded_backend_whose_key_is_gone_is_named_not_a_traceback(tmp_path, capsys,
                                                                       secret_store):
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "seed-demo", "--cases", "5", "--no-media"],
                secrets=secret_store) == 0
    capsys.readouterr()
    other_computer = MemorySecretStore()  # the same files, a keyring without their keys
    assert main(["--data-dir", str(data), "verify-audit-log", "--database", "backend"],
                secrets=other_computer) == 2
    err = capsys.readouterr().err
    assert f"{data / 'backend.sqlite'} is encrypted, and this computer's keyring has no key" \
        in err
    assert "Traceback" not in err
