"""Statements of reasons in the format of the EU DSA Transparency Database API.

Each enforcement decision that restricts something (content removed, labelled,
age-restricted or demoted; an account terminated or suspended) is exported as one
statement of reasons, a JSON object with the API's field names and values. How our
policies, actions, channels and surfaces map onto the API is data, in
``resources/dsa_mapping.toml`` (`load_dsa_mapping` checks it against the taxonomy and the
API's allowed values). Every statement is checked by `validate_statement` before export;
a decision that cannot be exported (no restriction, waiting for a second reviewer,
superseded, …) is reported with its reason, never silently left out.

The rules come from the published API documentation (API v2, in force since 1 July 2025):
https://transparency.dsa.ec.europa.eu/page/api-documentation, whose source is the
Commission's repository github.com/digital-services-act/transparency-database:
``resources/markdown/api-documentation-two.md`` (fields, allowed values, conditions),
``app/Http/Requests/StatementStoreRequest.php`` (the validation rules the API applies),
``app/Models/Statement.php`` (enumerations) and
``app/Services/EuropeanCountriesService.php`` (territorial scope codes).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import tomllib
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.policy.taxonomy import Policy, Taxonomy
from reviewer.policy.templates import check_placeholders, fill
from reviewer.resources import RESOURCES
from reviewer.security.audit import BACKEND_ORIGIN, AuditKind, append_audit
from reviewer.store.database import Database
from reviewer.store.models import Case, Decision, MediaItem, SecondReview
from reviewer.vocabulary import Action, Channel, Surface

# -- the API's allowed values ----------------------------------------------------------------
# Statement.php and api-documentation-two.md ("The value provided must be one of …").

DECISION_VISIBILITIES = (
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
)
DECISION_MONETARIES = (
    "DECISION_MONETARY_SUSPENSION",
    "DECISION_MONETARY_TERMINATION",
    "DECISION_MONETARY_OTHER",
)
DECISION_PROVISIONS = (
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
)
DECISION_ACCOUNTS = ("DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPES = ("ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE")
DECISION_GROUNDS = ("DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT")
CONTENT_TYPES = (
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_OTHER",
)
# API v2 top-level categories (api-documentation-two.md, "Category").
STATEMENT_CATEGORIES = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
)
# API v2 keywords (api-documentation-two.md, "Category Specification").
KEYWORDS = (
    "KEYWORD_ANIMAL_HARM", "KEYWORD_ADULT_SEXUAL_MATERIAL", "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS", "KEYWORD_BIOMETRIC_DATA_BREACH",
    "KEYWORD_BULLYING_AGAINST_GIRLS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE", "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
    "KEYWORD_COORDINATED_HARM", "KEYWORD_COPYRIGHT_INFRINGEMENT",
    "KEYWORD_CYBER_BULLYING_INTIMIDATION", "KEYWORD_CYBER_HARASSMENT",
    "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN", "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING", "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
    "KEYWORD_DATA_FALSIFICATION", "KEYWORD_DEFAMATION", "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION", "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION", "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS", "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS", "KEYWORD_HATE_SPEECH",
    "KEYWORD_HIDDEN_ADVERTISEMENT", "KEYWORD_HUMAN_EXPLOITATION", "KEYWORD_HUMAN_TRAFFICKING",
    "KEYWORD_ILLEGAL_ORGANIZATIONS", "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
    "KEYWORD_INAUTHENTIC_ACCOUNTS", "KEYWORD_INAUTHENTIC_LISTINGS",
    "KEYWORD_INAUTHENTIC_USER_REVIEWS", "KEYWORD_INCITEMENT_AGAINST_WOMEN",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED", "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_LANGUAGE_REQUIREMENTS", "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES", "KEYWORD_MISSING_PROCESSING_GROUND",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN", "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_NUDITY", "KEYWORD_PATENT_INFRINGEMENT", "KEYWORD_PHISHING",
    "KEYWORD_PROHIBITED_PRODUCTS", "KEYWORD_PYRAMID_SCHEMES", "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE", "KEYWORD_RISK_PUBLIC_HEALTH", "KEYWORD_SELF_MUTILATION",
    "KEYWORD_STALKING", "KEYWORD_SUICIDE", "KEYWORD_TERRORIST_CONTENT",
    "KEYWORD_TRADE_SECRET_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS", "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    "KEYWORD_UNSAFE_CHALLENGES", "KEYWORD_UNSAFE_PRODUCTS", "KEYWORD_VIOLATION_EU_LAW",
    "KEYWORD_VIOLATION_NATIONAL_LAW", "KEYWORD_OTHER",
)
SOURCE_TYPES = ("SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION",
                "SOURCE_VOLUNTARY")
YES_NO = ("Yes", "No")  # automated_detection, incompatible_content_illegal
AUTOMATED_DECISIONS = ("AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY",
                       "AUTOMATED_DECISION_NOT_AUTOMATED")
# EuropeanCountriesService.php: the EU member states, and the EEA (EU + IS, LI, NO).
EU_COUNTRIES = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR",
                "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI",
                "SK")
EEA_COUNTRIES = tuple(sorted((*EU_COUNTRIES, "IS", "LI", "NO")))

# Character limits ("Limited to N characters").
MAX_CHARS = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "category_specification_other": 500,
    "decision_facts": 5000,
    "source_identity": 500,
    "puid": 500,
    "decision_ground_reference_url": 500,
}
# "The date must be after or equal to 2000-01-01" (content_date), "2020-01-01"
# (application_date); the request validation caps every date at 2038-01-01.
EARLIEST_CONTENT_DATE = date(2000, 1, 1)
EARLIEST_APPLICATION_DATE = date(2020, 1, 1)
LATEST_DATE = date(2038, 1, 1)
END_DATES = {
    # end date field: the restriction it ends
    "end_date_visibility_restriction": "decision_visibility",
    "end_date_monetary_restriction": "decision_monetary",
    "end_date_service_restriction": "decision_provision",
    "end_date_account_restriction": "decision_account",
}
STATEMENT_FIELDS = frozenset({
    "decision_visibility", "decision_visibility_other", "decision_monetary",
    "decision_monetary_other", "decision_provision", "decision_account", "account_type",
    "decision_ground", "decision_ground_reference_url", "illegal_content_legal_ground",
    "illegal_content_explanation", "incompatible_content_ground",
    "incompatible_content_explanation", "incompatible_content_illegal", "content_type",
    "content_type_other", "category", "category_addition", "category_specification",
    "category_specification_other", "territorial_scope", "content_language", "content_date",
    "application_date", "decision_facts", "source_type", "source_identity",
    "automated_detection", "automated_decision", "puid", *END_DATES,
})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# "alphanumeric characters (a-z, A-Z, 0-9), hyphens "-" and underscores "_" only".
_PUID = re.compile(r"^[A-Za-z0-9_-]+$")
# "one of the uppercase two letter ISO 639-1 codes".
_LANGUAGE = re.compile(r"^[A-Z]{2}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")


# -- validation -----------------------------------------------------------------------------


def validate_statement(statement: Mapping[str, Any]) -> dict[str, str]:
    """Every way the statement breaks the API's rules, by field; empty when it is valid."""
    problems: dict[str, str] = {}

    def problem(name: str, text: str) -> None:
        problems[name] = f"{problems[name]}; {text}" if name in problems else text

    def present(name: str) -> bool:
        value = statement.get(name)
        return value not in (None, "", [])

    for name in statement:
        if name not in STATEMENT_FIELDS:
            problem(name, "not a field of a statement of reasons")

    # Restrictions: "mandatory only if the following fields are empty" -> at least one.
    if not any(present(n) for n in ("decision_visibility", "decision_monetary",
                                    "decision_provision", "decision_account")):
        problem("decision_visibility", "at least one of decision_visibility, "
                "decision_monetary, decision_provision and decision_account is required")
    _check_list(statement, "decision_visibility", DECISION_VISIBILITIES, problem,
                required=False)
    visibility = statement.get("decision_visibility") or []
    _check_other(statement, "decision_visibility_other",
                 isinstance(visibility, list) and "DECISION_VISIBILITY_OTHER" in visibility,
                 "DECISION_VISIBILITY_OTHER is one of decision_visibility", problem)
    _check_choice(statement, "decision_monetary", DECISION_MONETARIES, problem)
    _check_other(statement, "decision_monetary_other",
                 statement.get("decision_monetary") == "DECISION_MONETARY_OTHER",
                 "decision_monetary is DECISION_MONETARY_OTHER", problem)
    _check_choice(statement, "decision_provision", DECISION_PROVISIONS, problem)
    _check_choice(statement, "decision_account", DECISION_ACCOUNTS, problem)
    _check_choice(statement, "account_type", ACCOUNT_TYPES, problem)

    # Ground, and the fields each ground requires ("required_if"/"exclude_unless").
    ground = statement.get("decision_ground")
    _check_choice(statement, "decision_ground", DECISION_GROUNDS, problem, required=True)
    illegal = ground == "DECISION_GROUND_ILLEGAL_CONTENT"
    incompatible = ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    for name in ("illegal_content_legal_ground", "illegal_content_explanation"):
        _check_conditional_text(statement, name, illegal,
                                "decision_ground is DECISION_GROUND_ILLEGAL_CONTENT", problem)
    for name in ("incompatible_content_ground", "incompatible_content_explanation"):
        _check_conditional_text(statement, name, incompatible,
                                "decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT",
                                problem)
    if present("incompatible_content_illegal"):
        if not incompatible:
            problem("incompatible_content_illegal",
                    "only with decision_ground DECISION_GROUND_INCOMPATIBLE_CONTENT")
        _check_choice(statement, "incompatible_content_illegal", YES_NO, problem)
    if present("decision_ground_reference_url"):
        url = statement["decision_ground_reference_url"]
        if not isinstance(url, str) or not _URL.match(url):
            problem("decision_ground_reference_url", "must be a URL")
        _check_length(statement, "decision_ground_reference_url", problem)

    # Content.
    _check_list(statement, "content_type", CONTENT_TYPES, problem, required=True)
    types = statement.get("content_type") or []
    _check_other(statement, "content_type_other",
                 isinstance(types, list) and "CONTENT_TYPE_OTHER" in types,
                 "CONTENT_TYPE_OTHER is one of content_type", problem)
    _check_choice(statement, "category", STATEMENT_CATEGORIES, problem, required=True)
    _check_list(statement, "category_addition", STATEMENT_CATEGORIES, problem, required=False)
    _check_list(statement, "category_specification", KEYWORDS, problem, required=False)
    if present("category_specification_other"):
        keywords = statement.get("category_specification") or []
        if not (isinstance(keywords, list) and "KEYWORD_OTHER" in keywords):
            problem("category_specification_other",
                    "only when KEYWORD_OTHER is one of category_specification")
        _check_text(statement, "category_specification_other", problem)
    # "This is a required attribute ... countries must be (EU/EEA) countries."
    _check_list(statement, "territorial_scope", EEA_COUNTRIES, problem, required=True)
    if present("content_language"):
        language = statement["content_language"]
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            problem("content_language", "must be an uppercase two-letter ISO 639-1 code")

    # Dates.
    _check_date(statement, "content_date", EARLIEST_CONTENT_DATE, problem, required=True)
    application_date = _check_date(statement, "application_date", EARLIEST_APPLICATION_DATE,
                                   problem, required=True)
    for name, restriction in END_DATES.items():
        if not present(name):
            continue
        end = _check_date(statement, name, None, problem, required=False)
        if end is not None and application_date is not None and end < application_date:
            problem(name, "must be on or after application_date")
        if not present(restriction):
            problem(name, f"an end date needs a restriction in {restriction}")
    # Ours, not the API's: a termination is not temporary, so it cannot end.
    for name, restriction, permanent in (
            ("end_date_account_restriction", "decision_account",
             ("DECISION_ACCOUNT_TERMINATED",)),
            ("end_date_service_restriction", "decision_provision",
             ("DECISION_PROVISION_PARTIAL_TERMINATION", "DECISION_PROVISION_TOTAL_TERMINATION")),
            ("end_date_monetary_restriction", "decision_monetary",
             ("DECISION_MONETARY_TERMINATION",))):
        if present(name) and statement.get(restriction) in permanent:
            problem(name, f"{statement.get(restriction)} is permanent and has no end date")

    # Facts, source, automation, identifier.
    _check_text(statement, "decision_facts", problem, required=True)
    _check_choice(statement, "source_type", SOURCE_TYPES, problem, required=True)
    if present("source_identity"):
        _check_text(statement, "source_identity", problem)
    _check_choice(statement, "automated_detection", YES_NO, problem, required=True)
    _check_choice(statement, "automated_decision", AUTOMATED_DECISIONS, problem, required=True)
    _check_text(statement, "puid", problem, required=True)
    puid = statement.get("puid")
    if isinstance(puid, str) and puid and not _PUID.match(puid):
        problem("puid", "only letters, digits, '-' and '_' are allowed")
    return problems


