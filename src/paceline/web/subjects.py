"""What every diagnosis page shares: whom it is about, what its filters offer, how it runs.

Whom a page is about is the access policy's answer (`paceline.access.diagnosis_subject`), as
in the API: a rep sees only themself (nothing asked means themself); a manager a rep of their
team or the team (nothing asked: their team); an admin anyone, any team, or everyone. Unknown
names are not found (404), names out of reach refused (403), so the pages cannot be used to
probe other teams. Input the analysis cannot use (a period it cannot read, a rep not selling in the
window) is shown on the page itself (422), with the filters to correct it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from paceline import access
from paceline.analytics.window import diagnosis_window
from paceline.auth.access import Principal
from paceline.callers import AppState, Caller, app_state
from paceline.config import Settings
from paceline.errors import InputError, UserInputError
from paceline.web import queries
from paceline.web.charts import figure_json
from paceline.web.common import page_errors, parse_date, refused, render

Analysis = Callable[..., Any]
Chart = Callable[[Any], dict[str, Any] | None]


# --- whom a page is about -----------------------------------------------------------------


def page_subject(
    engine: Engine,
    principal: Principal,
    rep: str | None,
    team: str | None,
    what: str,
    *,
    rep_in_team: bool = False,
) -> tuple[str | None, str | None]:
    """(rep, team) by stored name; (None, None) means everyone. A rep wins over a team, unless
    `rep_in_team`: pages whose analysis looks the rep up among the team's reps keep both."""
    if rep is not None and not rep_in_team:
        team = None
    try:
        with page_errors():
            return access.diagnosis_subject(engine, principal, rep, team, what)
    except InputError as exc:  # an account linked to no rep asking for its own: refused
        raise refused(f"see the {what} ({exc.reason})") from None


# --- what was asked, and what the filters offer ---------------------------------------------


@dataclass(frozen=True)
class PageQuery:
    """A diagnosis page's query as typed (names in any case, dates as text)."""

    rep: str | None = None
    team: str | None = None
    period: str | None = None
    as_of: str | None = None


def _page_query(
    rep: str | None = None,
    team: str | None = None,
    period: str | None = None,
    as_of: str | None = None,
) -> PageQuery:
    return PageQuery(rep, team, period, as_of)


Asked = Annotated[PageQuery, Depends(_page_query)]


@dataclass(frozen=True)
class Wanted:
    """What a page shows, by stored names, as its filters show it and its links repeat it;
    neither rep nor team: everyone."""

    path: str
    rep: str | None
    team: str | None
    period: str = ""
    as_of: str = ""

    def query(self, **changes: str | None) -> str:
        params = {
            "rep": self.rep,
            "team": self.team,
            "period": self.period,
            "as_of": self.as_of,
            **changes,
        }
        return urlencode({k: v for k, v in params.items() if v})

    def link(self, **changes: str | None) -> str:
        query = self.query(**changes)
        return f"{self.path}?{query}" if query else self.path


def rep_choices(engine: Engine, settings: Settings, principal: Principal) -> list[str]:
    """Selling reps the user may pick (none for a rep: they see themself only)."""
    if principal.role == "rep":
        return []
    selling = {r.name for r in settings.roles if r.key_metrics}
    return [r.name for r in queries.visible_reps(engine, principal) if r.role in selling]


def own_team(engine: Engine, principal: Principal) -> str | None:
    """A manager's team: what their pages show when no rep is picked."""
    team = queries.team_by_id(engine, principal.team_id) if principal.role == "manager" else None
    return team.name if team else None


def period_choices(settings: Settings, offered: Sequence[str], shown: str = "") -> list[str]:
    """The configured window first, then the page's own choices and the period shown (a
    trailing one typed into the address, say), each once."""
    return list(dict.fromkeys([settings.diagnose.window, *offered, *([shown] if shown else [])]))


def pickers(engine: Engine, settings: Settings, principal: Principal) -> dict[str, Any]:
    """What the rep and team pickers offer this user (teams: admins only)."""
    return {
        "reps": rep_choices(engine, settings, principal),
        "teams": queries.teams(engine) if principal.is_admin else [],
        "own_team": own_team(engine, principal),
        "is_rep": principal.role == "rep",
    }


# --- one page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagnosisPage:
    """One diagnosis page: its path and template, what a refusal calls it, and the periods it
    offers (none: the page reads one day, `as_of`)."""

    path: str
    template: str
    what: str
    periods: tuple[str, ...] = ()
    rep_in_team: bool = False

    def wanted(self, state: AppState, principal: Principal, asked: PageQuery) -> Wanted:
        """What was asked, once the user may see it."""
        rep, team = page_subject(
            state.engine,
            principal,
            asked.rep or None,
            asked.team or None,
            self.what,
            rep_in_team=self.rep_in_team,
        )
        period = (asked.period or state.settings.diagnose.window).strip() if self.periods else ""
        return Wanted(self.path, rep, team, period, asked.as_of or "")

    def show(
        self, request: Request, caller: Caller, asked: PageQuery, analysis: Analysis, chart: Chart
    ) -> Response:
        """The page of one analysis (`report` in the template) and its chart (`figure`), when
        `chart` draws one."""
        report, context = self.run(request, caller, asked, analysis)
        figure = chart(report) if report is not None else None
        context |= {"report": report, "figure": figure_json(figure) if figure else None}
        return self.render(request, caller, context)

    def run(
        self, request: Request, caller: Caller, asked: PageQuery, analysis: Analysis
    ) -> tuple[Any, dict[str, Any]]:
        """(`analysis(engine, settings, window, rep=, team=)`, or None when it could not use
        the input, and the context every diagnosis page renders with)."""
        state = app_state(request)
        wanted = self.wanted(state, caller.principal, asked)
        found: Any = None
        error: str | None = None
        try:
            window = diagnosis_window(state.settings, wanted.period, parse_date(asked.as_of))
            found = analysis(state.reads, state.settings, window, rep=wanted.rep, team=wanted.team)
        except UserInputError as exc:
            error = str(exc)
        shown = wanted.period if found is not None else ""
        return found, self.context(state, caller.principal, wanted, error, shown)

    def context(
        self,
        state: AppState,
        principal: Principal,
        wanted: Wanted,
        error: str | None,
        shown: str = "",
    ) -> dict[str, Any]:
        return {
            "active": "diagnose",
            "wanted": wanted,
            "error": error,
            "periods": period_choices(state.settings, self.periods, shown),
            **pickers(state.engine, state.settings, principal),
        }

    def render(self, request: Request, caller: Caller, context: dict[str, Any]) -> Response:
        """The page; 422 when the analysis could not use the input (the page says why)."""
        status = 422 if context["error"] else 200
        return render(request, self.template, caller, context, status=status)
