"""The register from the command line, as a user walkthrough found it: a command that only reads the register never
makes one (a mistyped --db, a fresh data folder), an import never shifts a row's values nor adds a child twice, a
child is not added twice, a name is found with its accents typed either way, and an unknown id is said as such."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from register_fixtures import PDF, register_env  # noqa: F401
from test_register_cli import _write_import

from consent_db import Register
from minorguard.cli import EXIT_USAGE, main

# every command that only reads the register, or changes what is already in it: none may make a register
READING = [
    ["child", "list"],
    ["child", "list", "--name", "Ana Hoxha"],
    ["child", "show", "ch-00000000"],
    ["consent", "list"],
    ["event", "list"],
    ["event", "show", "flamuri-2026"],
    ["adult", "list"],
    ["key", "list"],
    ["register", "export", "--format", "json"],
    ["audit", "relied", "--review", "42"],
    ["audit", "verify"],
    ["guardian", "add", "ch-00000000", "Drita Hoxha"],
    ["consent", "withdraw", "cr-00000000", "--reason", "parent asked"],
    ["child", "never-publish", "ch-00000000", "--reason", "custody case"],
    ["child", "erase-photos", "ch-00000000"],
    ["event", "close", "flamuri-2026"],
    ["event", "update", "flamuri-2026", "--radius", "500"],
    ["adult", "remove", "ka-00000000"],
    ["key", "revoke", "k-00000000"],
]


@pytest.fixture
def fresh(tmp_path, monkeypatch) -> Path:
    """A data folder with no register in it (the first day on a new computer)."""
    data = tmp_path / "data"
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(data))
    monkeypatch.setenv("MINORGUARD_ACTOR", "tester")
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)
    return data


def _said(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return " ".join(captured.err.split())  # rich wraps long lines


def _nothing_made(data: Path) -> bool:
    return not (data / "register.sqlite3").exists() and not (data / "register.key").exists()


# -- 1. a register is made only by the commands that add to it ---------------------------------------------------------
@pytest.mark.parametrize("args", READING, ids=" ".join)
def test_a_mistyped_db_stops_a_reading_command_and_makes_no_register(fresh, tmp_path, capsys, args):
    typo = tmp_path / "x" / "typo.sqlite3"
    assert main([*args, "--db", str(typo), "--lang", "en"]) == EXIT_USAGE
    said = _said(capsys)
    assert f"there is no register at sqlite:///{typo}" in said and "makes one" not in said.replace("never makes one", "")
    assert said.count("error:") == 1
    assert not typo.exists() and not typo.parent.exists() and _nothing_made(fresh)


@pytest.mark.parametrize("args", READING, ids=" ".join)
def test_a_fresh_data_folder_says_there_is_no_register_yet_and_makes_none(fresh, capsys, args):
    assert main([*args, "--lang", "en"]) == EXIT_USAGE
    assert f"there is no register yet in {fresh}" in _said(capsys)
    assert _nothing_made(fresh)


def test_no_register_yet_in_albanian_by_default(fresh, capsys):
    assert main(["child", "list"]) == EXIT_USAGE
    assert f"ende nuk ka regjistër në {fresh}" in _said(capsys)
    assert main(["audit", "verify", "--db", str(fresh / "gabim.sqlite3")]) == EXIT_USAGE
    assert "nuk ka regjistër në sqlite:///" in _said(capsys) and _nothing_made(fresh)


def test_a_mistyped_minorguard_db_is_refused_too(fresh, tmp_path, capsys, monkeypatch):
    typo = tmp_path / "regjister.sqlite3"
    monkeypatch.setenv("MINORGUARD_DB", str(typo))
    assert main(["consent", "list", "--lang", "en"]) == EXIT_USAGE
    assert f"there is no register at sqlite:///{typo}" in _said(capsys)
    assert not typo.exists()


def test_audit_verify_of_a_mistyped_register_is_not_intact(register_env, tmp_path, capsys):
    """The walkthrough: `audit verify --db TYPO` said "audit log intact: 1 entries" (exit 0) of a register it made."""
    assert main(["child", "add", "Ana Hoxha", "--db", register_env["url"], "--lang", "en"]) == 0
    capsys.readouterr()
    typo = tmp_path / "regjistri.sqlite3"
    assert main(["audit", "verify", "--db", str(typo), "--lang", "en"]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert "intact" not in captured.out and "there is no register at" in " ".join(captured.err.split())
    assert not typo.exists()
    assert main(["audit", "verify", "--db", register_env["url"], "--lang", "en"]) == 0  # the real one still opens
    assert "intact" in capsys.readouterr().out


def test_a_reading_command_where_only_the_key_is_left_says_the_register_moved(fresh, capsys):
    assert main(["child", "add", "Ana Hoxha", "--lang", "en"]) == 0
    (fresh / "register.sqlite3").rename(fresh.parent / "moved.sqlite3")
    for suffix in ("-wal", "-shm"):
        (fresh / f"register.sqlite3{suffix}").unlink(missing_ok=True)
    capsys.readouterr()
    assert main(["child", "list", "--lang", "en"]) == EXIT_USAGE
    assert "moved or deleted" in _said(capsys)
    assert not (fresh / "register.sqlite3").exists()


def test_a_key_given_in_the_environment_with_the_register_gone_stops_every_check(fresh, tmp_path, monkeypatch, capsys):
    """With the key in $MINORGUARD_KEY (none beside the register) and the register moved away, `scan` judged without
    it, exit 0 and no word: a never-publish child, reviewers' hides and events were dropped."""
    import base64
    import secrets

    monkeypatch.setenv("MINORGUARD_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii"))
    assert main(["child", "add", "Ëndrit Çani", "--lang", "en"]) == 0
    assert not (fresh / "register.key").exists()
    (fresh / "register.sqlite3").rename(tmp_path / "moved.sqlite3")
    for suffix in ("-wal", "-shm"):
        (fresh / f"register.sqlite3{suffix}").unlink(missing_ok=True)
    capsys.readouterr()
    photo = Path(__file__).resolve().parents[1] / "sample_images" / "skimage_astronaut.png"
    assert main(["scan", str(photo), "--engine", "local", "--lang", "en"]) == EXIT_USAGE
    assert "$MINORGUARD_KEY gives the register's key" in _said(capsys)
    assert main(["child", "list"]) == EXIT_USAGE
    assert "$MINORGUARD_KEY jep çelësin e regjistrit" in _said(capsys)
    assert not (fresh / "register.sqlite3").exists()