def _check_choice(statement: Mapping[str, Any], name: str, allowed: Iterable[str],
                  problem: Any, required: bool = False) -> None:
    value = statement.get(name)
    if value in (None, ""):
        if required:
            problem(name, "is required")
        return
    if not isinstance(value, str) or value not in allowed:
        problem(name, f"{value!r} is not an allowed value")


def _check_list(statement: Mapping[str, Any], name: str, allowed: Iterable[str],
                problem: Any, required: bool) -> None:
    value = statement.get(name)
    if value is None:
        if required:
            problem(name, "is required")
        return
    if not isinstance(value, list):
        problem(name, "must be an array")
        return
    if not value:
        if required:
            problem(name, "must list at least one value")
        return
    allowed_set = set(allowed)
    wrong = [item for item in value if not isinstance(item, str) or item not in allowed_set]
    if wrong:
        problem(name, f"{wrong[0]!r} is not an allowed value")
    if len(set(map(str, value))) != len(value):
        problem(name, "lists a value twice")


def _check_text(statement: Mapping[str, Any], name: str, problem: Any,
                required: bool = False) -> None:
    value = statement.get(name)
    if value in (None, ""):
        if required:
            problem(name, "is required")
        return
    if not isinstance(value, str) or not value.strip():
        problem(name, "must be text")
        return
    _check_length(statement, name, problem)


