"""Find a planted phone number however a person or an app wrote it: any grouping, any separator.

`+33 6 87 41 29 53`, `06.87.41.29.53`, `+33 (0)6 87 41 29 53`, `0033 687 412 953`, `(0)6-87-41-29-53`,
`+33 6 87 41 29 53` with no-break spaces...: too many spellings to enumerate as needles. The finder reads every
phone-like run of the text instead — digits joined by at most one separator (space, no-break or narrow no-break
space, `.`, `-`, `/`, a Unicode hyphen or en dash) or by parentheses with a space on either side, optionally
opened by `+` or `(` — strips the separators and compares the digits with the number's digit forms:

    label           digits of +33 6 87 41 29 53    written as
    ""              +33687412953                   +33 6 87 41 29 53 (E.164 with separators)
    intl-trunk      +330687412953                  +33 (0)6 87 41 29 53
    digits          33687412953                    33 6 87 41 29 53
    digits-trunk    330687412953                   33 (0)6 87 41 29 53
    intl-00         0033687412953                  0033 6 87 41 29 53
    intl-00-trunk   00330687412953                 0033 (0)6 87 41 29 53
    national        0687412953                     06 87 41 29 53, (06) 87-41-29-53
    nsn             687412953                      6 87 41 29 53 (countries with a trunk 0 only)

A run is read whole (possessive, not backtracked): a number inside a longer run of digits and separators is not
the number ("06 87 41 29 53 1" is eleven digits), and nothing starts right after a digit. A run with no
separator is left to the multi-pattern search when it is one of the needles (`identifiers.normal_forms`); the
finder reports only what the needles cannot see. Hashed forms (Meta: digits with the country code, SHA-256;
Google enhanced conversions and TikTok: E.164 with +, SHA-256) are needles: a hash has no separators.

Each run read costs a step of the `Budget`, and the text its length in bytes (the multi-pattern search charges
it separately): the finder stops where the budget runs out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mouchard.budget import Budget
from mouchard.identify.identifiers import normal_forms, split_e164, trunk_prefix

PHONE_KINDS = ("phone",)
STEP = "written"  # the chain step of a number found by the finder: "written>national"
MAX_DIGITS = 20  # E.164 has at most 15; with "00", a trunk "0" and slack
MIN_DIGITS = 7
# The detector's text is UTF-8 read as Latin-1 (one character per byte): Unicode separators are byte sequences.
_SPACE = r"(?:[ \t]|\xc2\xa0|\xe2\x80[\x89\xaf])"  # space, tab, no-break, thin, narrow no-break
_DASH = r"(?:[-./]|\xe2\x80[\x90\x91\x93])"  # - . / hyphen, non-breaking hyphen, en dash
_SEP = rf"(?:{_SPACE}?[()]{{1,2}}(?:{_SPACE}|{_DASH})?|{_SPACE}|{_DASH})"
_RUN = re.compile(rf"(?<![\d+])\(?\+?\d(?:{_SEP}?\d){{{MIN_DIGITS - 1},}}+")
_NOT_DIGIT = re.compile(r"\D")


@dataclass(frozen=True)
class PhoneHit:
    """A planted number found in text: where, which value (`index`), and how it was written (`steps`)."""

    start: int
    end: int
    index: int
    steps: tuple[str, ...]


def digit_forms(number: str) -> dict[tuple[bool, str], str]:
    """{(written with '+', digits): label} of an E.164 number (see the module docstring's table)."""
    digits = _NOT_DIGIT.sub("", number)
    code, national = split_e164("+" + digits)
    trunk = trunk_prefix(code)
    forms = {(True, code + national): "", (False, code + national): "digits", (False, "00" + code + national):
             "intl-00", (False, trunk + national): "national"}
    if trunk:
        forms.update({(True, code + trunk + national): "intl-trunk", (False, code + trunk + national): "digits-trunk",
                      (False, "00" + code + trunk + national): "intl-00-trunk", (False, national): "nsn"})
    return forms


class PhoneFinder:
    """Finds the planted numbers in text as described in the module docstring."""

    def __init__(self, numbers: Sequence[str]):
        self._forms: dict[tuple[bool, str], tuple[int, str]] = {}
        self._needles: set[str] = set()  # compact spellings the multi-pattern search already finds
        for index, number in enumerate(numbers):
            if not number or not _NOT_DIGIT.sub("", number):
                continue
            for key, label in digit_forms(number).items():
                self._forms.setdefault(key, (index, label))
            self._needles.update(form for _, form in normal_forms("phone", number))
        self._last_digits = frozenset(digits[-1] for _, digits in self._forms)

    @classmethod
    def for_needles(cls, needles: Mapping[str, Sequence[str]]) -> "PhoneFinder | None":
        """A finder for the phone kinds of a detector's needles, or None when there are none."""
        numbers = [v for kind in PHONE_KINDS for v in needles.get(kind) or ()]
        return cls(numbers) if numbers else None

    def find(self, hay: str, budget: Budget | None = None) -> list[PhoneHit]:
        """Every planted number written in `hay` (text in the detector's representation, `leakdetect.as_hay`)."""
        # every written form ends with the number's last digit: most texts are out before the regex
        if len(hay) < MIN_DIGITS or not any(d in hay for d in self._last_digits):
            return []
        budget = budget if budget is not None else Budget.for_input(len(hay))
        if not budget.spend(bytes=len(hay)):
            return []
        hits = []
        for m in _RUN.finditer(hay):
            if not budget.spend(steps=1):
                break
            run = m[0]
            if len(run) > 4 * MAX_DIGITS or run in self._needles:  # a run of thousands of digits is no number
                continue
            digits = _NOT_DIGIT.sub("", run)
            if len(digits) > MAX_DIGITS:
                continue
            found = self._forms.get(("+" in run, digits))
            if found is not None:
                index, label = found
                hits.append(PhoneHit(m.start(), m.end(), index, (STEP, label) if label else (STEP,)))
        return hits

    def spans(self, hay: str, budget: Budget | None = None) -> Iterable[tuple[int, int]]:
        """(start, end) of every number found, for redaction."""
        return [(h.start, h.end) for h in self.find(hay, budget)]
