"""Documentation contracts: the README documents every command and option, and opens with the two set-up commands."""

from pathlib import Path

from mouchard.commands import clidoc

ROOT = Path(__file__).resolve().parents[1]


def test_readme_command_reference_is_current():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert clidoc.current_block(text) == clidoc.reference(), "run: python -m mouchard.commands.clidoc"


def test_readme_opens_with_the_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "demo: setup" in makefile and "test: setup" in makefile


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_changelog_exists_with_schema_lines():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "Schema:" in text
