"""Domain events, handled inside the unit of work that caused them.

Counters (metrics) and push delivery jobs subscribe here, so what they record commits or rolls
back together with the message itself and never disagrees with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from axis.adapters.tables import Delivery, Message


@dataclass(frozen=True)
class MessageAccepted:
    """Handlers read attributes only: the message and its deliveries are rows already inserted
    in the unit of work (as transient objects, outside the session; a delivery's seq may be
    None: not read back)."""

    message: Message  # an edoc or a status package
    deliveries: list[Delivery]
    prepared: dict = field(default_factory=dict, compare=False, repr=False)  # see EventBus
    # False: nobody is handed a receipt for it (the status 01 an acknowledgement makes, whose
    # own signed receipt proves it), so none is signed
    answered: bool = True


@dataclass(frozen=True)
class MessageRejected:
    """A package refused with a 4xx. Recorded in its own small transaction."""

    sender_code: str | None
    http_status: int
    finding_codes: list[str]
    size: int
    at: datetime


@dataclass(frozen=True)
class Acknowledged:
    """`message` and `delivery` are read-only rows (one row of the acknowledgement's query
    may serve as both: id, kind, document_id, received_at; seq, recipient_code)."""

    message: Message
    delivery: Delivery
    at: datetime
    prepared: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class StatusRecorded:
    document_message: Message | None  # the document the status is about
    status_message: Message
    agency_code: str  # who sent the status
    code: str
    at: datetime
    timeline: tuple = ()  # the status's timeline lines, rows already inserted (as new_row objects)
    prepared: dict = field(default_factory=dict, compare=False, repr=False)


Event = MessageAccepted | MessageRejected | Acknowledged | StatusRecorded
Handler = Callable[[Session, Event], None]
Preparer = Callable[[Event], None]
E = TypeVar("E", bound=Event)


@dataclass
class EventBus:
    """`publish` runs the handlers inside the unit of work. `prepare`, called by a use case
    on an event made before its unit of work, lets a subscriber do there what needs no
    database (the evidence log's hashing and signing): SQLite writers take turns, and work
    done inside the turn holds every other writer back. A preparer leaves what it made in
    `event.prepared`; its handler uses it, or does the work itself for an event that was
    not prepared."""

    handlers: dict[type, list[Handler]] = field(default_factory=lambda: defaultdict(list))
    preparers: dict[type, list[Preparer]] = field(default_factory=lambda: defaultdict(list))

    def subscribe(
        self, event_type: type, handler: Handler, prepare: Preparer | None = None
    ) -> None:
        self.handlers[event_type].append(handler)
        if prepare is not None:
            self.preparers[event_type].append(prepare)

    def prepare(self, event: E) -> E:
        for preparer in self.preparers.get(type(event), ()):
            preparer(event)
        return event

    def wants(self, event_type: type) -> bool:
        return bool(self.handlers.get(event_type))

    def publish(self, session: Session, event: Event) -> None:
        for handler in self.handlers.get(type(event), ()):
            handler(session, event)