def _check_length(statement: Mapping[str, Any], name: str, problem: Any) -> None:
    value = statement.get(name)
    limit = MAX_CHARS.get(name)
    if isinstance(value, str) and limit is not None and len(value) > limit:
        problem(name, f"is {len(value)} characters long; the limit is {limit}")


def _check_other(statement: Mapping[str, Any], name: str, condition: bool, when: str,
                 problem: Any) -> None:
    if condition:
        _check_text(statement, name, problem, required=True)
    elif statement.get(name) not in (None, ""):
        problem(name, f"only when {when}")


def _check_conditional_text(statement: Mapping[str, Any], name: str, condition: bool,
                            when: str, problem: Any) -> None:
    if condition:
        if statement.get(name) in (None, ""):
            problem(name, f"is required when {when}")
        else:
            _check_text(statement, name, problem)
    elif statement.get(name) not in (None, ""):
        problem(name, f"only when {when}")


def _check_date(statement: Mapping[str, Any], name: str, earliest: date | None,
                problem: Any, required: bool) -> date | None:
    value = statement.get(name)
    if value in (None, ""):
        if required:
            problem(name, "is required")
        return None
    if not isinstance(value, str) or not _DATE.match(value):
        problem(name, "must be a date written YYYY-MM-DD")
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        problem(name, "is not a real date")
        return None
    if earliest is not None and parsed < earliest:
        problem(name, f"must be on or after {earliest.isoformat()}")
    if parsed > LATEST_DATE:
        problem(name, f"must be on or before {LATEST_DATE.isoformat()}")
    return parsed


