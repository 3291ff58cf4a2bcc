"""A step above 100% in words: AEs hold more meetings than SDRs set them (they book their own),
so meetings held per meeting set is a count per meeting, not a share; the diagnosis said
"4.02 per against the peers' 6.05 per" and left the manager to guess per what.

Hand-built findings on the default configuration's labels ("meetings set", "meetings held").
"""

from __future__ import annotations

from types import SimpleNamespace

from paceline.analytics.diagnose import Finding
from paceline.config import Settings
from paceline.describe import finding_text, step_rate


def test_a_step_above_one_names_what_it_counts_per_what(settings: Settings) -> None:
    step = "meetings_set->meetings_held"
    assert step_rate(settings, step, 4.02) == "4.02 meetings held per meeting set"
    assert step_rate(settings, step, 0.8) == "80%"  # a share stays a share
    assert step_rate(settings, step, 1.0) == "100%"
    assert step_rate(settings, step, None) == "—"


def test_a_weak_hand_over_step_is_said_per_meeting(settings: Settings) -> None:
    brief = SimpleNamespace(funnel=SimpleNamespace(steps=[]), alerts=[], equation=None)
    finding = Finding("weak_step", "meetings_set->meetings_held", 4.02, 6.05, 1e-6, count=90)
    said = finding_text(settings, brief, finding)  # type: ignore[arg-type]
    assert said == (
        "Weak step meetings set → meetings held: 4.02 meetings held per meeting set against"
        " the peers' 6.05 meetings held per meeting set, a gap very unlikely to be chance"
    )
    assert " per against" not in said
