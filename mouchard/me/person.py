"""The person's file (`me.yml`): who the letters are from, and their own values, in the device profile's format.

    person:
      name: Jean Dupont-Mouchard
      email: jean.dupont.mouchard@example.org       # where companies should answer
      postal_address: "12 rue de l'Exemple\\n75007 Paris"
      country: FR                                    # the authority a complaint goes to (CNIL for FR)
      region: ""                                     # CA for a California resident (CCPA letters)
      language: fr                                   # fr or en
    identifiers: {advertising_id: ..., email: ..., phone: ...}   # as in a device profile (docs/proxy.md)
    location: {lat: 48.85837, lon: 2.29448, radius_m: 200}

Everything but `person` is a device profile (mouchard.identify.profile): the values searched for in the traffic.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mouchard.errors import UserError
from mouchard.identify.profile import DeviceProfile, parse_profile
from mouchard.me.mail import valid_email
from mouchard.me.model import LANGUAGES, Person

PERSON_KEYS = ("name", "email", "postal_address", "country", "region", "language")
TEXT_LIMIT = 400
_COUNTRY = re.compile(r"[A-Z]{2}\Z")


def _text(value: object, key: str, source: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise UserError(f"{source}: person.{key} is required")
        return None
    if not isinstance(value, str) or len(value) > TEXT_LIMIT or "\x00" in value:
        raise UserError(f"{source}: person.{key} must be text of at most {TEXT_LIMIT} characters")
    return value.strip()


def parse_person(data: object, source: str = "me.yml") -> tuple[Person, DeviceProfile]:
    """Validate the mapping of a `me.yml` file; raises UserError with one line on any problem."""
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping with a 'person' section")
    details = data.get("person")
    if not isinstance(details, dict):
        raise UserError(f"{source}: expected a 'person' section (name, email, postal_address, country, language)")
    unknown = sorted(str(k) for k in details if k not in PERSON_KEYS)
    if unknown:
        raise UserError(f"{source}: unknown key person.{repr(unknown[0])[1:-1][:40]} (expected one of {', '.join(PERSON_KEYS)})")
    name = _text(details.get("name"), "name", source, required=True)
    email = _text(details.get("email"), "email", source)
    if email and not valid_email(email):  # the letters' From: and Reply-To: the one check mail.py makes
        raise UserError(f"{source}: person.email is not an e-mail address")
    country = (_text(details.get("country"), "country", source) or "FR").upper()
    if not _COUNTRY.match(country):
        raise UserError(f"{source}: person.country must be a two-letter country code (FR, BE, DE...)")
    region = _text(details.get("region"), "region", source)
    language = (_text(details.get("language"), "language", source) or "fr").lower()
    if language not in LANGUAGES:
        raise UserError(f"{source}: person.language must be one of {', '.join(LANGUAGES)}")
    profile = parse_profile({k: v for k, v in data.items() if k != "person"}, source=source)
    position = (profile.position.lat, profile.position.lon) if profile.position else None
    address = _text(details.get("postal_address"), "postal_address", source)
    person = Person(name=name, email=email, postal_address=address, country=country,
                    region=region.upper() if region else None, language=language,
                    identifiers=profile.identifiers, position=position, profile=profile.as_data())
    return person, profile


def load_person(path: str | Path) -> tuple[Person, DeviceProfile]:
    """Read `me.yml`: the person and their values as a device profile."""
    import yaml

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {file}: {exc}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{file} is not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return parse_person(data, source=str(file))


def person_from_row(row: dict) -> Person:
    """The Person of a me_person row (mouchard.storage.private.person_row)."""
    profile = row.get("profile") or {}
    if isinstance(profile, str):
        profile = json.loads(profile or "{}")
    parsed = parse_profile(profile, source="me_person.profile") if profile else DeviceProfile()
    position = (parsed.position.lat, parsed.position.lon) if parsed.position else None
    return Person(name=row.get("name") or "", email=row.get("email"), postal_address=row.get("postal_address"),
                  country=row.get("country") or "FR", region=row.get("region"), language=row.get("language") or "fr",
                  identifiers=parsed.identifiers, position=position, profile=profile)


def as_person_fields(person: Person) -> dict:
    return {key: getattr(person, key) for key in PERSON_KEYS}
