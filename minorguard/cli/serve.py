"""`minorguard serve` (the web service) and `minorguard key` (the API keys of the tools that call it)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket

import typer
from rich.markup import escape
from rich.table import Table

from minorguard.cli.common import EXIT_INTERNAL, console, err, fail
from minorguard.cli.lang import Lang, LangOpt, say
from minorguard.cli.register import BY_HELP, DB_HELP, OpenRegister
from minorguard.locale import t

__all__ = ["key_app", "serve_cmd"]

key_app = typer.Typer(no_args_is_help=True, help="API keys of the tools that call `minorguard serve`.")


@key_app.command("create")
def key_create(
    tool: str = typer.Option(..., "--tool", help="The calling tool's name; every audit entry of its requests carries it."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Create a key (creates the register if there is none); the key is printed once and stored only as its sha256."""
    from consent_db.api_keys import ApiKeys

    with OpenRegister(db, by, lang) as reg:
        info, secret = ApiKeys(reg).create(tool)
    err.print(t("key.created", lang.value, id=info.id, tool=escape(info.tool)))
    console.print(secret, soft_wrap=True)  # alone on stdout: a script can capture it


@key_app.command("list")
def key_list(
    revoked: bool = typer.Option(False, "--revoked", help="Also list revoked keys."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    lang: Lang = LangOpt,
) -> None:
    """The keys: id, tool, when and by whom created, when revoked. Never the keys themselves."""
    from consent_db.api_keys import ApiKeys

    with OpenRegister(db, lang=lang, create=False) as reg:
        keys = ApiKeys(reg).list(include_revoked=revoked)
    if not keys:
        console.print(t("key.none", lang.value))
        return
    table = Table()
    for column in t("key.columns", lang.value).split(" | "):
        table.add_column(column, no_wrap=column == "id")
    for k in keys:
        table.add_row(k.id, escape(k.tool), k.created_at.isoformat(timespec="minutes"), escape(k.created_by),
                      k.revoked_at.isoformat(timespec="minutes") if k.revoked_at else "")
    console.print(table)


@key_app.command("revoke")
def key_revoke(
    key_id: str = typer.Argument(..., help="The key's id (minorguard key list)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Revoke a key: its next request is refused (401). The row stays, so the audit log's tool names stay explained."""
    from consent_db.api_keys import ApiKeys

    with OpenRegister(db, by, lang, create=False) as reg:
        info = ApiKeys(reg).revoke(key_id)
    console.print(t("key.revoked", lang.value, id=info.id, tool=escape(info.tool)))


def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes; each loads the models once."),
    threads: int = typer.Option(0, "--threads", min=0, help="Photos checked at once per process (0: the cores)."),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, help="Seconds a check may take; past it: 503, nothing decided."),
    max_upload_mb: float = typer.Option(50.0, "--max-upload-mb", min=0.1, help="Largest upload; larger: 413 before it is read."),
    policy: str | None = typer.Option(None, "--policy", help="Policy TOML overriding the defaults."),
    models: str | None = typer.Option(None, "--models", help="'default' or a folder of insightface ONNX models."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Serve check and export to publishing tools over HTTP (OpenAPI at /v1/openapi.json); Ctrl-C stops it."""
    import uvicorn

    from minorguard.locale.coded_error import CodedError
    from minorguard.service.app import ServiceSettings, create_app

    lang_s = lang.value
    # the address first, as uvicorn binds it: one taken or not of this machine is one line before the models load and
    # before anything is announced (uvicorn said it in English after "serves on", exit 3); the socket is handed to
    # uvicorn, so nothing else can take the port meanwhile
    listening = _bind(host, port, lang_s)
    with contextlib.ExitStack() as held:
        held.callback(listening.close)
        settings = ServiceSettings(policy=policy, models=models, db=db, lang=lang_s, max_upload_mb=max_upload_mb,
                                   timeout_s=timeout, threads=threads)
        try:
            app = create_app(settings)  # models and register now: a problem is one line before anything listens
        except CodedError as error:
            fail(say(error, lang_s))
        except ValueError as error:
            fail(str(error))
        service = app.state.service
        if not _loopback(host):
            err.print(f"[yellow]{t('cli.warning', lang_s)}:[/] {escape(t('service.not_loopback', lang_s, host=host))}", soft_wrap=True)
        err.print(t("service.listening", lang_s, host=host, port=port, pack=service.pool.guard.pack_label,
                    policy=service.pool.guard.policy.version, register=service.pool.register.label), soft_wrap=True)
        options = {"host": host, "port": port, "log_level": "warning", "access_log": True, "timeout_graceful_shutdown": 10}
        if workers == 1:
            server = uvicorn.Server(uvicorn.Config(app, **options))
            with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl-C is how it stops
                server.run(sockets=[listening])
            if not server.started:
                raise typer.Exit(EXIT_INTERNAL)
            return
        # several processes: uvicorn starts each on the same socket, and each calls the factory with the same settings
        import os

        from uvicorn.supervisors import Multiprocess

        service.pool.close()
        os.environ.update(settings.to_env())
        config = uvicorn.Config("minorguard.service.app:create_app", factory=True, workers=workers, **options)
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[listening]).run()


def _bind(host: str, port: int, lang: str) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` as uvicorn binds one (IPv6 for an address with ':', SO_REUSEADDR);
    a usage error (exit 64) in ``lang`` when the address cannot be taken: in use, not of this machine, not allowed."""
    from minorguard.locale.os_reasons import say_os_error

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, UnicodeError, OverflowError) as error:  # UnicodeError: a host name no resolver takes
        sock.close()
        reason = say_os_error(error, lang) if isinstance(error, OSError) else str(error)
        fail(t("service.cannot_listen", lang, host=host, port=port, reason=reason))
    sock.set_inheritable(True)  # the worker processes listen on it too
    return sock


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
