"""CLI commands for the web faces: serve, users, API tokens and wall-screen (kiosk) links."""

from __future__ import annotations

import os

import typer

from paceline.auth.access import ROLES
from paceline.cli import (
    JSON_OPTION,
    _ctx,
    app,
    complete_interrupted_load_at_start,
    handles_errors,
    out,
)
from paceline.errors import UserInputError
from paceline.terminal import new_table

user_app = typer.Typer(no_args_is_help=True, help="Manage users who log in to the web and API.")
token_app = typer.Typer(no_args_is_help=True, help="Personal API tokens.")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
kiosk_app = typer.Typer(
    no_args_is_help=True, help="Wall-screen links: read-only URLs to one team's TV board."
)
app.add_typer(kiosk_app, name="kiosk")


def _password(given: str | None) -> str:
    if given:
        return given
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        raise UserInputError("password: the two entries differ")
    return str(first)


@app.command()
@handles_errors
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Worker processes (production: about one per core; each has its own pool).",
    ),
    trusted_proxy: list[str] = typer.Option(
        [],
        "--trusted-proxy",
        help="Address of a reverse proxy whose X-Forwarded-For/-Proto headers to believe "
        "(repeatable; default: none).",
    ),
) -> None:
    """Run the web application and the JSON API (/api/v1, docs at /api/v1/docs)."""
    import uvicorn

    from paceline.server import create_app, proxy_options, settle_heap

    c = _ctx(ctx)
    engine = c.engine()  # refuses a database that is missing or behind, before any worker
    complete_interrupted_load_at_start(engine, "serve")  # once, before any worker starts
    # No access log: at log level "warning" uvicorn writes none anyway, but still formats
    # each request's line (client address, quoted path) before the logger drops it.
    options = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        **proxy_options(trusted_proxy),
    }
    out.print(
        f"Paceline at [bold]http://{host}:{port}/[/] (API docs: /api/v1/docs), "
        f"{workers} worker process{'es' if workers > 1 else ''}; Ctrl-C stops"
    )
    if workers == 1:
        served = create_app(c.settings, engine)
        settle_heap()
        uvicorn.run(served, **options)
        return
    os.environ["PACELINE_DB"] = c.url  # what each worker's create_app_from_environment reads
    if c.config is not None:
        os.environ["PACELINE_CONFIG"] = str(c.config.resolve())
    uvicorn.run(
        "paceline.server:create_app_from_environment", factory=True, workers=workers, **options
    )


