"""Deals closed and then reopened: one rule for every analysis.

A deal can be won (or lost) and moved back to an open stage: the customer comes back, the
contract falls through, the close was a mistake; it may be closed again later. CRMs keep the
deal's present on the deal itself: its status and close date are the final ones
(Salesforce's CloseDate, Pipedrive's `won_time` rather than its `first_won_time`, HubSpot's
`closedate`, Close's `date_won`; an import, a sync or an edit that reopens a deal clears its
close date). Only the stage history remembers the close that was undone: Salesforce's
OpportunityHistory records "Closed Won", then the open stage, then "Closed Won" again, and a
re-import, a sync or an edit adds a row for each change of status it sees.

The rule, what a sales manager expects: a win (or a loss) counts once, at the deal's final
close. A close the deal was later moved out of is undone: the deal was open from its
creation to its final close (or is open still), so as of a day between the two closes it is
an open deal, in the stage it was in before the undone close until the reopen; its sales
cycle runs from its creation to its final close; its revenue is won once, in the period of
the final close. The deal metrics, the pipeline flow and the revenue won read the deal's row
and so follow the rule already; what reads the stage history (the forecast's stages and
stays, stalled deals' stages and norms) drops the undone closes here, in Python
(`standing_entries`, where entries are read deal by deal) or in SQL (`standing_history`,
where the database walks them), and a test holds the two together.

An entry is an undone close (`undone_close`) when it is closed (won or lost) and either a
later entry follows it, or the deal is open now (reopened, and the history did not record
the reopen). A closed deal's last closed entry is its close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, Subquery, and_, func, or_, select

from paceline.store.models import Deal, DealStageHistory

OPEN = "open"
Entry = TypeVar("Entry")


def undone_close(status: str, followed: bool, deal_status: str) -> bool:
    """Whether a stage entry of `status` is a close later undone: closed, and followed by a
    later entry of the deal (`followed`) or belonging to a deal open now."""
    return status != OPEN and (followed or deal_status == OPEN)


def standing_entries(
    entries: Sequence[Entry], deal_status: str, status_of: Callable[[Entry], str]
) -> list[Entry]:
    """A deal's stage entries (oldest first) without its undone closes (`undone_close`)."""
    last = len(entries) - 1
    return [
        entry
        for i, entry in enumerate(entries)
        if not undone_close(status_of(entry), i < last, deal_status)
    ]


def standing_history(deals: ColumnElement[bool]) -> Subquery:
    """The stage entries of the deals matching `deals` (a condition on `Deal`), without their
    undone closes: columns `id`, `deal_id`, `stage`, `status`, `amount`, `entered_at`. Whether
    an entry is followed is asked of all the deal's entries, before any cut in time."""
    h = DealStageHistory
    following = func.lead(h.id).over(partition_by=h.deal_id, order_by=(h.entered_at, h.id))
    rows = (
        select(
            h.id,
            h.deal_id,
            h.stage,
            h.status,
            h.amount,
            h.entered_at,
            following.label("next_id"),
            Deal.status.label("deal_status"),
        )
        .join(Deal, Deal.id == h.deal_id)
        .where(deals)
        .subquery("with_next")
    )
    kept = or_(rows.c.status == OPEN, and_(rows.c.next_id.is_(None), rows.c.deal_status != OPEN))
    return (
        select(
            rows.c.id,
            rows.c.deal_id,
            rows.c.stage,
            rows.c.status,
            rows.c.amount,
            rows.c.entered_at,
        )
        .where(kept)
        .subquery("standing")
    )