# -- the mapping ------------------------------------------------------------------------------

TEXT_PLACEHOLDERS = ("policy_code", "policy_name", "action", "surface", "channel",
                     "rationale", "definition")
_RESTRICTION_KEYS = ("decision_visibility", "decision_visibility_other", "decision_monetary",
                     "decision_monetary_other", "decision_provision", "decision_account",
                     "duration_days")
_POLICY_KEYS = ("category", "keywords", "keyword_other", "category_addition", "ground",
                "legal_ground", "also_illegal", "territorial_scope", "actions")


class MappingError(ValueError):
    """The DSA mapping file is wrong; the message names the file and the problem."""


@dataclass(frozen=True)
class Restriction:
    """What an action restricts, as statement fields; `duration_days` for temporary ones."""

    fields: dict[str, Any]
    duration_days: int | None = None


@dataclass(frozen=True)
class PolicyMapping:
    category: str
    keywords: tuple[str, ...]
    keyword_other: str | None
    category_addition: tuple[str, ...]
    ground: str  # "incompatible" or "illegal"
    legal_ground: str | None
    also_illegal: bool
    territorial_scope: str  # "EEA" or "case_region"
    actions: dict[str, Restriction]


@dataclass(frozen=True)
class DsaMapping:
    version: str
    actions: dict[str, Restriction]
    not_exportable: dict[str, str]
    channels: dict[str, dict[str, str]]
    surfaces: dict[str, dict[str, Any]]
    text: dict[str, str]
    policies: dict[str, PolicyMapping]
    source: str = ""

    def restriction(self, policy_code: str, action: str) -> Restriction | None:
        policy = self.policies.get(policy_code)
        if policy is not None and action in policy.actions:
            return policy.actions[action]
        return self.actions.get(action)


def default_mapping_path() -> Path:
    return RESOURCES / "dsa_mapping.toml"


