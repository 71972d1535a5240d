"""A shop's customers as every plugin sees them: how phone numbers are matched, and
whom a platform asked to forget.

Plugins keep customers' numbers in their own tables (orders, calls). They all
match them on :func:`phone_key`, so a caller, an order and a redaction request
name the same person the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def phone_key(value: str | None) -> str:
    """The last 9 digits of a phone number: ``+49 151 2345-678`` and ``0151 2345678`` match.
    Fewer than 6 digits is no number: ``""``."""
    digits = re.sub(r"\D", "", value or "")
    return digits[-9:] if len(digits) >= 6 else ""


@dataclass(frozen=True)
class CustomerContacts:
    """Phone numbers and e-mail addresses a plugin knows for a customer
    (the ``customer_contacts`` hook)."""

    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class RedactedCustomer:
    """Whom a platform asked to forget (``customer_redacted`` hook): their phone numbers,
    e-mail addresses and orders (platform-qualified ids, ``shopify:450789469``), as the
    platform names them, and ``known``: the contacts plugins keep for them
    (``customer_contacts``), such as the numbers on their orders."""

    platform: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    order_ids: tuple[str, ...]
    known: CustomerContacts = CustomerContacts()

    def with_contacts(self, contacts: list[CustomerContacts]) -> RedactedCustomer:
        """This customer with the contacts plugins know added to ``known``, each once."""
        phones = dict.fromkeys([*self.known.phones, *(p for c in contacts for p in c.phones)])
        emails = dict.fromkeys([*self.known.emails, *(e for c in contacts for e in c.emails)])
        known = CustomerContacts(tuple(phones), tuple(emails))
        return RedactedCustomer(self.platform, self.phones, self.emails, self.order_ids, known)

    @property
    def all_phones(self) -> tuple[str, ...]:
        """The platform's numbers and the known ones, each once."""
        return tuple(dict.fromkeys([*self.phones, *self.known.phones]))
