"""The words of the job: surfaces, channels, statuses, roles and enforcement actions.

These are stored as plain strings in both databases, so a value never changes once it has
shipped; labels are what reviewers read.
"""

from __future__ import annotations

from enum import StrEnum


class Surface(StrEnum):
    ORGANIC_POST = "organic_post"
    AD = "ad"
    COMMERCE_LISTING = "commerce_listing"
    ACCOUNT = "account"
    MESSAGE = "message"

    @property
    def label(self) -> str:
        return _LABELS[self]


class Channel(StrEnum):
    USER_REPORT = "user_report"
    PROACTIVE_DETECTION = "proactive_detection"
    PARTNER = "partner"
    PRESS = "press"
    REGULATOR = "regulator"
    LEGAL_REQUEST = "legal_request"
    VIP = "vip"

    @property
    def label(self) -> str:
        return _LABELS[self]


class CaseStatus(StrEnum):
    NEW = "new"
    LEASED = "leased"
    DECIDED = "decided"
    ESCALATED = "escalated"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _LABELS[self]


class Role(StrEnum):
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    LEAD = "lead"
    ADMIN = "admin"


class Action(StrEnum):
    NO_VIOLATION = "no_violation"
    REMOVE = "remove"
    MARK_DISTURBING = "mark_disturbing"
    AGE_RESTRICT = "age_restrict"
    REDUCE_DISTRIBUTION = "reduce_distribution"
    DISABLE_ACCOUNT = "disable_account"
    REQUEST_INFO = "request_info"
    ESCALATE = "escalate"

    @property
    def label(self) -> str:
        return _LABELS[self]


class EscalationTeam(StrEnum):
    LEGAL = "legal"
    PUBLIC_POLICY = "public_policy"
    CORE_POLICY = "core_policy"
    PRODUCT = "product"
    LAW_ENFORCEMENT_RESPONSE = "law_enforcement_response"
    COMMUNICATIONS = "communications"
    SECOND_LEVEL = "second_level"

    @property
    def label(self) -> str:
        return _LABELS[self]


class Urgency(StrEnum):
    ROUTINE = "routine"
    HIGH = "high"
    CRITICAL = "critical"


_LABELS: dict[StrEnum, str] = {
    Surface.ORGANIC_POST: "Organic post",
    Surface.AD: "Ad",
    Surface.COMMERCE_LISTING: "Commerce listing",
    Surface.ACCOUNT: "Account",
    Surface.MESSAGE: "Message",
    Channel.USER_REPORT: "User report",
    Channel.PROACTIVE_DETECTION: "Proactive detection",
    Channel.PARTNER: "Partner",
    Channel.PRESS: "Press",
    Channel.REGULATOR: "Regulator",
    Channel.LEGAL_REQUEST: "Legal request",
    Channel.VIP: "VIP",
    CaseStatus.NEW: "New",
    CaseStatus.LEASED: "Leased",
    CaseStatus.DECIDED: "Decided",
    CaseStatus.ESCALATED: "Escalated",
    CaseStatus.CLOSED: "Closed",
    Action.NO_VIOLATION: "No violation",
    Action.REMOVE: "Remove",
    Action.MARK_DISTURBING: "Mark as disturbing (warning screen)",
    Action.AGE_RESTRICT: "Age-restrict",
    Action.REDUCE_DISTRIBUTION: "Reduce distribution",
    Action.DISABLE_ACCOUNT: "Disable account",
    Action.REQUEST_INFO: "Request more information",
    Action.ESCALATE: "Escalate",
    EscalationTeam.LEGAL: "Legal",
    EscalationTeam.PUBLIC_POLICY: "Public Policy",
    EscalationTeam.CORE_POLICY: "Core Policy",
    EscalationTeam.PRODUCT: "Product",
    EscalationTeam.LAW_ENFORCEMENT_RESPONSE: "Law Enforcement Response",
    EscalationTeam.COMMUNICATIONS: "Communications",
    EscalationTeam.SECOND_LEVEL: "Second-level review",
}