def load_dsa_mapping(path: Path | None = None, taxonomy: Taxonomy | None = None) -> DsaMapping:
    """Read and check the mapping; with `taxonomy`, also that it covers every policy and
    every action a policy allows (either mapped to restrictions or declared not exportable).
    Raises MappingError."""
    path = default_mapping_path() if path is None else Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise MappingError(f"{path}: cannot read the DSA mapping: {error}") from None
    return parse_dsa_mapping(data, str(path), taxonomy)


def parse_dsa_mapping(data: Mapping[str, Any], source: str,
                      taxonomy: Taxonomy | None = None) -> DsaMapping:
    def fail(problem: str) -> Any:
        raise MappingError(f"{source}: {problem}")

    actions = {name: _restriction(raw, f"[actions.{name}]", fail)
               for name, raw in _table(data, "actions", fail).items()}
    not_exportable = {str(k): str(v) for k, v in _table(data, "not_exportable", fail).items()}
    for name in (*actions, *not_exportable):
        if name not in {a.value for a in Action}:
            fail(f"unknown action '{name}'")
    for name in set(actions) & set(not_exportable):
        fail(f"action '{name}' is both mapped and declared not exportable")
    channels: dict[str, dict[str, str]] = {}
    for name, raw in _table(data, "channels", fail).items():
        if name not in {c.value for c in Channel}:
            fail(f"unknown channel '{name}'")
        if raw.get("source_type") not in SOURCE_TYPES:
            fail(f"[channels.{name}] source_type must be one of {', '.join(SOURCE_TYPES)}")
        if raw.get("automated_detection") not in YES_NO:
            fail(f"[channels.{name}] automated_detection must be \"Yes\" or \"No\"")
        channels[name] = {"source_type": raw["source_type"],
                          "automated_detection": raw["automated_detection"]}
    surfaces: dict[str, dict[str, Any]] = {}
    for name, raw in _table(data, "surfaces", fail).items():
        if name not in {s.value for s in Surface}:
            fail(f"unknown surface '{name}'")
        types = raw.get("content_type")
        if not isinstance(types, list) or not types or any(t not in CONTENT_TYPES
                                                           for t in types):
            fail(f"[surfaces.{name}] content_type must list values from "
                 f"{', '.join(CONTENT_TYPES)}")
        if ("CONTENT_TYPE_OTHER" in types) != bool(raw.get("content_type_other")):
            fail(f"[surfaces.{name}] content_type_other goes with CONTENT_TYPE_OTHER")
        surfaces[name] = {"content_type": list(types),
                          "content_type_other": raw.get("content_type_other")}
    text = {str(k): str(v) for k, v in _table(data, "text", fail).items()}
    for key in ("facts", "incompatible_ground", "explanation"):
        if key not in text:
            fail(f"[text] needs '{key}'")
    for key, value in text.items():
        for placeholder in re.findall(r"\{([a-z_]+)\}", value):
            if placeholder not in TEXT_PLACEHOLDERS:
                fail(f"[text] {key}: unknown placeholder {{{placeholder}}}; known: "
                     + ", ".join("{" + p + "}" for p in TEXT_PLACEHOLDERS))
        try:
            check_placeholders(re.sub(r"\{(" + "|".join(TEXT_PLACEHOLDERS) + r")\}", "",
                                      value), f"[text] {key}")
        except ValueError as error:
            fail(str(error))
    policies = {code: _policy_mapping(raw, code, fail)
                for code, raw in _table(data, "policies", fail).items()}
    mapping = DsaMapping(version=str(data.get("version", "")), actions=actions,
                         not_exportable=not_exportable, channels=channels, surfaces=surfaces,
                         text=text, policies=policies, source=source)
    for channel in Channel:
        if channel.value not in channels:
            fail(f"channel '{channel.value}' has no [channels.{channel.value}]")
    for surface in Surface:
        if surface.value not in surfaces:
            fail(f"surface '{surface.value}' has no [surfaces.{surface.value}]")
    if taxonomy is not None:
        _check_coverage(mapping, taxonomy, fail)
    return mapping


def _table(data: Mapping[str, Any], key: str, fail: Any) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        fail(f"'{key}' must be a table")
    return value


