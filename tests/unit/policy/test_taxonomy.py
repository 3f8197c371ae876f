"""The policy taxonomy: the shipped file, the questions the enforcement panel asks of it, and
the `file:line: problem` errors a policy lead sees after a mistake in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.policy.taxonomy import (
    BlurPreset,
    Taxonomy,
    TaxonomyError,
    default_taxonomy_path,
    load_taxonomy,
    parse_taxonomy,
)
from reviewer.vocabulary import Action, Surface

SHIPPED_AREAS = [
    "violence_graphic",
    "hate_speech",
    "bullying_harassment",
    "adult_nudity",
    "child_safety",
    "dangerous_orgs",
    "suicide_self_injury",
    "spam_fraud",
    "intellectual_property",
    "advertising",
    "commerce",
    "legal_regulatory",
]

ENFORCEMENT_ACTIONS = set(Action) - {Action.NO_VIOLATION, Action.ESCALATE}


@pytest.fixture(scope="module")
def shipped() -> Taxonomy:
    return load_taxonomy()


# --- The shipped taxonomy -----------------------------------------------------------------


def test_shipped_file_is_found_next_to_the_package() -> None:
    path = default_taxonomy_path()
    assert path.parts[-2:] == ("resources", "policies.toml")
    assert path.is_file()


def test_shipped_taxonomy_has_every_policy_area(shipped: Taxonomy) -> None:
    assert shipped.version == "2026.11"
    assert shipped.area_codes() == tuple(SHIPPED_AREAS)
    assert shipped.severe_actions == (Action.DISABLE_ACCOUNT,)
    assert shipped.source == str(default_taxonomy_path())
    assert 36 <= len(shipped.policies()) <= 48
    for area in shipped.areas:
        assert 2 <= len(area.policies) <= 5, area.code
        assert all(policy.area_code == area.code for policy in area.policies)


def test_shipped_area_wellness_and_offline_settings(shipped: Taxonomy) -> None:
    assert shipped.area("child_safety").blur_preset is BlurPreset.STRONG
    assert shipped.area("violence_graphic").blur_preset is BlurPreset.STRONG
    assert shipped.area("suicide_self_injury").blur_preset is BlurPreset.STRONG
    assert shipped.area("spam_fraud").blur_preset is BlurPreset.NONE
    assert shipped.area("intellectual_property").blur_preset is BlurPreset.NONE
    assert [a.code for a in shipped.areas if a.never_offline] == ["child_safety"]
    graphic = {a.code for a in shipped.areas if a.graphic}
    assert {"violence_graphic", "child_safety", "suicide_self_injury"} <= graphic
    assert not graphic & {"spam_fraud", "intellectual_property", "advertising", "commerce"}


def test_every_shipped_policy_can_be_cleared_or_escalated(shipped: Taxonomy) -> None:
    for policy in shipped.policies():
        assert Action.NO_VIOLATION in policy.actions, policy.code
        assert Action.ESCALATE in policy.actions, policy.code
        assert 1 <= policy.severity <= 5


def test_ad_policies_apply_only_to_ads(shipped: Taxonomy) -> None:
    ad_policies = shipped.area("advertising").policies
    assert [p.code for p in ad_policies] == ["ADS-1", "ADS-2", "ADS-3", "ADS-4"]
    assert all(p.surfaces == (Surface.AD,) for p in ad_policies)
    on_posts = {p.code for p in shipped.policies_for_surface(Surface.ORGANIC_POST)}
    assert not on_posts & {"ADS-1", "ADS-2", "ADS-3", "ADS-4"}
    on_ads = [p.code for p in shipped.policies_for_surface(Surface.AD)]
    assert on_ads[-7:-3] == ["ADS-1", "ADS-2", "ADS-3", "ADS-4"]
    assert "VGC-1" in on_ads  # general Community Standards apply to ads too


def test_commerce_policies_apply_only_to_listings(shipped: Taxonomy) -> None:
    listings = [p.code for p in shipped.policies_for_surface("commerce_listing")]
    assert {"COM-1", "COM-2", "COM-3"} <= set(listings)
    for surface in set(Surface) - {Surface.COMMERCE_LISTING}:
        codes = {p.code for p in shipped.policies_for_surface(surface)}
        assert not codes & {"COM-1", "COM-2", "COM-3"}, surface


def test_surface_filter_keeps_file_order(shipped: Taxonomy) -> None:
    in_file_order = [p.code for p in shipped.policies() if Surface.ACCOUNT in p.surfaces]
    assert [p.code for p in shipped.policies_for_surface(Surface.ACCOUNT)] == in_file_order
    assert [p.code for p in shipped.policies_for_surface(Surface.ACCOUNT)][:3] == [
        "VGC-1",
        "VGC-2",
        "VGC-3",
    ]


def test_unknown_surface_is_rejected(shipped: Taxonomy) -> None:
    with pytest.raises(ValueError):
        shipped.policies_for_surface("newsfeed")


def test_allowed_actions_are_in_vocabulary_order(shipped: Taxonomy) -> None:
    assert shipped.allowed_actions("ADS-2") == (
        Action.NO_VIOLATION,
        Action.REMOVE,
        Action.AGE_RESTRICT,
        Action.REQUEST_INFO,
        Action.ESCALATE,
    )
    assert shipped.policy("ADS-2").allows("age_restrict")
    assert not shipped.policy("ADS-2").allows(Action.DISABLE_ACCOUNT)
    assert shipped.policy("ADS-2").applies_to("ad")
    assert not shipped.policy("ADS-2").applies_to(Surface.MESSAGE)
    assert shipped.allowed_actions("CS-4") == (
        Action.NO_VIOLATION,
        Action.DISABLE_ACCOUNT,
        Action.ESCALATE,
    )


def test_unknown_codes_raise_key_error(shipped: Taxonomy) -> None:
    with pytest.raises(KeyError, match="XX-9"):
        shipped.policy("XX-9")
    with pytest.raises(KeyError, match="nope"):
        shipped.area("nope")
    with pytest.raises(KeyError):
        shipped.allowed_actions("XX-9")


def test_disabling_an_account_always_needs_a_second_reviewer(shipped: Taxonomy) -> None:
    allowing = [p for p in shipped.policies() if Action.DISABLE_ACCOUNT in p.actions]
    assert len(allowing) > 20
    for policy in allowing:
        assert shipped.requires_second_review(policy.code, Action.DISABLE_ACCOUNT), policy.code


def test_child_safety_needs_a_second_reviewer_for_every_enforcement(shipped: Taxonomy) -> None:
    for policy in shipped.area("child_safety").policies:
        for action in ENFORCEMENT_ACTIONS & set(policy.actions):
            assert shipped.requires_second_review(policy.code, action), (policy.code, action)
        assert not shipped.requires_second_review(policy.code, Action.NO_VIOLATION)
    assert shipped.requires_second_review("CS-3", "mark_disturbing")


def test_ordinary_removal_needs_no_second_reviewer(shipped: Taxonomy) -> None:
    assert not shipped.requires_second_review("VGC-1", Action.REMOVE)
    assert not shipped.requires_second_review("SF-3", "remove")
    assert shipped.requires_second_review("LEG-1", Action.REMOVE)
    # An action the policy does not allow cannot be taken, so it never waits for approval.
    assert not shipped.requires_second_review("VGC-2", Action.DISABLE_ACCOUNT)


# --- Validation errors --------------------------------------------------------------------

VALID = """\
version = "test"
severe_actions = ["disable_account"]

