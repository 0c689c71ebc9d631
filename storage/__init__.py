"""Persistence: protocols per kind of record, the records, and the stores behind them.

Consumers import the protocols and records from here; only the builder picks a store.
"""

from storage.owners import Owner
from storage.protocols import (
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
    StoredDocument,
    StoredMessage,
    StoredSettings,
    StoreUnusable,
    ThreadImage,
    ThreadRecord,
    TurnRecord,
    UsageKind,
)

__all__ = [
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
    "SettingsStore",
    "Store",
    "StoreUnusable",
    "StoredDocument",
    "StoredMessage",
    "StoredSettings",
    "ThreadImage",
    "ThreadRecord",
    "ThreadStore",
    "TurnRecord",
    "UsageKind",
    "UsageStore",
]