def _restriction(raw: Any, where: str, fail: Any) -> Restriction:
    if not isinstance(raw, dict):
        fail(f"{where} must be a table")
    for key in raw:
        if key not in _RESTRICTION_KEYS:
            fail(f"{where}: unknown key '{key}'; valid: {', '.join(_RESTRICTION_KEYS)}")
    fields = {k: v for k, v in raw.items() if k != "duration_days"}
    if "decision_visibility" in fields:
        fields["decision_visibility"] = list(fields["decision_visibility"])
    duration = raw.get("duration_days")
    if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool)
                                 or duration < 1):
        fail(f"{where}: duration_days must be a whole number of days, at least 1")
    sample = {**fields, **_SAMPLE}
    problems = {k: v for k, v in validate_statement(sample).items()
                if k in _RESTRICTION_KEYS or k.startswith("end_date")}
    if problems:
        name, text = next(iter(problems.items()))
        fail(f"{where}: {name} {text}")
    return Restriction(fields=fields, duration_days=duration)


# A valid statement but for its restrictions, to check a restriction on its own.
_SAMPLE = {
    "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "incompatible_content_ground": "x", "incompatible_content_explanation": "x",
    "content_type": ["CONTENT_TYPE_TEXT"], "category": "STATEMENT_CATEGORY_VIOLENCE",
    "territorial_scope": ["DE"], "content_date": "2026-01-01",
    "application_date": "2026-01-01", "decision_facts": "x", "source_type": "SOURCE_VOLUNTARY",
    "automated_detection": "No", "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    "puid": "x",
}


def _policy_mapping(raw: Any, code: str, fail: Any) -> PolicyMapping:
    where = f"[policies.\"{code}\"]"
    if not isinstance(raw, dict):
        fail(f"{where} must be a table")
    for key in raw:
        if key not in _POLICY_KEYS:
            fail(f"{where}: unknown key '{key}'; valid: {', '.join(_POLICY_KEYS)}")
    category = raw.get("category")
    if category not in STATEMENT_CATEGORIES:
        fail(f"{where}: category {category!r} is not a STATEMENT_CATEGORY_* of the API")
    keywords = raw.get("keywords", [])
    if not isinstance(keywords, list) or any(k not in KEYWORDS for k in keywords):
        fail(f"{where}: keywords must list KEYWORD_* values of the API")
    additions = raw.get("category_addition", [])
    if not isinstance(additions, list) or any(c not in STATEMENT_CATEGORIES for c in additions):
        fail(f"{where}: category_addition must list STATEMENT_CATEGORY_* values")
    keyword_other = raw.get("keyword_other")
    if keyword_other is not None and "KEYWORD_OTHER" not in keywords:
        fail(f"{where}: keyword_other goes with KEYWORD_OTHER in keywords")
    ground = raw.get("ground", "incompatible")
    if ground not in ("incompatible", "illegal"):
        fail(f"{where}: ground must be \"incompatible\" or \"illegal\"")
    legal_ground = raw.get("legal_ground")
    if (ground == "illegal") != bool(legal_ground):
        fail(f"{where}: legal_ground is required with ground = \"illegal\", and only then")
    scope = raw.get("territorial_scope", "EEA")
    if scope not in ("EEA", "case_region"):
        fail(f"{where}: territorial_scope must be \"EEA\" or \"case_region\"")
    overrides = raw.get("actions", {})
    if not isinstance(overrides, dict):
        fail(f"{where}: actions must be a table")
    for action in overrides:
        if action not in {a.value for a in Action}:
            fail(f"{where}: unknown action '{action}'")
    return PolicyMapping(
        category=category, keywords=tuple(keywords), keyword_other=keyword_other,
        category_addition=tuple(additions), ground=ground, legal_ground=legal_ground,
        also_illegal=bool(raw.get("also_illegal", False)), territorial_scope=scope,
        actions={name: _restriction(value, f"{where}.actions.{name}", fail)
                 for name, value in overrides.items()},
    )


def _check_coverage(mapping: DsaMapping, taxonomy: Taxonomy, fail: Any) -> None:
    for policy in taxonomy.policies():
        if policy.code not in mapping.policies:
            fail(f"policy {policy.code} has no [policies.\"{policy.code}\"]")
        for action in policy.actions:
            if (mapping.restriction(policy.code, action.value) is None
                    and action.value not in mapping.not_exportable):
                fail(f"action '{action.value}' of {policy.code} is neither mapped nor declared "
                     "in [not_exportable]")
    for code in mapping.policies:
        try:
            taxonomy.policy(code)
        except KeyError:
            fail(f"[policies.\"{code}\"] names a policy the taxonomy does not have")


# -- building statements --------------------------------------------------------------------


class NotExportable(Exception):
    """The decision has no statement of reasons (yet); the message says why."""