[[areas]]
code = "spam"
name = "Spam"
description = "Junk."
blur_preset = "none"
graphic = false
never_offline = false

[[areas.policies]]
code = "SP-1"
name = "Spam"
definition = \"\"\"Repetitive junk.
severity = 5 is text inside a multi-line string, not a key.\"\"\"
severity = 1
actions = [
    "no_violation",
    "remove",
    "disable_account",
    "escalate",
]
surfaces = ["organic_post", "message"]
second_review_actions = ["disable_account"]

[[areas.policies]]
code = "SP-2"
name = "Fake engagement"
definition = "Bought likes."
severity = 2
actions = ["no_violation", "remove", "escalate"]  # no account action
surfaces = ["organic_post"]
second_review_actions = []

[[areas]]
code = "ads"
name = "Ads"
description = "Ad policies."
blur_preset = "standard"
graphic = false
never_offline = false

[[areas.policies]]
code = "AD-1"
name = "Prohibited ad"
definition = "Ads for weapons."
severity = 3
actions = ["no_violation", "remove", "escalate"]
surfaces = ["ad"]
second_review_actions = []
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based number of the line holding the `occurrence`-th `needle`."""
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(numbers) >= occurrence, f"{needle!r} not in the test document"
    return numbers[occurrence - 1]


def edited(old: str, new: str, count: int = 1) -> str:
    assert VALID.count(old) >= count, old
    return VALID.replace(old, new, count)


def parse_error(text: str) -> TaxonomyError:
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy(text, "policies.toml")
    return caught.value


def test_the_test_document_is_valid() -> None:
    taxonomy = parse_taxonomy(VALID, "policies.toml")
    assert [p.code for p in taxonomy.policies()] == ["SP-1", "SP-2", "AD-1"]
    assert taxonomy.policy("SP-1").definition.startswith("Repetitive junk.\nseverity =")
    assert [p.code for p in taxonomy.policies_for_surface("ad")] == ["AD-1"]


def test_error_text_is_source_line_problem() -> None:
    error = TaxonomyError("resources/policies.toml", 12, "something is wrong")
    assert str(error) == "resources/policies.toml:12: something is wrong"
    assert (error.source, error.line, error.problem) == (
        "resources/policies.toml",
        12,
        "something is wrong",
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert caught.value.line == 0
    assert str(caught.value) == f"{path}:0: file not found"


def test_load_reads_a_given_file(tmp_path: Path) -> None:
    path = tmp_path / "policies.toml"
    path.write_text(VALID, encoding="utf-8")
    taxonomy = load_taxonomy(path)
    assert taxonomy.source == str(path)
    assert taxonomy.area_codes() == ("spam", "ads")


def test_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policies.toml"
    path.write_text(edited("severity = 3", "severity = 9"), encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert str(caught.value).startswith(f"{path}:{line_of(VALID, 'severity = 3')}: ")


def test_toml_syntax_error_reports_tomllib_line() -> None:
    text = edited('name = "Fake engagement"', 'name = "Fake engagement')
    error = parse_error(text)
    assert error.line == line_of(text, 'name = "Fake engagement')
    assert error.problem.startswith("TOML syntax error: ")
    assert "column" in error.problem


def test_toml_syntax_error_at_end_of_file() -> None:
    text = VALID + 'broken = """never closed\n'
    error = parse_error(text)
    assert error.line == len(text.splitlines())
    assert "end of file" in error.problem


