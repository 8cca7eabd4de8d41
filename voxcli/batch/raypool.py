"""Speakers on a Ray cluster (``voxcli batch --cluster``): one actor per slot, each loading the engine
once and speaking batches of sentences for any book.

An actor asks Ray for one CPU, or for one GPU when the voice runs on one (``--device cuda``, or
``auto`` with an engine too heavy for one model per core and a cluster that has GPUs), so a mixed
cluster puts Kokoro and XTTS on its GPUs and Piper and eSpeak-NG on its CPUs. Unless the workers
see the output folder (``--shared-output``), an actor sends each cache entry back and this process
writes it; either way the content-addressed cache is the record a resumed run starts from.

Faults: an actor whose process dies is started again by Ray (``max_restarts``) and the calls it
had are run again (``max_task_retries``); a call writes only whole, content-addressed entries,
so a call run twice changes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from voxcli.convert.synth import Done, Job, Speakers, Speaking, Voice
from voxcli.engines.base import Engine
from voxcli.errors import ClusterError, VoxError

TASK_RETRIES = 3  # runs of a call again after its actor died (a crash loop ends after these)
RAY_HINT = "install Ray with voxcli: pip install 'voxcli[ray]' (make install does)"


def ray_version() -> str | None:
    """The installed Ray's version, or None (cheap: the package metadata, not an import)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ray")
    except PackageNotFoundError:
        return None


def cluster_address(cluster: str) -> str:
    """``--cluster`` as Ray takes it: ``auto``, ``local``, ``ray://HOST:PORT`` or ``HOST:PORT``."""
    value = cluster.strip()
    if value in ("auto", "local"):
        return value
    host, sep, port = value.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(
            f"--cluster: cannot read '{cluster}'",
            "give ray://HOST:PORT (Ray Client), HOST:PORT (the head's GCS port, 6379 by default), "
            "auto (the cluster started on this machine, or RAY_ADDRESS) or local",
        )
    return value


def known_address() -> str | None:
    """The cluster ``--cluster auto`` would join: RAY_ADDRESS, else the one ``ray start`` left here."""
    address = os.environ.get("RAY_ADDRESS", "").strip()
    if address:
        return address
    try:
        return Path("/tmp/ray/ray_current_cluster").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def reachable(address: str, timeout: float = 2.0) -> bool:
    """Whether something answers on the address's port (a TCP connection; nothing is started)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


class VoxcliSpeaker:
    """What a Ray actor holds: its loaded engines (see :class:`~voxcli.convert.synth.Speaking`)."""

    def __init__(self) -> None:
        self._speaking = Speaking()

    def speak(self, voice: Voice, jobs: list[Job]) -> list[Done]:
        return self._speaking.speak(voice, jobs)

    def ping(self) -> tuple[int, int]:
        """(process id, engines loaded so far): for tests and ``--debug``."""
        return os.getpid(), self._speaking.loads


class RayPool(Speakers[Any]):
    """``slots`` speaker actors on the cluster at ``address`` (see :func:`cluster_address`)."""

    def __init__(
        self,
        address: str,
        *,
        engine: type[Engine],
        device: str,
        jobs: int | None,
        shared_output: bool,
    ) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ClusterError(f"--cluster needs Ray, which is not installed ({exc})", RAY_HINT) from None
        self._ray: Any = ray  # Ray's own annotations leave much untyped
        self._shared = shared_output
        self._started_here = address == "local"
        self._connect(address, jobs)
        resources = self._ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
        on_gpu = device == "cuda" or (device == "auto" and not engine.parallel and gpus > 0)
        if on_gpu and gpus == 0:
            raise ClusterError(
                "--device cuda: the Ray cluster has no GPU", "add GPU nodes, or use --device cpu"
            )
        room = gpus if on_gpu else cpus
        if room < 1:
            raise ClusterError("the Ray cluster has no CPU to run a speaker on", "add worker nodes")
        if jobs is not None and jobs > room:
            logging.getLogger(__name__).warning(
                "--jobs %d: the cluster has room for %d speakers (%s); using %d",
                jobs,
                room,
                "GPUs" if on_gpu else "CPUs",
                room,
            )
        self.slots = min(jobs or room, room)
        self.backend = f"ray {address}" + (" (GPUs)" if on_gpu else "")
        self.device = "cuda" if on_gpu else device
        actor: Any = self._ray.remote(
            num_cpus=1,
            num_gpus=1 if on_gpu else 0,
            max_restarts=-1,
            max_task_retries=TASK_RETRIES,
        )(VoxcliSpeaker)
        self._actors: list[Any] = [actor.remote() for _ in range(self.slots)]
        self._busy = [0] * self.slots  # calls in flight per actor
        self._owner: dict[Any, int] = {}  # call -> its actor
        self._lock = threading.Lock()

    def _connect(self, address: str, jobs: int | None) -> None:
        ray = self._ray
        quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
        try:
            if address == "local":
                ray.init(num_cpus=jobs or os.cpu_count() or 1, include_dashboard=False, **quiet)
            else:
                ray.init(address=address, **quiet)
        except Exception as exc:  # Ray raises plain Exception for a node that does not come up
            raise ClusterError(
                f"cannot reach the Ray cluster at {address}: {' '.join(str(exc).split())[:200]}",
                "start one with 'ray start --head' (see the README), or check --cluster",
            ) from None

    def speakers(self) -> list[tuple[int, int]]:
        """Every actor's (process id, engines loaded), asked now."""
        return list(self._ray.get([actor.ping.remote() for actor in self._actors]))

    def _submit(self, voice: Voice, jobs: list[Job]) -> Any:
        with self._lock:
            slot = min(range(self.slots), key=self._busy.__getitem__)
            self._busy[slot] += 1
            call = self._actors[slot].speak.remote(
                replace(voice, write=self._shared, device=self.device), jobs
            )
            self._owner[call] = slot
        return call

    def _wait(self, handles: list[Any], timeout: float) -> list[Any]:
        ready, _ = self._ray.wait(handles, num_returns=1, timeout=timeout)
        return list(ready)

    def _result(self, handle: Any) -> list[Done]:
        with self._lock:
            self._busy[self._owner.pop(handle)] -= 1
        from ray.exceptions import RayActorError, RayTaskError

        try:
            return list(self._ray.get(handle))
        except RayTaskError as exc:
            if isinstance(exc.cause, VoxError):
                raise exc.cause from None
            raise ClusterError(
                f"a Ray speaker failed: {type(exc.cause).__name__}: {exc.cause}",
                "run again with --debug, or without --cluster to see it here",
            ) from None
        except RayActorError as exc:
            raise ClusterError(
                f"a Ray speaker was lost: {' '.join(str(exc).split())[:200]}",
                "run the same command again to resume",
            ) from None

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        self._ray.shutdown()
