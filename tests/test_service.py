"""The web service as a publishing tool meets it: a real server in its own process, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from register_fixtures import consent_for_the_portraits_girls

from minorguard.models.pack import DEFAULT_PACK_NAME

ROOT = Path(__file__).resolve().parents[1]
FAMILY = ROOT / "sample_images" / "faceaisharp_obama_family.jpg"
BIDEN = ROOT / "sample_images" / "faceaisharp_biden_7mpx.jpg"
MAX_UPLOAD_MB = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


def call(url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 180) -> Answer:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


@dataclass
class Server:
    url: str
    key: str
    db: Path
    env: dict[str, str]
    process: subprocess.Popen

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "minorguard", *args, "--db", str(self.db), "--lang", "en"],
                              env=self.env, capture_output=True, text=True, timeout=120)

    def check(self, photo: bytes, query: str = "channel=facebook", key: str | None = None, **headers: str) -> Answer:
        auth = {"Authorization": f"Bearer {key or self.key}", "Content-Type": "image/jpeg"}
        return call(f"{self.url}/v1/check?{query}", "POST", photo, {**auth, **headers})

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("service")
    env = {k: v for k, v in os.environ.items() if k not in ("MINORGUARD_DB", "MINORGUARD_KEY")}
    env.update(MINORGUARD_DATA_DIR=str(home / "data"), MINORGUARD_LANG="en", PYTHONUNBUFFERED="1")
    db = home / "data" / "regjistri.sqlite3"
    made = subprocess.run([sys.executable, "-m", "minorguard", "key", "create", "--tool", "cms-uebfaqja", "--db", str(db)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("mgk_")
    port = free_port()
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "minorguard", "serve", "--port", str(port), "--db", str(db), "--lang", "en",
         "--max-upload-mb", str(MAX_UPLOAD_MB), "--timeout", "300"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service stopped: {(home / 'server.log').read_text()}")
        try:
            if call(f"{url}/v1/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the service did not answer /v1/health in 180 s")
    yield Server(url, key, db, env, process)
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def _register(server: Server, monkeypatch):
    from consent_db import Register

    monkeypatch.setenv("MINORGUARD_DATA_DIR", server.env["MINORGUARD_DATA_DIR"])
    return Register(str(server.db))


def _details(entry):
    return entry["details"] if isinstance(entry["details"], dict) else json.loads(entry["details"])


def test_the_family_portrait_blocks_and_the_audit_names_the_calling_tool(server, monkeypatch):
    answer = server.check(FAMILY.read_bytes())
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    result = answer.json
    assert result["verdict"] == "BLOCK"
    assert sorted(f["face"] for f in result["faces"] if f["action"] == "block") == [2, 4]  # the girls, left to right
    with _register(server, monkeypatch) as reg:
        checked = [_details(e) for e in reg.audit_entries() if e["action"] == "photo_checked" and e["photo_sha256"] == result["sha256"]]
        assert reg.audit_verify().ok
    assert checked and checked[0]["tool"] == "cms-uebfaqja" and checked[0]["verdict"] == "BLOCK"


def test_a_form_upload_keeps_its_albanian_file_name(server):
    boundary = "minorguard-kufi"
    name = "familja_ë_çelë.jpg"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode() + FAMILY.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    answer = call(f"{server.url}/v1/check?channel=facebook", "POST", body,
                  {"X-API-Key": server.key, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status == 200, answer.body[:300]
    assert answer.json["source"] == name and answer.json["verdict"] == "BLOCK"


def test_the_answer_is_the_library_result_type_the_openapi_names(server):
    """The schema is generated from PhotoResult: the answer reads back into one and writes out the same."""
    from pydantic import TypeAdapter

    from minorguard.types import PhotoResult, to_jsonable

    spec = call(f"{server.url}/v1/openapi.json").json
    schema = spec["paths"]["/v1/check"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PhotoResult"}
    assert "face" in spec["components"]["schemas"]["FaceDecision"]["properties"]
    body = server.check(FAMILY.read_bytes()).json
    assert to_jsonable(TypeAdapter(PhotoResult).validate_python(body)) == body


def test_with_a_consent_the_girls_pass_and_the_answer_names_the_records(server, guard, monkeypatch, tmp_path):
    from minorguard import CheckContext, Guard, open_checks

    monkeypatch.setenv("MINORGUARD_DATA_DIR", server.env["MINORGUARD_DATA_DIR"])
    context = CheckContext(channel="website", when=date(2026, 12, 1))
    with open_checks(db=str(server.db), context=context, tool="test", guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        records = consent_for_the_portraits_girls(checks, tmp_path, ["website"])
    answer = server.check(FAMILY.read_bytes(), "channel=website&date=2026-12-01")  # the running service reads the change
    assert answer.status == 200
    result = answer.json
    assert result["verdict"] == "PASS", [(f["face"], f["reason"]) for f in result["faces"]]
    assert {f["consent"]["record_id"] for f in result["faces"] if f["reason"] == "consent"} == set(records)
    assert server.check(FAMILY.read_bytes(), "channel=instagram&date=2026-12-01").json["verdict"] == "BLOCK"


def test_an_export_hides_both_girls_from_the_re_check_and_from_an_independent_detector(server, guard):
    import dlib

    from minorguard import CheckContext

    answer = call(f"{server.url}/v1/export?channel=facebook", "POST", FAMILY.read_bytes(),
                  {"X-API-Key": server.key, "Content-Type": "image/jpeg"})
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg", answer.body[:300]
    assert answer.headers["minorguard-verdict"] == "BLOCK"
    entry = json.loads(answer.headers["minorguard-manifest"])
    hidden = [f for f in entry["faces"] if f["hidden"]]
    assert sorted(f["face"] for f in hidden) == [2, 4]
    assert entry["output_sha256"] and entry["status"] == "exported"
    again = guard.check(answer.body, CheckContext(channel="facebook"))
    assert again.verdict.value == "PASS", [(f.number, f.reason.value) for f in again.faces]
    copy = np.asarray(Image.open(__import__("io").BytesIO(answer.body)).convert("RGB"))
    found = dlib.get_frontal_face_detector()(copy, 1)  # HOG: shares nothing with minorguard's detectors
    for face in hidden:
        x, y, w, h = face["box"]
        centre = (x + w / 2, y + h / 2)
        assert not any(d.left() <= centre[0] <= d.right() and d.top() <= centre[1] <= d.bottom() for d in found), face
    original = dlib.get_frontal_face_detector()(np.asarray(Image.open(FAMILY).convert("RGB")), 1)
    assert len(original) == 4  # the same detector does see all four faces in the original


def test_a_revoked_key_is_refused_and_a_refused_request_writes_nothing(server, monkeypatch):
    made = server.cli("key", "create", "--tool", "orari-i-postimeve")
    key = made.stdout.strip()
    assert made.returncode == 0 and key.startswith("mgk_")
    assert server.check(FAMILY.read_bytes(), key=key).status == 200
    key_id = next(line.split()[1] for line in server.cli("key", "list").stdout.splitlines() if "orari-i-postimeve" in line)
    assert server.cli("key", "revoke", key_id).returncode == 0
    with _register(server, monkeypatch) as reg:
        before = len(reg.audit_entries())
    refused = server.check(FAMILY.read_bytes(), key=key)
    assert refused.status == 401 and refused.json["error"] == "service.bad_key"
    with _register(server, monkeypatch) as reg:
        assert len(reg.audit_entries()) == before
    assert key not in server.cli("key", "list", "--revoked").stdout  # only its id and tool are ever listed


def _png_bomb() -> bytes:
    import io

    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")  # 400 million pixels in a few kilobytes
    return out.getvalue()


def _form(*files: tuple[str, str, bytes], boundary: str = "kufi") -> bytes:
    """A multipart form body: (field, file name, bytes) per file."""
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
             "Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n" for field, name, data in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


BAD_REQUESTS = [
    # (what, path and query, body, headers beyond the key, status, error code, field)
    ("no key", "/v1/check", b"x", {"Authorization": ""}, 401, "service.no_key", None),
    ("unknown key", "/v1/check", b"x", {"Authorization": "Bearer mgk_not-a-key"}, 401, "service.bad_key", None),
    ("key in the URL", "/v1/check?api_key=mgk_x", b"x", {}, 400, "service.key_in_url", "query"),
    ("unknown channel", "/v1/check?channel=facebok", "family", {}, 400, "service.unknown_channel", "channel"),
    ("malformed date", "/v1/check?date=6.12.2026", "family", {}, 400, "service.bad_date", "date"),
    ("impossible date", "/v1/check?date=2026-02-30", "family", {}, 400, "service.bad_date", "date"),
    ("unknown event", "/v1/check?event=ev-nuk-ekziston", "family", {}, 400, "service.unknown_event", "event"),
    ("misspelt field", "/v1/check?chanel=facebook", "family", {}, 400, "service.unknown_field", "chanel"),
    ("no photo", "/v1/check", b"", {}, 400, "service.no_photo", "photo"),
    ("two photos in one form", "/v1/check", "two files", {"Content-Type": "multipart/form-data; boundary=kufi"}, 400,
     "service.several_photos", "photo"),
    ("not a photo", "/v1/check", b"%PDF-1.4 not a photo", {}, 422, "service.photo_error", None),
    ("truncated photo", "/v1/check", "truncated", {}, 422, "service.photo_error", None),
    ("decompression bomb", "/v1/check", "bomb", {}, 422, "service.photo_error", None),
    ("bad export option", "/v1/export?style=glitter", "family", {}, 400, "service.bad_option", "style"),
    ("export of a truncated photo", "/v1/export", "truncated", {"Accept": "application/json"}, 422, "service.refused", None),
    ("unknown address", "/v1/nothing", b"x", {}, 404, "service.not_found", None),
    ("wrong method", "/v1/health", b"x", {}, 405, "service.method", None),
]


@pytest.mark.parametrize(("what", "path", "body", "headers", "status", "code", "field"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_each_bad_request_gets_its_status_and_a_json_line_in_both_languages(server, monkeypatch, what, path, body, headers, status, code, field):
    family = FAMILY.read_bytes()
    data = {"family": family, "truncated": family[: len(family) // 3], "bomb": _png_bomb(),
            "two files": _form(("photo", "plak.jpg", BIDEN.read_bytes()), ("extra", "familja.jpg", family)),
            }.get(body, body) if isinstance(body, str) else body
    with _register(server, monkeypatch) as reg:
        before = len(reg.audit_entries())
    sent = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/octet-stream", **headers}
    sent = {k: v for k, v in sent.items() if v}
    answers = [call(server.url + path, "POST", data, {**sent, "Accept-Language": lang}) for lang in ("en", "sq-AL,sq;q=0.9")]
    for answer in answers:
        assert answer.status == status, (what, answer.body[:400])
        assert answer.headers["content-type"].startswith("application/json")
        body_json = answer.json
        assert body_json["error"] == code, body_json
        assert b"Traceback" not in answer.body and b'File "' not in answer.body
        if field is not None:
            assert body_json["field"] == field
    english, albanian = answers[0].json["message"], answers[1].json["message"]
    assert english and albanian and english != albanian
    assert "{" not in english + albanian, (english, albanian)  # every value of the line filled in
    assert answers[1].headers["content-language"] == "sq"
    with _register(server, monkeypatch) as reg:
        written = [e["action"] for e in reg.audit_entries()[before:]]  # oldest first
    if status in (401, 400, 404, 405, 413):
        assert written == [], what  # nothing decided, nothing written
    else:
        assert set(written) <= {"photo_checked"}, what  # an ERROR verdict is a decision and is audited


def _raw_exchange(server: Server, head: str, body_chunks=()) -> tuple[int, dict]:
    """Send ``head`` (and as many chunks as the server takes), then read the answer: as a client that reads early."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head.encode("ascii"))
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed before taking it all: what is tested
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply) < reply.find(b"\r\n\r\n") + 4 + int(
                next((line.split(b":")[1] for line in reply.split(b"\r\n") if line.lower().startswith(b"content-length")), b"0")):
            part = sock.recv(65536)
            if not part:
                break
            reply += part
    status = int(reply.split(b" ", 2)[1])
    return status, json.loads(reply.split(b"\r\n\r\n", 1)[1])