def test_the_commands_that_add_still_make_the_register(fresh, capsys):
    assert main(["child", "add", "Ana Hoxha", "--dob", "2015-03-02", "--lang", "en"]) == 0
    child = capsys.readouterr().out.strip()
    assert (fresh / "register.sqlite3").exists() and (fresh / "register.key").exists()
    assert main(["child", "list", "--lang", "en"]) == 0 and child in capsys.readouterr().out
    assert main(["audit", "verify", "--lang", "en"]) == 0 and "intact" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["child", "add", " "], "child name must not be empty"),
        (["child", "add", "Ana", "--dob", "2999-01-01"], "in the future"),
        (["event", "add", "--name", "Festa", "--start", "2026-11-28T10:00", "--end", "2026-11-28T13:00", "--basis", "public"],
         "needs a justification"),
    ],
)
def test_a_refused_addition_makes_no_register_either(fresh, capsys, args, message):
    assert main([*args, "--lang", "en"]) == EXIT_USAGE
    assert message in _said(capsys) and _nothing_made(fresh)


# -- 2. import: a row of another length than the header, a file imported twice ------------------------------------------
def _semicolon_file(tmp_path: Path, lines: list[str]) -> Path:
    (tmp_path / "a.pdf").write_bytes(PDF)
    path = tmp_path / "leje.csv"
    path.write_text("\n".join(["child_name;date_of_birth;document;date_signed;channels;purposes;events", *lines]) + "\n",
                    encoding="utf-8")
    return path


def _register_rows(url: str) -> tuple[int, int]:
    with Register(url) as reg:
        return len(reg.list_children()), len(reg.list_consents())