def _text_value(value: str) -> str:
    """Text from the case or a reviewer made safe for a statement: no control characters
    (line breaks kept), no surrogates."""
    return "".join(
        ch for ch in value
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    ).strip()


def _fit(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _content_types(mapping: DsaMapping, case: Case,
                   mime_types: Iterable[str]) -> tuple[list[str], str | None]:
    surface = mapping.surfaces[case.surface]
    types = set(surface["content_type"])
    for mime in mime_types:
        kind = mime.split("/", 1)[0]
        types.update({"image": {"CONTENT_TYPE_IMAGE"}, "video": {"CONTENT_TYPE_VIDEO"},
                      "audio": {"CONTENT_TYPE_AUDIO"}}.get(kind, set()))
    return [t for t in CONTENT_TYPES if t in types], surface.get("content_type_other")


def build_statement(
    mapping: DsaMapping,
    taxonomy: Taxonomy,
    *,
    decision: Decision,
    case: Case,
    mime_types: Iterable[str] = (),
    review: SecondReview | None = None,
    superseded: bool = False,
) -> dict[str, Any]:
    """The statement of reasons for one decision; NotExportable says why there is none.

    `review` is the decision's second review, if any; `superseded` whether a later
    decision corrects it. The result is not yet validated: see `validate_statement`.
    """
    if superseded:
        raise NotExportable("superseded by a later decision; that one is exported")
    if decision.conflict:
        raise NotExportable("flagged as a conflict; export it once a lead has resolved it")
    if decision.action in mapping.not_exportable:
        raise NotExportable(mapping.not_exportable[decision.action])
    if decision.requires_second_review:
        if review is None:
            raise NotExportable("waiting for a second reviewer; it has not taken effect")
        if review.verdict != "approved":
            raise NotExportable("rejected by the second reviewer; it never took effect")
    try:
        policy = taxonomy.policy(decision.policy_code)
    except KeyError:
        raise NotExportable(f"policy {decision.policy_code} is not in the taxonomy") from None
    policy_map = mapping.policies.get(decision.policy_code)
    restriction = mapping.restriction(decision.policy_code, decision.action)
    if policy_map is None or restriction is None:
        raise NotExportable(f"no DSA mapping for {decision.policy_code} / {decision.action}")
    if policy_map.territorial_scope == "case_region":
        if case.region not in EEA_COUNTRIES:
            raise NotExportable(f"restricted only in {case.region}, outside the EU/EEA")
        scope = [case.region]
    else:
        scope = list(EEA_COUNTRIES)

    applied = review.created_at if review is not None else decision.created_at
    application = applied.astimezone(UTC).date()
    statement: dict[str, Any] = dict(restriction.fields)
    if restriction.duration_days is not None:
        end = (application + timedelta(days=restriction.duration_days)).isoformat()
        for end_field, restricted in END_DATES.items():
            if statement.get(restricted):
                statement[end_field] = end

    values = _statement_values(policy, decision, case)
    explanation = _fit(fill(mapping.text["explanation"], values), 2000)
    if policy_map.ground == "illegal":
        statement["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        statement["illegal_content_legal_ground"] = _fit(policy_map.legal_ground or "", 500)
        statement["illegal_content_explanation"] = explanation
    else:
        statement["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        statement["incompatible_content_ground"] = _fit(
            fill(mapping.text["incompatible_ground"], values), 500)
        statement["incompatible_content_explanation"] = explanation
        if policy_map.also_illegal:
            statement["incompatible_content_illegal"] = "Yes"
    content_types, content_other = _content_types(mapping, case, mime_types)
    statement["content_type"] = content_types
    if content_other:
        statement["content_type_other"] = _fit(content_other, 500)
    statement["category"] = policy_map.category
    if policy_map.category_addition:
        statement["category_addition"] = list(policy_map.category_addition)
    if policy_map.keywords:
        statement["category_specification"] = list(policy_map.keywords)
    if policy_map.keyword_other:
        statement["category_specification_other"] = _fit(policy_map.keyword_other, 500)
    statement["territorial_scope"] = scope
    if re.fullmatch(r"[a-z]{2}", case.language or ""):
        statement["content_language"] = case.language.upper()
    # The content's own posting date is not known to us; the report is the latest it can be.
    statement["content_date"] = case.reported_at.astimezone(UTC).date().isoformat()
    statement["application_date"] = application.isoformat()
    statement["decision_facts"] = _fit(fill(mapping.text["facts"], values), 5000)
    channel = mapping.channels[case.channel]
    statement["source_type"] = channel["source_type"]
    statement["automated_detection"] = channel["automated_detection"]
    # Every decision here is taken by a person reviewing the case.
    statement["automated_decision"] = "AUTOMATED_DECISION_NOT_AUTOMATED"
    statement["puid"] = str(decision.id)
    return statement


def _statement_values(policy: Policy, decision: Decision, case: Case) -> dict[str, str]:
    def label(enum: Any, value: str) -> str:
        try:
            return str(enum(value).label)
        except ValueError:
            return value

    return {
        "policy_code": policy.code,
        "policy_name": policy.name,
        "definition": policy.definition,
        "action": label(Action, decision.action),
        "surface": label(Surface, case.surface),
        "channel": label(Channel, case.channel),
        "rationale": _text_value(decision.rationale),
    }


# -- exporting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Skipped:
    """A decision with no statement, and why."""

    decision_id: uuid.UUID
    external_ref: str
    policy_code: str
    action: str
    reason: str


@dataclass(frozen=True)
class Invalid:
    """A decision whose statement breaks the API's rules (a mapping mistake)."""

    decision_id: uuid.UUID
    external_ref: str
    problems: dict[str, str]


@dataclass
class ExportResult:
    statements: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every decision that should have a statement got a valid one."""
        return not self.invalid


def collect_statements(session: Session, taxonomy: Taxonomy, mapping: DsaMapping, *,
                       since: datetime, until: datetime | None = None) -> ExportResult:
    """Statements for the decisions made in [since, until), oldest first, validated."""
    statement = select(Decision).where(Decision.created_at >= since)
    if until is not None:
        statement = statement.where(Decision.created_at < until)
    decisions = list(session.scalars(statement.order_by(Decision.created_at, Decision.id)))
    result = ExportResult()
    if not decisions:
        return result
    case_ids = {d.case_id for d in decisions}
    decision_ids = [d.id for d in decisions]
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))}
    mimes: dict[uuid.UUID, list[str]] = {}
    for case_id, mime in session.execute(
            select(MediaItem.case_id, MediaItem.mime_type).where(MediaItem.case_id.in_(case_ids))):
        mimes.setdefault(case_id, []).append(mime)
    reviews: dict[uuid.UUID, SecondReview] = {}
    for review in session.scalars(
            select(SecondReview).where(SecondReview.decision_id.in_(decision_ids))
            .order_by(SecondReview.created_at, SecondReview.id)):
        reviews.setdefault(review.decision_id, review)
    superseded = set(session.scalars(
        select(Decision.supersedes_id).where(Decision.supersedes_id.in_(decision_ids))))
    for decision in decisions:
        case = cases[decision.case_id]
        try:
            built = build_statement(mapping, taxonomy, decision=decision, case=case,
                                    mime_types=mimes.get(case.id, []),
                                    review=reviews.get(decision.id),
                                    superseded=decision.id in superseded)
        except NotExportable as reason:
            result.skipped.append(Skipped(decision.id, case.external_ref, decision.policy_code,
                                          decision.action, str(reason)))
            continue
        problems = validate_statement(built)
        if problems:
            result.invalid.append(Invalid(decision.id, case.external_ref, problems))
        else:
            result.statements.append(built)
    return result


def export_statements(backend: Database, taxonomy: Taxonomy, mapping: DsaMapping, *,
                      since: datetime, until: datetime | None, out: Path,
                      actor_id: uuid.UUID | None, clock: Clock) -> ExportResult:
    """Write the valid statements to `out` as JSON Lines and record the export.

    Reads the backend, which holds every reviewer's synced decisions and second reviews
    (a replica holds only what it pulled, and decisions that may still be withdrawn). The
    file is replaced atomically, and the export is appended to the backend's audit chain
    in the same transaction; if writing the file fails, nothing is recorded.
    """
    with backend.writing() as session:
        result = collect_statements(session, taxonomy, mapping, since=since, until=until)
        lines = "".join(json.dumps(s, ensure_ascii=False, sort_keys=True) + "\n"
                        for s in result.statements).encode("utf-8")
        _write_atomically(out, lines)
        append_audit(
            session, origin=BACKEND_ORIGIN, actor_id=actor_id, kind=AuditKind.EXPORT,
            subject="statements_of_reasons", now=clock.now(), push=False,
            details={"since": since.isoformat(), "until": until.isoformat() if until else None,
                     "file": out.name, "sha256": hashlib.sha256(lines).hexdigest(),
                     "statements": len(result.statements), "not_exported": len(result.skipped),
                     "invalid": len(result.invalid)},
        )
    return result


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