def test_an_upload_over_the_limit_is_refused_before_it_is_read(server, monkeypatch):
    with _register(server, monkeypatch) as reg:
        before = len(reg.audit_entries())
    too_big = MAX_UPLOAD_MB * 1024 * 1024 + 1
    # declared in its headers: the answer comes without a byte of the body sent
    head = (f"POST /v1/check?channel=facebook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.key}\r\n"
            f"Content-Type: image/jpeg\r\nContent-Length: {too_big}\r\nAccept-Language: sq\r\n\r\n")
    status, body = _raw_exchange(server, head)
    assert status == 413 and body["error"] == "service.too_large" and "MB" in body["message"]
    # chunked, with no length said: cut off once the limit is passed
    head = (f"POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.key}\r\n"
            "Content-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n")
    piece = bytes(1024 * 1024)
    chunks = [f"{len(piece):x}\r\n".encode() + piece + b"\r\n"] * (MAX_UPLOAD_MB + 2) + [b"0\r\n\r\n"]
    status, body = _raw_exchange(server, head, chunks)
    assert status == 413 and body["error"] == "service.too_large"
    with _register(server, monkeypatch) as reg:
        assert len(reg.audit_entries()) == before


def test_health_and_models_say_what_runs(server):
    health = call(f"{server.url}/v1/health").json
    assert health["status"] == "ok" and health["models_loaded"] and health["register"] == "reachable"
    assert health["policy_version"] and DEFAULT_PACK_NAME in health["model_pack"]
    models = call(f"{server.url}/v1/models").json
    assert models["files"] and all(len(f["sha256"]) == 64 and f["licence"] for f in models["files"])