def test_an_unquoted_separator_in_a_value_refuses_the_file_naming_the_row(register_env, tmp_path, capsys):
    """`facebook;website` unquoted in a ;-separated file pushed the purposes into the events and the last value off
    the row, and the row was imported (exit 0)."""
    assert main(["child", "add", "Besa Çela", "--db", register_env["url"]]) == 0
    path = _semicolon_file(tmp_path, ["Ana Hoxha;2015-03-02;a.pdf;2026-09-01;facebook;website;lajme të shkollës;",
                                      "Dritan Hoxha;2016-01-05;a.pdf;2026-09-01;facebook;lajme;"])
    capsys.readouterr()
    assert main(["register", "import", str(path), "--db", register_env["url"], "--lang", "en"]) == EXIT_USAGE
    said = _said(capsys)
    assert "leje.csv line 2: 8 values, but the header has 7 columns" in said and "double quotes" in said
    assert "Nothing was imported" in said and said.count("error:") == 1
    assert _register_rows(register_env["url"]) == (1, 0)  # all or nothing: the good row 3 is not imported either
    assert main(["register", "import", str(path), "--db", register_env["url"]]) == EXIT_USAGE
    assert "leje.csv rreshti 2: 8 vlera, por rreshti i titujve ka 7 kolona" in _said(capsys)


def test_a_row_missing_a_separator_is_refused(fresh, tmp_path, capsys):
    path = _semicolon_file(tmp_path, ['Ana Hoxha;2015-03-02;a.pdf;2026-09-01;"facebook;website";lajme;',
                                      "Dritan Hoxha;2016-01-05;a.pdf;2026-09-01;facebook"])
    assert main(["register", "import", str(path), "--lang", "en"]) == EXIT_USAGE
    assert "leje.csv line 3: 5 values, but the header has 7 columns" in _said(capsys)
    assert _nothing_made(fresh)  # a refused file does not leave a new register behind


def test_a_quoted_value_keeps_every_column(register_env, tmp_path, capsys):
    path = _semicolon_file(tmp_path, ['Ana Hoxha;2015-03-02;a.pdf;2026-09-01;"facebook;website";lajme të shkollës;',
                                      "Dritan Hoxha;2016-01-05;a.pdf;2026-09-01;facebook,print;;"])
    assert main(["register", "import", str(path), "--db", register_env["url"], "--lang", "en"]) == 0
    with Register(register_env["url"]) as reg:
        by_child = {c.name: c.consents for c in reg.list_children()}
    (ana,), (dritan,) = by_child["Ana Hoxha"], by_child["Dritan Hoxha"]
    assert ana.channels == ("facebook", "website") and ana.purposes == ("lajme të shkollës",) and ana.event_ids == ()
    assert dritan.channels == ("facebook", "print") and dritan.purposes == ()


def test_importing_the_same_file_twice_is_refused_naming_the_child(register_env, tmp_path, capsys):
    rows = [
        {"child_name": "Çlirim Këlliçi", "date_of_birth": "2014-05-01", "document": "forms/a.pdf", "date_signed": "2026-09-01", "channels": "facebook"},
        # the same child, the name typed without its accents: one child, as `child list --name` finds it
        {"child_name": "clirim  kellici", "date_of_birth": "2014-05-01", "document": "forms/a.pdf", "date_signed": "2026-09-02", "channels": "print"},
        {"child_name": "Besa Çela", "document": "forms/a.pdf", "date_signed": "2026-09-03", "channels": "all"},
    ]
    path = _write_import(tmp_path, rows)
    assert main(["register", "import", str(path), "--db", register_env["url"], "--lang", "en"]) == 0
    assert "3 consent record(s) for 2 child(ren)" in capsys.readouterr().out
    with Register(register_env["url"]) as reg:
        clirim = next(c.id for c in reg.list_children() if c.name == "Çlirim Këlliçi")
        entries = reg.audit_verify().entries
    assert main(["register", "import", str(path), "--db", register_env["url"], "--lang", "en"]) == EXIT_USAGE
    said = _said(capsys)
    assert f"line 2: a child with this name and the same date of birth (or none recorded) is already in the register: {clirim}" in said
    assert "child_ref" in said and "Nothing was imported" in said
    assert _register_rows(register_env["url"]) == (2, 3)
    with Register(register_env["url"]) as reg:
        assert reg.audit_verify().entries == entries
    # the office's way on: the child's id in child_ref adds the consent to that child
    again = _write_import(tmp_path, [{**rows[0], "child_name": "", "child_ref": clirim, "date_of_birth": ""}])
    assert main(["register", "import", str(again), "--db", register_env["url"], "--lang", "en"]) == 0
    assert _register_rows(register_env["url"]) == (2, 4)


