"""A letter as the e-mail to send (.eml): From the person, To the company's privacy address, the letter as the
text body and its PDF attached. Opened in a mail program, it is a draft the person reviews and sends.

Header values come from crawled data (company names in the subject, contact addresses from contact databases):
a value that is not one syntactically valid address is never put in To, and every header is one line."""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import re
from email.headerregistry import Address
from email.message import EmailMessage

from mouchard.me.model import Letter, Person, file_stem

MAX_SUBJECT = 300  # characters of the Subject header
# One plain address (no display name, no comment, no list): dot-atom local part, LDH domain with a dot.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
                    rf"{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}\Z")


def valid_email(value: object) -> bool:
    """True when `value` is exactly one syntactically valid e-mail address (ASCII, at most 254 characters, local
    part at most 64): no display name, no second address, no CR/LF."""
    if not isinstance(value, str) or len(value) > 254 or not value.isascii():
        return False
    local, _, _ = value.partition("@")
    return len(local) <= 64 and _EMAIL.match(value) is not None


def _one_line(text: str, limit: int) -> str:
    # Every whitespace run (CR, LF, tabs, separators) becomes one space: a header can never gain a line.
    text = " ".join(str(text).split())
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text[:limit]


_NOTES = {
    "fr": "[Note de mouchard, à effacer avant l'envoi : aucune adresse e-mail valide n'a été trouvée pour cette "
          "entreprise ; ajoutez le destinataire vous-même{where}.]",
    "en": "[Note from mouchard, delete before sending: no valid e-mail address was found for this company; add the "
          "recipient yourself{where}.]",
}

_COMPLAINT_NOTES = {
    "fr": "[Note de mouchard, à effacer : une réclamation se dépose sur le formulaire en ligne de l'autorité ou par "
          "courrier, pas par e-mail{where}.]",
    "en": "[Note from mouchard, delete it: a complaint is filed on the authority's online form or by post, not by "
          "e-mail{where}.]",
}


def letter_email(letter: Letter, person: Person, pdf: bytes | None = None, *,
                 now: dt.datetime | None = None) -> bytes:
    """An RFC 5322 message from the person to the letter's recipient (when it is one valid e-mail address), the
    letter as its text/plain body and the PDF attached. Without a valid address there is no To header and the body
    starts with a note saying so. `now` sets the Date header (default: the current time)."""
    message = EmailMessage(policy=email.policy.SMTP)
    name = _one_line(person.name or "", 200)
    if person.email and valid_email(person.email):
        message["From"] = Address(display_name=name, addr_spec=person.email)
    else:
        # No address to write from: the person fills it in; the name alone cannot be a From header.
        message["X-Mouchard-Note"] = "sender address missing"
    body = letter.text
    if letter.recipient and valid_email(letter.recipient):
        message["To"] = letter.recipient
    else:
        where = ""
        if letter.recipient:
            where = (f" (contact connu : {_one_line(letter.recipient, 2000)})" if letter.language == "fr" else
                     f" (known contact: {_one_line(letter.recipient, 2000)})")
        notes = _COMPLAINT_NOTES if letter.kind == "complaint" else _NOTES
        body = notes.get(letter.language, notes["en"]).format(where=where) + "\n\n" + body
    message["Subject"] = _one_line(letter.subject, MAX_SUBJECT)
    moment = now or dt.datetime.now(dt.UTC)
    message["Date"] = email.utils.format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    domain = person.email.rpartition("@")[2] if person.email and valid_email(person.email) else "mouchard.invalid"
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    message["X-Unsent"] = "1"  # mail programs that know it open the file as a draft to send
    # The text may hold anything a crawled value held; unencodable code points are replaced, never raised.
    message.set_content(body.encode("utf-8", "replace").decode("utf-8"), subtype="plain", charset="utf-8")
    if pdf is not None:
        message.add_attachment(bytes(pdf), maintype="application", subtype="pdf", filename=f"{file_stem(letter)}.pdf")
    return message.as_bytes()
