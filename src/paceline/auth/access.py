"""The role rules, in one place, used by the API and the web pages alike.

- admin: everything (users, configuration, imports, every rep and team);
- manager: their own team's reps (scorecards, activities, alerts, plans and targets);
- rep: their own scorecard and activities, and their team's leaderboards.
A rule returns a bool; faces turn False into 403 (or 404 where existence must not leak).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "manager", "rep"]
ROLES: tuple[Role, ...] = ("admin", "manager", "rep")


@dataclass(frozen=True)
class Principal:
    """The logged-in user as the rules see them."""

    user_id: int
    username: str
    role: Role
    rep_id: int | None  # the rep record this user is, if any
    team_id: int | None  # the team a manager manages, or a rep belongs to
    face: str = "api"  # how they came: "cli", "api" or "web" (for the audit log)
    token_id: int | None = None  # the API token of this request, if it came with one

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_read_rep(self, rep_id: int, rep_team_id: int | None) -> bool:
        """Scorecards and activities of a rep."""
        if self.role == "admin":
            return True
        if self.role == "manager":
            return self.team_id is not None and rep_team_id == self.team_id
        return self.rep_id == rep_id

    def can_write_for_rep(self, rep_id: int, rep_team_id: int | None) -> bool:
        """Logging, editing and deleting a rep's activities and deals."""
        return self.can_read_rep(rep_id, rep_team_id)

    def can_read_team(self, team_id: int | None) -> bool:
        """Team pages, alerts and leaderboards of a team."""
        if self.role == "admin":
            return True
        return team_id is not None and team_id == self.team_id

    def can_see_team_scorecards(self, team_id: int | None) -> bool:
        """Every rep's scorecard of a team: managers and admins, not reps."""
        return self.role != "rep" and self.can_read_team(team_id)

    def can_set_targets(self, rep_team_id: int | None) -> bool:
        if self.role == "admin":
            return True
        return self.role == "manager" and self.team_id is not None and rep_team_id == self.team_id

    @property
    def can_administer(self) -> bool:
        """Users, configuration, imports."""
        return self.role == "admin"