@user_app.command("add")
@handles_errors
def user_add(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., help=f"One of {', '.join(ROLES)}."),
    rep: str | None = typer.Option(None, help="The rep this user is (needed for the rep role)."),
    team: str | None = typer.Option(
        None, "--team", "-t", help="A manager's team (default: their rep's team)."
    ),
    password: str | None = typer.Option(
        None, help="Password (prompted for when not given; at least 10 characters)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a user who can log in."""
    from paceline.access import OPERATOR
    from paceline.serialize import dumps
    from paceline.services import users

    c = _ctx(ctx)
    user = users.add_user(c.engine(), OPERATOR, username, _password(password), role, rep, team)
    if as_json:
        out.print_json(dumps(user))
    else:
        scope = f" (rep {user.rep})" if user.rep else ""
        scope += f" (team {user.team})" if user.team else ""
        out.print(f"user {user.username!r} created as {user.role}{scope}")


@user_app.command("passwd")
@handles_errors
def user_passwd(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    password: str | None = typer.Option(None, help="New password (prompted for when not given)."),
) -> None:
    """Change a user's password (their open sessions end and their API tokens are revoked)."""
    from paceline.access import OPERATOR
    from paceline.services import users

    c = _ctx(ctx)
    ended, revoked = users.set_password(c.engine(), OPERATOR, username, _password(password))
    out.print(
        f"password of {username!r} changed; {ended} session(s) ended, "
        f"{revoked} API token(s) revoked"
    )


@user_app.command("deactivate")
@handles_errors
def user_deactivate(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Deactivate a user: no login from now on; their sessions end and their API tokens are
    revoked at once."""
    from paceline.access import OPERATOR
    from paceline.services import users

    changed = users.set_active(_ctx(ctx).engine(), OPERATOR, username, False)
    state = "deactivated" if changed else "was already inactive"
    out.print(f"{username!r} {state}; their sessions ended and their API tokens are revoked")


@user_app.command("activate")
@handles_errors
def user_activate(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Let a deactivated user log in again (no old session or token comes back)."""
    from paceline.access import OPERATOR
    from paceline.services import users

    changed = users.set_active(_ctx(ctx).engine(), OPERATOR, username, True)
    out.print(f"{username!r} {'activated' if changed else 'was already active'}")


@user_app.command("list")
@handles_errors
def user_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Users, their role and scope."""
    from paceline.auth.accounts import list_users
    from paceline.serialize import dumps

    users = list_users(_ctx(ctx).engine())
    if as_json:
        out.print_json(dumps(users))
        return
    table = new_table()
    for name in ("user", "role", "rep", "team", "active"):
        table.add_column(name)
    for u in users:
        table.add_row(u.username, u.role, u.rep or "", u.team or "", "yes" if u.active else "no")
    out.print(table)


@token_app.command("create")
@handles_errors
def token_create(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Whose token."),
    name: str = typer.Option(..., help="What it is for, e.g. 'CRM sync'."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a personal API token; it is shown this once only."""
    from paceline.access import OPERATOR
    from paceline.serialize import dumps
    from paceline.services import users

    token = users.create_token(_ctx(ctx).engine(), OPERATOR, username, name)
    if as_json:
        out.print_json(dumps(token))
    else:
        out.print(f"token {token.id} ({token.name}): [bold]{token.token}[/]")
        out.print("store it now: only its hash is kept. Use: Authorization: Bearer <token>")


@token_app.command("list")
@handles_errors
def token_list(ctx: typer.Context, username: str, as_json: bool = JSON_OPTION) -> None:
    """A user's tokens (never their secrets)."""
    from paceline.auth.accounts import list_tokens
    from paceline.serialize import dumps

    tokens = list_tokens(_ctx(ctx).engine(), username)
    if as_json:
        out.print_json(dumps(tokens))
        return
    table = new_table()
    for name in ("id", "name", "created", "last used", "revoked"):
        table.add_column(name)
    for t in tokens:
        table.add_row(
            str(t.id),
            t.name,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    out.print(table)


@token_app.command("revoke")
@handles_errors
def token_revoke(ctx: typer.Context, username: str, token_id: int) -> None:
    """Revoke a token: it stops working at once."""
    from paceline.access import OPERATOR
    from paceline.services import users

    users.revoke_token(_ctx(ctx).engine(), OPERATOR, username, token_id)
    out.print(f"token {token_id} of {username!r} revoked")


@user_app.command("unlock")
@handles_errors
def user_unlock(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Lift a login lockout now (after too many failed logins every password is refused for
    15 minutes, the right one too)."""
    from paceline.access import OPERATOR
    from paceline.services import users

    forgotten = users.unlock(_ctx(ctx).engine(), OPERATOR, username)
    out.print(f"{username!r} may log in again ({forgotten} recent failed login(s) forgotten)")


@kiosk_app.command("create")
@handles_errors
def kiosk_create(
    ctx: typer.Context,
    team: str = typer.Option(..., "--team", help="The team whose TV board the link shows."),
    name: str = typer.Option("wall screen", "--name", help="Which screen, e.g. 'sales floor'."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a wall-screen link; its URL is shown this once only."""
    from paceline.auth.kiosks import create_kiosk_link
    from paceline.serialize import dumps

    link = create_kiosk_link(_ctx(ctx).engine(), team, name)
    if as_json:
        out.print_json(
            dumps({"id": link.id, "team": link.team, "name": link.name, "path": link.path})
        )
        return
    out.print(f"kiosk link {link.id} ({link.name}, team {link.team}): [bold]{link.path}[/]")
    out.print("append it to the server's address; store it now: only its hash is kept")


@kiosk_app.command("list")
@handles_errors
def kiosk_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every wall-screen link (never their secrets)."""
    from paceline.auth.kiosks import list_kiosk_links
    from paceline.serialize import dumps

    links = list_kiosk_links(_ctx(ctx).engine())
    if as_json:
        out.print_json(dumps(links))
        return
    table = new_table()
    for column in ("id", "team", "name", "created", "last used", "revoked"):
        table.add_column(column)
    for k in links:
        table.add_row(
            str(k.id),
            k.team,
            k.name,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    out.print(table)


@kiosk_app.command("revoke")
@handles_errors
def kiosk_revoke(ctx: typer.Context, link_id: int) -> None:
    """Revoke a wall-screen link: its screen is refused at its next refresh."""
    from paceline.auth.kiosks import revoke_kiosk_link

    revoke_kiosk_link(_ctx(ctx).engine(), link_id)
    out.print(f"kiosk link {link_id} revoked")
