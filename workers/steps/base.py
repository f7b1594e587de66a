"""The contract every pipeline step implements, and the errors that steer retries.

A step is one small module: a ``Step`` subclass with a ``name``, a pydantic ``Params`` model for
its YAML parameters, and ``run``. The engine records each run; a step that succeeded is never
run again for the same pipeline run, so side effects (a Slack post, a forward) happen once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from service.store.models import Attachment, Message

if TYPE_CHECKING:  # deps imports the step registry (to compile pipelines), which imports this
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


class Step(ABC):
    """Base for pipeline steps; subclasses set ``name``, optionally ``Params``, and ``run``."""

    name: ClassVar[str]
    Params: ClassVar[type[StepParams]] = StepParams
    #: Steps that act on the outside world. Their success is committed before the next step
    #: runs, so a retried job never repeats them; pure steps are simply re-run after a crash.
    side_effects: ClassVar[bool] = False

    def __init__(self, params: StepParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @abstractmethod
    async def run(self, ctx: StepContext) -> dict[str, Any] | None:
        """Do the work; return JSON-serialisable output for later steps (bounded when stored)."""