def test_a_child_without_a_date_of_birth_imported_twice_is_refused_too(register_env, tmp_path, capsys):
    path = _write_import(tmp_path, [{"child_name": "Besa Çela", "document": "forms/a.pdf", "date_signed": "2026-09-03", "channels": "all"}])
    assert main(["register", "import", str(path), "--db", register_env["url"]]) == 0
    assert main(["register", "import", str(path), "--db", register_env["url"]]) == EXIT_USAGE
    assert "një fëmijë me këtë emër dhe të njëjtën datë lindjeje (ose pa datë lindjeje) është tashmë në regjistër: ch-" in _said(capsys)
    assert _register_rows(register_env["url"]) == (1, 1)


# -- 2. child add: the same child twice ---------------------------------------------------------------------------------
def test_child_add_refuses_the_same_child_naming_the_one_there(register_env, capsys):
    db = ["--db", register_env["url"]]
    assert main(["child", "add", "Ana Hoxha", "--dob", "2015-03-02", *db]) == 0
    ana = capsys.readouterr().out.strip()
    assert main(["child", "never-publish", ana, "--reason", "custody case", *db]) == 0
    capsys.readouterr()
    for typed in ("Ana Hoxha", "  ana   HOXHA ", "Ána Hoxha"):
        assert main(["child", "add", typed, "--dob", "2015-03-02", *db, "--lang", "en"]) == EXIT_USAGE
        said = _said(capsys)
        assert f"a child with this name and the same date of birth (or none recorded) is already in the register: {ana}" in said and "--another-child" in said
    assert main(["child", "add", "Ana Hoxha", "--dob", "2015-03-02", *db]) == EXIT_USAGE
    assert f"një fëmijë me këtë emër dhe të njëjtën datë lindjeje (ose pa datë lindjeje) është tashmë në regjistër: {ana}" in _said(capsys)
    with Register(register_env["url"]) as reg:
        assert [c.id for c in reg.list_children()] == [ana]
    # another date of birth is another child; and a person may say that the same name and date are another child
    assert main(["child", "add", "Ana Hoxha", "--dob", "2016-03-02", *db]) == 0
    assert main(["child", "add", "Ana Hoxha", "--dob", "2015-03-02", "--another-child", *db]) == 0
    with Register(register_env["url"]) as reg:
        assert len(reg.list_children()) == 3


def test_the_library_refuses_the_same_child_too(register_env):
    from consent_db import RegisterError

    with Register(register_env["url"]) as reg:
        first = reg.add_child("Çlirim Këlliçi")
        with pytest.raises(RegisterError) as refused:
            reg.add_child("Clirim Kellici")
        assert refused.value.code == "child_exists" and first.id in refused.value.text("en")
        assert reg.add_child("Clirim Kellici", another_child=True).id != first.id


# -- 3. a name found with its accents typed either way -------------------------------------------------------------------
def test_child_list_by_name_folds_accents_as_the_review_page_does(register_env, capsys):
    from consent_db.reviews import Reviews

    db = ["--db", register_env["url"]]
    assert main(["child", "add", "Çlirim Këlliçi", *db]) == 0
    clirim = capsys.readouterr().out.strip()
    for typed in ("Clirim Kellici", "çlirim këlliçi", "CLIRIM  KELLICI", "Çlirim Këlliçi"):
        assert main(["child", "list", "--name", typed, *db, "--lang", "en"]) == 0
        assert clirim in capsys.readouterr().out, typed
    assert main(["child", "list", "--name", "Clirim Kelmendi", *db, "--lang", "en"]) == 0
    assert clirim not in capsys.readouterr().out
    with Register(register_env["url"]) as reg:  # the review page's search, from q=clirim, finds the same child
        assert [cid for cid, _, _ in Reviews(reg).search_children("clirim")] == [clirim]
        assert [c.id for c in reg.find_children("Clirim Kellici")] == [clirim]