def test_missing_top_level_key() -> None:
    error = parse_error(edited('version = "test"\n', ""))
    assert error.line == 1
    assert "missing required key 'version'" in error.problem


def test_missing_policy_key_points_at_the_policy_table() -> None:
    text = edited('name = "Fake engagement"\n', "")
    error = parse_error(text)
    assert error.line == line_of(text, "[[areas.policies]]", occurrence=2)
    assert error.problem == "policy 'SP-2' is missing required key 'name'"


def test_missing_area_key_points_at_the_area_table() -> None:
    text = edited('blur_preset = "standard"\n', "")
    error = parse_error(text)
    assert error.line == line_of(text, "[[areas]]", occurrence=2)
    assert error.problem == "area 'ads' is missing required key 'blur_preset'"


def test_wrong_type() -> None:
    text = edited("severity = 2", 'severity = "high"')
    error = parse_error(text)
    assert error.line == line_of(text, 'severity = "high"')
    assert error.problem == "'severity' in policy 'SP-2' must be an integer, not a string"


def test_boolean_is_not_a_severity() -> None:
    error = parse_error(edited("severity = 2", "severity = true"))
    assert error.line == line_of(VALID, "severity = 2")
    assert "must be an integer, not a boolean" in error.problem


def test_wrong_type_for_a_flag() -> None:
    text = edited("graphic = false", 'graphic = "no"')
    error = parse_error(text)
    assert error.line == line_of(text, 'graphic = "no"')
    assert "'graphic' in area 'spam' must be a boolean" in error.problem


def test_unknown_key_is_reported_where_it_is_typed() -> None:
    text = edited("second_review_actions = []", "second_review = []")
    error = parse_error(text)
    assert error.line == line_of(text, "second_review = []")
    assert "unknown key 'second_review' in policy 'SP-2'" in error.problem


def test_unknown_action_points_at_the_value_inside_a_multiline_array() -> None:
    text = edited('    "remove",\n', '    "delete",\n')
    error = parse_error(text)
    assert error.line == line_of(text, '"delete",')
    assert "unknown action 'delete'" in error.problem
    assert "policy 'SP-1'" in error.problem
    valid = error.problem.split("valid actions: ")[1]
    assert valid.split(", ") == [action.value for action in Action]


def test_unknown_surface_names_the_value_and_lists_valid_ones() -> None:
    text = edited('surfaces = ["ad"]', 'surfaces = ["banner"]')
    error = parse_error(text)
    assert error.line == line_of(text, 'surfaces = ["banner"]')
    assert "unknown surface 'banner' in 'surfaces' of policy 'AD-1'" in error.problem
    assert "organic_post, ad, commerce_listing, account, message" in error.problem


def test_unknown_severe_action() -> None:
    text = edited('severe_actions = ["disable_account"]', 'severe_actions = ["ban"]')
    error = parse_error(text)
    assert error.line == 2
    assert "unknown action 'ban'" in error.problem


