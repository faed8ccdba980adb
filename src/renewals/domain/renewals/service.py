"""The renewal feature as the transports call it (API controllers, pages): the worklist and one
renewal (`reads`), and the changes a person makes (`transitions`). Domain modules import the
module that defines what they need, never this one.
"""

from __future__ import annotations

from renewals.domain.renewals.reads import get_visible_renewal, list_renewals, parse_statuses, renewal_out
from renewals.domain.renewals.records import activity_out
from renewals.domain.renewals.transitions import add_activity, transition, update_renewal

__all__ = [
    "activity_out",
    "add_activity",
    "get_visible_renewal",
    "list_renewals",
    "parse_statuses",
    "renewal_out",
    "transition",
    "update_renewal",
]