def test_a_register_indexed_before_accents_were_folded_is_indexed_again(register_env, capsys):
    """A register written by the previous minorguard keeps digests of the accented form: opened now, they are
    taken again once, so its children are found without their accents too."""
    import hmac

    from consent_db.schema import Child, KnownAdult, Meta
    from minorguard.locale.typed_text import typed_form

    with Register(register_env["url"]) as reg:
        clirim = reg.add_child("Çlirim Këlliçi").id
        with reg.store.transaction() as session:  # as the previous version left it
            for row in session.query(Child):
                row.name_index = hmac.new(reg._cipher._index_key, typed_form("Çlirim Këlliçi").encode(), "sha256").hexdigest()
            assert session.query(KnownAdult).count() == 0
            session.delete(session.get(Meta, "name_index_form"))
        assert reg.find_children("Clirim Kellici") == []  # the old digests: not found
    assert main(["child", "list", "--name", "Clirim Kellici", "--db", register_env["url"], "--lang", "en"]) == 0
    assert clirim in capsys.readouterr().out
    assert main(["child", "add", "Clirim Kellici", "--db", register_env["url"], "--lang", "en"]) == EXIT_USAGE
    assert clirim in _said(capsys)


# -- 4. an unknown id is said as such --------------------------------------------------------------------------------------
def test_withdrawing_an_unknown_consent_says_the_id_is_unknown(register_env, tmp_path, capsys):
    db = ["--db", register_env["url"], "--lang", "en"]
    assert main(["child", "add", "Ana Hoxha", *db]) == 0
    child = capsys.readouterr().out.strip()
    assert main(["consent", "withdraw", "cr-nope", *db]) == EXIT_USAGE  # no --reason either: the id is said first
    said = _said(capsys)
    assert "no consent record with id 'cr-nope'" in said and "reason" not in said
    form = tmp_path / "leje.pdf"
    form.write_bytes(PDF)
    assert main(["consent", "add", child, "--document", str(form), "--signed", "2026-09-01", "--channel", "facebook", *db]) == 0
    record = capsys.readouterr().out.strip()
    assert main(["consent", "withdraw", record, *db]) == EXIT_USAGE  # a consent that exists still needs the reason
    assert "the reason for withdrawal must not be empty" in _said(capsys)
    with Register(register_env["url"]) as reg:
        assert reg.get_consent(record).status == "active"


def test_relied_on_a_review_decision_that_does_not_exist_says_so(register_env, capsys):
    from consent_db.reviews import Reviews

    with Register(register_env["url"]) as reg:
        made = Reviews(reg).record("ab" * 32, 0, (10, 20, 30, 40), "adult", "Ana", "teacher")
    assert main(["audit", "relied", "--review", "42", "--db", register_env["url"], "--lang", "en"]) == EXIT_USAGE
    said = _said(capsys)
    assert "there is no review decision 42 in the register" in said and "for this photo" not in said
    assert main(["audit", "relied", "--review", "42", "--db", register_env["url"]]) == EXIT_USAGE
    assert "nuk ka vendim shqyrtimi 42 në regjistër" in _said(capsys)
    assert main(["audit", "relied", "--review", str(made.seq), "--db", register_env["url"], "--lang", "en"]) == 0


def test_confirming_a_decision_that_does_not_exist_says_so(register_env):
    from consent_db import RegisterError
    from consent_db.reviews import Reviews

    with Register(register_env["url"]) as reg:
        reviews = Reviews(reg)
        made = reviews.record("ab" * 32, 0, (10, 20, 30, 40), "adult", "Ana")
        with pytest.raises(RegisterError) as nowhere:
            reviews.record("ab" * 32, 0, (10, 20, 30, 40), "confirm", "Besa", confirms=999)
        assert nowhere.value.text("en") == "there is no review decision 999 in the register"
        with pytest.raises(RegisterError) as elsewhere:  # one that exists, for another photo: said as before
            reviews.record("cd" * 32, 0, (10, 20, 30, 40), "confirm", "Besa", confirms=made.seq)
        assert elsewhere.value.text("en") == f"no review decision {made.seq} for this photo"


