"""Persistence: protocols per kind of record, the records, and the stores behind them.

Consumers import the protocols and records from here; only the builder picks a store.
"""

from storage.owners import Owner
from storage.protocols import (
    AdminStore,
    ApprovalStore,
    EventStore,
    FeedbackStore,
    InflightStore,
    JobStore,
    PeopleStore,
    SettingsStore,
    Store,
    ThreadStore,
    UsageStore,
)
from storage.records import (
    Claim,
    InflightReply,
    JobRun,
    ModelUsage,
    Orphans,
    PendingApproval,
    PersonUsage,
    StoredDocument,
    StoredMessage,
    StoredSettings,
    StoreUnusable,
    ThreadImage,
    ThreadRecord,
    Totals,
    TurnRecord,
    UsageKind,
)

__all__ = [
    "AdminStore",
    "ApprovalStore",
    "Claim",
    "EventStore",
    "FeedbackStore",
    "InflightReply",
    "InflightStore",
    "JobRun",
    "JobStore",
    "ModelUsage",
    "Orphans",
    "Owner",
    "PendingApproval",
    "PeopleStore",
    "PersonUsage",
    "SettingsStore",
    "Store",
    "StoreUnusable",
    "StoredDocument",
    "StoredMessage",
    "StoredSettings",
    "ThreadImage",
    "ThreadRecord",
    "ThreadStore",
    "Totals",
    "TurnRecord",
    "UsageKind",
    "UsageStore",
]