def test_sixteen_clients_for_a_minute_get_the_librarys_answers(server, guard, shared, monkeypatch):
    """16 tools at once send the 13 photos of ../shared/samples over and over: no error, the library's results, steady memory."""
    from minorguard import CheckContext, Guard, open_checks
    from minorguard.types import to_jsonable

    photos = sorted(p for p in (shared / "samples").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert len(photos) == 13
    monkeypatch.setenv("MINORGUARD_DATA_DIR", server.env["MINORGUARD_DATA_DIR"])
    today = date.today()
    with open_checks(db=str(server.db), context=CheckContext(channel="facebook", when=today), tool="test",
                     guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        expected = {p.name: to_jsonable(checks.check(p)) for p in photos}

    def same(a: dict, b: dict) -> bool:
        drop = ("source", "timings_ms")
        return {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}

    failures: list[str] = []
    served = [0]
    lock = threading.Lock()
    seconds = float(os.environ.get("MINORGUARD_SERVICE_SOAK_S", "60"))
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        order = photos[n % len(photos):] + photos[: n % len(photos)]
        while time.monotonic() < stop:
            for photo in order:
                answer = server.check(photo.read_bytes(), f"channel=facebook&date={today.isoformat()}")
                with lock:
                    served[0] += 1
                    if answer.status != 200:
                        failures.append(f"{photo.name}: {answer.status} {answer.body[:200]!r}")
                    elif not same(answer.json, expected[photo.name]):
                        failures.append(f"{photo.name}: differs from the library's result")
                if time.monotonic() >= stop:
                    return

    warm = server.rss_mb()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    samples = []
    while any(t.is_alive() for t in threads):
        samples.append(server.rss_mb())
        time.sleep(2)
    for t in threads:
        t.join()
    assert failures == []
    assert served[0] >= 16
    peak_late = max(samples[len(samples) // 2:]) if samples else warm
    peak_early = max(samples[: max(1, len(samples) // 2)]) if samples else warm
    # steady: the second half of the run does not climb above the first (decoded photos come and go)
    assert peak_late <= peak_early * 1.15 + 100, (warm, peak_early, peak_late, served[0])


@pytest.fixture
def in_process(guard, tmp_path, monkeypatch):
    """The same application in a uvicorn server on a thread of the test, for faults a test must cause inside it."""
    import uvicorn

    from consent_db import Register
    from consent_db.api_keys import ApiKeys
    from minorguard import Guard
    from minorguard.application.pool import ChecksPool
    from minorguard.service.app import ServiceSettings, create_app

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    register = Register(str(tmp_path / "data" / "register.sqlite3"))
    _, key = ApiKeys(register).create("cms")
    started: list = []

    def start(**settings):
        pool = ChecksPool(register=register, guard=Guard(policy=guard.policy, pack=guard.pack), lang="en")
        app = create_app(ServiceSettings(lang="en", **settings), pool=pool)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        started.append((server, thread))
        return Server(f"http://127.0.0.1:{port}", key, Path(), {}, None), register

    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(10)


def test_a_register_that_is_down_gets_503_and_nothing_is_decided(in_process, monkeypatch):
    from consent_db import RegisterError
    from consent_db.store import Store

    server, register = in_process()
    assert server.check(FAMILY.read_bytes()).status == 200
    before = len(register.audit_entries())

    def down(self, *a, **k):
        raise RegisterError("db_error", register=self.label, error="could not connect to server")

    monkeypatch.setattr(Store, "read", down)
    monkeypatch.setattr(Store, "transaction", down)
    for lang in ("en", "sq"):
        answer = server.check(FAMILY.read_bytes(), **{"Accept-Language": lang})
        assert answer.status == 503 and answer.json["error"] == "service.register_down"
        assert "could not connect" in answer.json["message"]
    health = call(f"{server.url}/v1/health")
    assert health.status == 503 and health.json["register"] == "unreachable"
    monkeypatch.undo()
    assert len(register.audit_entries()) == before


def test_a_check_past_the_time_limit_gets_503_and_the_photo_is_not_passed(in_process, monkeypatch):
    from minorguard.application.checks import Checks

    server, _ = in_process(timeout_s=0.5)
    real = Checks.check

    def slow(self, *a, **k):
        time.sleep(2)
        return real(self, *a, **k)

    monkeypatch.setattr(Checks, "check", slow)
    answer = server.check(FAMILY.read_bytes(), **{"Accept-Language": "sq"})
    assert answer.status == 503 and answer.json["error"] == "service.timeout"
    assert "nuk kalon" in answer.json["message"]
    assert "verdict" not in answer.json