def test_never_publish_on_a_child_without_an_enrolment_photo_warns_that_she_cannot_be_recognised(fresh, capsys):
    """A walkthrough put a child on the never-publish list after a withdrawal had erased her photos: `scan` could not
    recognise her and nothing said so. The command says it, and what to do."""
    assert main(["child", "add", "Çelja Hoxha", "--lang", "en"]) == 0
    child = capsys.readouterr().out.split()[0].rstrip(":")
    with Register(None) as reg:
        assert reg.get_child(child).id == child
    assert main(["child", "never-publish", child, "--reason", "custody case", "--lang", "en"]) == 0
    said = _said(capsys)
    assert f"{child} has no enrolment photo, so minorguard cannot recognise this child" in said
    assert f"minorguard child enrol {child}" in said
    assert main(["child", "never-publish", child, "--off", "--lang", "sq"]) == 0
    assert "nuk ka foto regjistrimi" not in _said(capsys)


def test_a_child_without_a_date_of_birth_is_taken_as_the_same_name_with_one(register_env):
    """The date of birth left out once is the same child, not a second: "Ana Hoxha" with and without 2015-03-02 made
    two records, whose consents and never-publish flag the matcher then split between two ids."""
    from consent_db import RegisterError

    with Register(register_env["url"]) as reg:
        dated = reg.add_child("Ana Hoxha", date(2015, 3, 2))
        with pytest.raises(RegisterError) as refused:
            reg.add_child("ana hoxha")
        assert refused.value.code == "child_exists" and dated.id in refused.value.text("en")
        undated = reg.add_child("Besa Krasniqi")
        with pytest.raises(RegisterError) as refused:
            reg.add_child("Besa Krasniqi", date(2014, 1, 9))
        assert undated.id in refused.value.text("sq")
        assert reg.add_child("Ana Hoxha", date(2016, 3, 2)).id not in (dated.id, undated.id)  # another date: another child
        assert reg.add_child("Besa Krasniqi", date(2014, 1, 9), another_child=True).id != undated.id


# every command that adds to a register, and so makes one (file, key and their folder) where there is none
CREATING = [
    ["child", "add", "Ana Hoxha", "--dob", "2015-03-02"],
    ["event", "add", "--id", "festa", "--name", "Festa", "--start", "2026-05-01T10:00", "--end", "2026-05-01T18:00", "--basis", "none"],
    ["key", "create", "--tool", "cms"],
    ["register", "import", "IMPORT"],
]


@pytest.mark.parametrize("db", [False, True], ids=["data folder", "--db elsewhere"])
@pytest.mark.parametrize("command", CREATING, ids=lambda c: " ".join(c[:2]))
def test_a_data_folder_that_cannot_be_made_is_one_line(fresh, tmp_path, monkeypatch, capsys, command, db):
    """A data folder whose path runs through a file stopped with exit 70 and Python's English ("gabim:
    NotADirectoryError: [Errno 20] Not a directory: ..."): its register's file, or with --db elsewhere its key."""
    (tmp_path / "afile").touch()
    data = tmp_path / "afile" / "data"
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(data))
    rows = [{"child_name": "Besa Çela", "document": "forms/a.pdf", "date_signed": "2026-09-03", "channels": "all"}]
    command = [str(_write_import(tmp_path, rows)) if word == "IMPORT" else word for word in command]
    extra = ["--db", str(tmp_path / "regjistri.sqlite3")] if db else []
    assert main([*command, *extra]) == EXIT_USAGE
    if db:
        assert _said(capsys) == f"gabim: skedari i çelësit të regjistrit {data / 'register.key'} nuk mund të krijohet: " \
                                "një pjesë e shtegut nuk është dosje"
    else:
        assert _said(capsys) == f"gabim: skedari i regjistrit {data / 'register.sqlite3'} nuk mund të krijohet: " \
                                "një pjesë e shtegut nuk është dosje"
    assert main([*command, *extra, "--lang", "en"]) == EXIT_USAGE
    said = _said(capsys)
    assert said.startswith("error: cannot create the register") and said.endswith(": a part of the path is not a folder"), said


