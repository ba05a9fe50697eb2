"""docs/audits.md documents every rule, generated from the rules themselves (never out of date)."""

from pathlib import Path

from audits.docs import DOC, END, START, rules_markdown, updated
from audits.rules import catalogue


def test_docs_list_every_rule_with_its_references():
    text = DOC.read_text(encoding="utf-8")
    for rule in catalogue():
        assert f"### {rule.id}" in text, rule.id
        assert f"severity {rule.severity}" in text
        for reference in rule.legal.values():
            assert reference in text, (rule.id, reference)


def test_generated_rule_catalogue_is_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    assert updated(text) == text, "run `python -m audits.docs` to regenerate docs/audits.md"
    assert text.count(START) == 1 and text.count(END) == 1
    assert rules_markdown() in text


def test_docs_live_where_the_generator_writes():
    assert DOC == Path(__file__).resolve().parents[1] / "docs" / "audits.md"
