"""What the bot counts for Prometheus (README "Operating it").

One `Metrics` per bot, on a registry of its own (no process-wide default registry: two
bots in one process, as in the tests, count apart). The parts of the bot that see a
thing happen report it here through a method named for it; gauges of state the bot
keeps anyway (queues, threads being answered, loop lag) are read at scrape time, so
they cost nothing between scrapes.

Labels are bounded: event types, outcomes, Slack methods and models come from short
lists of the bot's own (a value outside them is counted as "other"), never user,
channel or thread ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "slackbot"
OTHER = "other"
# Seconds; an answer takes from under a second to the answer deadline (ten minutes).
TOOL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
ANSWER_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Outcome(StrEnum):
    """How a message the bot took on ended, as `slackbot_answers_total` counts it."""

    ANSWERED = "answered"
    BUSY = "busy"
    TIMED_OUT = "timed_out"
    MODEL_ERROR = "model_error"
    SLACK_ERROR = "slack_error"
    REFUSED = "refused"
    RATE_LIMITED = "rate_limited"
    CUT_OFF = "cut_off"
    STOPPED = "stopped"
    FAILED = "failed"


# What Slack delivers (Socket Mode envelope types, the events and interactions the bot
# subscribes to); anything else is "other".
EVENT_TYPES = frozenset(
    {
        "app_mention",
        "message",
        "app_home_opened",
        "assistant_thread_started",
        "assistant_thread_context_changed",
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "slash_commands",
    }
)


class Metrics:
    def __init__(
        self,
        *,
        models: Iterable[str] = (),
        slack_methods: Iterable[str] = (),
        tool_sources: Iterable[str] = (),
    ) -> None:
        """`models`, `slack_methods` and `tool_sources` (the names of the configured
        sources of outside tools) bound their labels: others count as "other"."""
        self.registry = CollectorRegistry(auto_describe=True)
        self._models = frozenset(models)
        self._methods = frozenset(slack_methods)
        self._sources = frozenset(tool_sources)
        registry = self.registry
        ProcessCollector(registry=registry)
        self._received = Counter(
            f"{PREFIX}_events_received",
            "Events, interactions and commands Slack delivered, by type.",
            ["type"],
            registry=registry,
        )
        self._acked = Counter(
            f"{PREFIX}_events_acked",
            "Deliveries acknowledged to Slack, by type.",
            ["type"],
            registry=registry,
        )
        self._answers = Counter(
            f"{PREFIX}_answers",
            "Messages for the bot by how they ended.",
            ["outcome"],
            registry=registry,
        )
        for outcome in Outcome:
            self._answers.labels(outcome.value)
        self._first_text = Histogram(
            f"{PREFIX}_answer_first_text_seconds",
            "From taking a message on to the first words of its answer showing in Slack.",
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )
        self._answer_time = Histogram(
            f"{PREFIX}_answer_duration_seconds",
            "From taking a message on to its answer's final state in Slack.",
            ["outcome"],
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )
        self._model_calls = Counter(
            f"{PREFIX}_model_calls",
            "Calls to the model API, by model and result (ok or the error's kind).",
            ["model", "result"],
            registry=registry,
        )
        self._tokens = Counter(
            f"{PREFIX}_model_tokens",
            "Tokens the model API reported, by model and direction (input, output).",
            ["model", "direction"],
            registry=registry,
        )
        self._slack_calls = Counter(
            f"{PREFIX}_slack_calls",
            "Slack Web API calls made (each attempt), by method.",
            ["method"],
            registry=registry,
        )
        self._slack_429 = Counter(
            f"{PREFIX}_slack_rate_limited",
            "Slack Web API calls Slack answered with HTTP 429, by method.",
            ["method"],
            registry=registry,
        )

        self._tool_calls = Counter(
            f"{PREFIX}_tool_calls",
            "Calls to outside tools (the browser service, MCP servers), by source and result "
            "(ok or the failure's kind).",
            ["source", "result"],
            registry=registry,
        )
        self._tool_time = Histogram(
            f"{PREFIX}_tool_call_duration_seconds",
            "How long a call to an outside tool took, by source, whatever its result.",
            ["source"],
            buckets=TOOL_BUCKETS,
            registry=registry,
        )

    # --- what happened ---------------------------------------------------------------

    def event_received(self, kind: str) -> None:
        self._received.labels(_bounded(kind, EVENT_TYPES)).inc()

    def event_acked(self, kind: str) -> None:
        self._acked.labels(_bounded(kind, EVENT_TYPES)).inc()

    def answered(
        self, outcome: Outcome, *, seconds: float | None = None, first_text: float | None = None
    ) -> None:
        """A message ended as `outcome`; `seconds` once it had an answer under way, and
        `first_text` once its first words showed."""
        self._answers.labels(outcome.value).inc()
        if seconds is not None:
            self._answer_time.labels(outcome.value).observe(seconds)
        if first_text is not None:
            self._first_text.observe(first_text)

    def model_call(self, model: str, result: str, input_tokens: int, output_tokens: int) -> None:
        model = _bounded(model, self._models)
        self._model_calls.labels(model, result).inc()
        if input_tokens:
            self._tokens.labels(model, "input").inc(input_tokens)
        if output_tokens:
            self._tokens.labels(model, "output").inc(output_tokens)

    def tool_call(self, source: str, result: str, seconds: float) -> None:
        source = _bounded(source, self._sources)
        self._tool_calls.labels(source, result).inc()
        self._tool_time.labels(source).observe(seconds)

    def slack_call(self, method: str) -> None:
        self._slack_calls.labels(_bounded(method, self._methods)).inc()

    def slack_rate_limited(self, method: str) -> None:
        self._slack_429.labels(_bounded(method, self._methods)).inc()

    # --- state read at scrape time ----------------------------------------------------

    def watch(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge `slackbot_<name>` whose value `read()` gives when scraped."""
        gauge = Gauge(f"{PREFIX}_{name}", documentation, registry=self.registry)
        gauge.set_function(read)

    def watch_count(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A counter `slackbot_<name>_total` kept by another part, read when scraped."""
        self.registry.register(_ReadCounter(f"{PREFIX}_{name}", documentation, read))

    def exposition(self) -> bytes:
        """The scrape: Prometheus' text format."""
        return generate_latest(self.registry)


class _ReadCounter(Collector):
    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self._name = name
        self._documentation = documentation
        self._read = read

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self._name, self._documentation, value=self._read())

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self._name, self._documentation)


def _bounded(value: str, known: frozenset[str]) -> str:
    return value if value in known else OTHER
