"""A stored message with its parts, read in one session and detached from it: what the read
API's detail and downloads (and so the UI's message page) start from."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from service.store.messages import get_message, list_attachments
from service.store.models import Attachment, Message


def message_with_attachments(engine: Engine, message_id: str) -> tuple[Message, list[Attachment]] | None:
    """The message and its attachment rows in position order; ``None`` if there is no such message."""
    with Session(engine) as session:
        message = get_message(session, message_id)
        if message is None:
            return None
        attachments = list_attachments(session, message_id)
        session.expunge_all()
    return message, attachments
