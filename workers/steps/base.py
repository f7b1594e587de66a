"""The contract every pipeline step implements, and the errors that steer retries.

A step is one small module: a ``Step`` subclass generic over the pydantic model of its YAML
parameters (``Step[SlackParams]``), with a ``name`` and ``run``. The engine records each run; a
step that succeeded is never run again for the same pipeline run, so side effects (a Slack post,
a forward) happen once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from service.store.models import Attachment, Message
from workers.deps import WorkerDeps


class StepError(Exception):
    """Base for errors a step raises on purpose."""


class RetryableStepError(StepError):
    """Try again later (rate limits, 5xx, network). ``retry_after`` overrides the backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentStepError(StepError):
    """Retrying cannot help (a 4xx from the target, bad parameters): dead-letter at once."""


class StopPipeline(StepError):
    """Raised by steps such as ``drop`` to end the run successfully without later steps."""


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepParams(BaseModel):
    """Parameters every step accepts in addition to its own."""

    model_config = ConfigDict(extra="forbid")
    retries: int | None = None


@dataclass
class StepContext:
    """What a step sees: the stored message, earlier steps' outputs, and shared resources."""

    message: Message
    deps: WorkerDeps
    outputs: dict[str, Any] = field(default_factory=dict)
    pipeline: str = "default"
    route: str | None = None
    #: The message's attachment rows as the job loaded them (None: not loaded, query on demand).
    attachments: list[Attachment] | None = None

    def raw_mime(self) -> bytes | None:
        sha = self.message.raw_mime_sha256
        return self.deps.blobs.read(sha) if sha else None

    def texts(self) -> tuple[str | None, str | None, str | None]:
        """Subject, text and HTML as parsed (when ``parse`` ran earlier) or as stored."""
        parsed = self.outputs.get("parse") or {}
        message = self.message
        return (
            parsed.get("subject", message.subject),
            parsed.get("text", message.text),
            parsed.get("html", message.html),
        )


P = TypeVar("P", bound=StepParams)


class Step(ABC, Generic[P]):
    """Base for pipeline steps, generic over their parameters: ``class Slack(Step[SlackParams])``.

    Subclasses set ``name`` and ``run``. ``Params``, the model the config's parameters are
    validated with, is read from the class statement's ``P``; a subclass that names no params
    class keeps its base's (``StepParams`` for a bare ``Step``). ``self.params`` is typed as ``P``."""

    name: ClassVar[str]
    Params: ClassVar[type[StepParams]] = StepParams
    #: Steps that act on the outside world. Their success is committed before the next step
    #: runs, so a retried job never repeats them; pure steps are simply re-run after a crash.
    side_effects: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Step):
                for arg in get_args(base):
                    if isinstance(arg, type) and issubclass(arg, StepParams):
                        cls.Params = arg

    def __init__(self, params: P | None = None) -> None:
        self.params: P = params if params is not None else cast(P, self.Params())

    @abstractmethod
    async def run(self, ctx: StepContext) -> dict[str, Any] | None:
        """Do the work; return JSON-serialisable output for later steps (bounded when stored)."""