def _read_only_said(data: Path, lang: str) -> str:
    from minorguard.locale import t

    return t("cli.error", lang) + ": " + t("register.file_read_only", lang, path=data / "register.sqlite3", folder=data)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_register_on_a_read_only_folder_says_so_and_what_to_check(fresh, capsys):
    """A register on a read-only mount was SQLite's English, with no advice: "gabim në bazën e të dhënave të
    regjistrit (sqlite:////…/register.sqlite3): unable to open database file"."""
    assert main(["event", "add", "--id", "festa", "--name", "Festa", "--start", "2026-05-01T10:00",
                 "--end", "2026-05-01T18:00", "--basis", "none"]) == 0
    for path in fresh.iterdir():
        path.chmod(0o444)
    fresh.chmod(0o555)
    try:
        for lang in ("sq", "en"):
            capsys.readouterr()
            assert main(["event", "list", "--lang", lang]) == EXIT_USAGE
            said = _said(capsys)
            assert str(fresh / "register.sqlite3") in said and "--db" in said and "sqlite:" not in said, said
            assert "unable to open" not in said and "readonly database" not in said, said
    finally:
        fresh.chmod(0o755)
        for path in fresh.iterdir():
            path.chmod(0o600)


def test_sqlites_words_for_a_register_it_may_not_write_or_open_are_said_in_the_runs_language(fresh, monkeypatch, capsys):
    """What SQLite says of a read-only register ("attempt to write a readonly database") or of one whose folder or
    file it may not open ("unable to open database file"), as the line a reader can act on (root writes through
    permission bits: the database is made read-only, and the opening refused, here instead)."""
    import sqlite3

    from sqlalchemy import event

    from consent_db import store

    assert main(["event", "add", "--id", "festa", "--name", "Festa", "--start", "2026-05-01T10:00",
                 "--end", "2026-05-01T18:00", "--basis", "none"]) == 0
    hooks = store._sqlite_hooks

    def read_only(engine, busy_timeout_s):
        hooks(engine, busy_timeout_s)
        event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA query_only=ON"))

    monkeypatch.setattr(store, "_sqlite_hooks", read_only)
    for lang in ("sq", "en"):
        capsys.readouterr()
        assert main(["event", "list", "--lang", lang]) == EXIT_USAGE
        assert _said(capsys) == " ".join(_read_only_said(fresh, lang).split())

    def refused(engine, busy_timeout_s):
        hooks(engine, busy_timeout_s)

        @event.listens_for(engine, "do_connect")
        def _refuse(*args):
            raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(store, "_sqlite_hooks", refused)
    capsys.readouterr()
    assert main(["event", "list", "--lang", "en"]) == EXIT_USAGE
    said = _said(capsys)
    assert said.startswith(f"error: the register {fresh / 'register.sqlite3'} cannot be opened: its folder {fresh} or the file")
    assert said.endswith("Check their permissions, or name another register with --db or $MINORGUARD_DB")


def test_a_key_file_that_cannot_be_read_is_one_line(fresh, monkeypatch, capsys):
    """A key without leave to read it (a register copied from another account) stopped with exit 70 and
    "PermissionError: [Errno 13] Permission denied" (root reads through permission bits: the reading is refused
    here instead)."""
    import errno

    assert main(["event", "add", "--id", "festa", "--name", "Festa", "--start", "2026-05-01T10:00",
                 "--end", "2026-05-01T18:00", "--basis", "none"]) == 0
    read_text = Path.read_text

    def denied(self, *args, **kwargs):
        if self.name == "register.key":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", denied)
    capsys.readouterr()
    assert main(["event", "list"]) == EXIT_USAGE
    assert _said(capsys) == f"gabim: skedari i çelësit të regjistrit {fresh / 'register.key'} nuk mund të lexohet: nuk ka leje"