def test_duplicate_action_in_a_list() -> None:
    text = edited('surfaces = ["organic_post"]', 'surfaces = ["organic_post", "organic_post"]')
    error = parse_error(text)
    assert error.line == line_of(text, 'surfaces = ["organic_post", "organic_post"]')
    assert "lists 'organic_post' twice" in error.problem


@pytest.mark.parametrize("severity", [0, 6, -1])
def test_severity_out_of_range(severity: int) -> None:
    text = edited("severity = 3", f"severity = {severity}")
    error = parse_error(text)
    assert error.line == line_of(text, f"severity = {severity}")
    assert error.problem == (
        f"severity {severity} of policy 'AD-1' is out of range: it must be from 1 to 5"
    )


def test_duplicate_policy_code_points_at_the_second_one() -> None:
    text = edited('code = "AD-1"', 'code = "SP-2"')
    error = parse_error(text)
    assert error.line == line_of(text, 'code = "SP-2"', occurrence=2)
    first = line_of(text, 'code = "SP-2"')
    assert error.problem == f"duplicate policy code 'SP-2' (first defined on line {first})"


def test_duplicate_area_code_points_at_the_second_one() -> None:
    text = edited('code = "ads"', 'code = "spam"')
    error = parse_error(text)
    assert error.line == line_of(text, 'code = "spam"', occurrence=2)
    first = line_of(text, 'code = "spam"')
    assert error.problem == f"duplicate area code 'spam' (first defined on line {first})"


def test_second_review_action_must_be_allowed() -> None:
    text = edited(
        'second_review_actions = ["disable_account"]',
        'second_review_actions = ["disable_account", "age_restrict"]',
    )
    error = parse_error(text)
    assert error.line == line_of(text, '"age_restrict"]')
    assert "lists 'age_restrict', which is not in its actions" in error.problem
    assert "policy 'SP-1'" in error.problem


def test_severe_action_must_need_second_review() -> None:
    text = edited('second_review_actions = ["disable_account"]', "second_review_actions = []")
    error = parse_error(text)
    assert error.line == line_of(VALID, 'second_review_actions = ["disable_account"]')
    assert "policy 'SP-1' allows 'disable_account', a severe action" in error.problem


def test_policy_must_allow_clearing_and_escalating() -> None:
    text = edited('actions = ["no_violation", "remove", "escalate"]', 'actions = ["remove"]')
    error = parse_error(text)
    assert error.line == line_of(text, 'actions = ["remove"]')
    assert error.problem == "actions of policy 'SP-2' must include 'no_violation' and 'escalate'"


def test_area_without_policies() -> None:
    text = VALID + (
        "\n[[areas]]\n"
        'code = "empty"\n'
        'name = "Empty"\n'
        'description = "Nothing yet."\n'
        'blur_preset = "none"\n'
        "graphic = false\n"
        "never_offline = false\n"
    )
    error = parse_error(text)
    assert error.line == line_of(text, "[[areas]]", occurrence=3)
    assert "area 'empty' has no policies" in error.problem


def test_unknown_blur_preset() -> None:
    text = edited('blur_preset = "standard"', 'blur_preset = "extreme"')
    error = parse_error(text)
    assert error.line == line_of(text, 'blur_preset = "extreme"')
    assert error.problem == (
        "unknown blur_preset 'extreme' in area 'ads'; valid presets: strong, standard, none"
    )


def test_key_text_inside_a_multiline_string_is_not_taken_for_the_key() -> None:
    text = edited("severity = 1\n", "severity = 8\n")
    error = parse_error(text)
    assert error.line == line_of(text, "severity = 8")
    assert error.line != line_of(text, "severity = 5 is text")
    assert "severity 8 of policy 'SP-1' is out of range" in error.problem


def test_misspelt_table_header_is_reported_at_the_header() -> None:
    text = edited('[[areas]]\ncode = "ads"', '[[area]]\ncode = "ads"')
    error = parse_error(text)
    assert error.line == line_of(text, "[[area]]")
    assert "unknown key 'area'" in error.problem
    assert "valid keys: version, severe_actions, areas" in error.problem


def test_inline_policies_are_reported_at_the_policies_key() -> None:
    text = (
        'version = "x"\n'
        "severe_actions = []\n"
        "[[areas]]\n"
        'code = "a"\n'
        'name = "A"\n'
        'description = "An area."\n'
        'blur_preset = "none"\n'
        "graphic = false\n"
        "never_offline = false\n"
        "policies = [\n"
        '  { code = "A-1", name = "N", definition = "D.", severity = 9, '
        'actions = ["no_violation", "escalate"], surfaces = ["ad"], '
        "second_review_actions = [] },\n"
        "]\n"
    )
    error = parse_error(text)
    assert error.line == 10
    assert "severity 9 of policy 'A-1' is out of range" in error.problem
