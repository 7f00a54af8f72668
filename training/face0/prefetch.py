"""Runs an iterator in a child process that stays `depth` items ahead of the consumer.

Training builds each micro-batch (reading, decoding, captions, tokens) in Python, one sample at a time; on a
GPU that serial work is as long as the step itself (docs/training.md, section 9). The child produces exactly
the items the iterator would produce in-process, in the same order, so a run is the same either way.
"""

from __future__ import annotations

import os
import queue
import traceback
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import torch
import torch.multiprocessing as mp

T = TypeVar("T")

_END = "end"
_ERROR = "error"
_ITEM = "item"


def _consumer_alive(parent: int) -> bool:
    return os.getppid() == parent  # a killed consumer's child is re-parented


def _put(items: mp.Queue, message: tuple, stop, parent: int) -> bool:
    """Puts unless the consumer stops (or dies) first; False if it did."""
    while not stop.is_set() and _consumer_alive(parent):
        try:
            items.put(message, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def _produce(make: Callable[[], Iterator], items: mp.Queue, stop, parent: int) -> None:
    # The parent's OpenMP thread pool does not exist in a forked child: a parallel region there hangs (seen
    # on the H200 machine, 16 threads). One thread never enters the pool (torch's DataLoader does the same).
    torch.set_num_threads(1)
    try:
        for item in make():
            if not _put(items, (_ITEM, item), stop, parent):
                break
        else:
            _put(items, (_END, None), stop, parent)
    except BaseException:  # noqa: BLE001 - handed to the consumer (as text: any exception pickles so)
        _put(items, (_ERROR, traceback.format_exc()), stop, parent)
    # Tensors in the queue are handed over through this process: it stays until the consumer is done, then
    # leaves without flushing what nobody will read.
    while not stop.wait(0.5) and _consumer_alive(parent):
        pass
    items.cancel_join_thread()


class Prefetched(Generic[T]):
    """Iterator over `make()`'s items, produced in a forked child process (the child inherits `make`'s
    closure, so nothing but the items is pickled; torch tensors travel through shared memory)."""

    def __init__(self, make: Callable[[], Iterator[T]], depth: int):
        context = mp.get_context("fork")
        self._items = context.Queue(maxsize=depth)
        self._stop = context.Event()
        args = (make, self._items, self._stop, os.getpid())
        self._child = context.Process(target=_produce, args=args, daemon=True)
        self._child.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        while True:
            try:
                kind, value = self._items.get(timeout=1.0)
                break
            except queue.Empty:
                if not self._child.is_alive():
                    raise RuntimeError(f"prefetch process died (exit code {self._child.exitcode})") from None
        if kind == _ITEM:
            return value
        if kind == _END:
            raise StopIteration
        raise RuntimeError(f"prefetch process failed:\n{value}")

    def close(self) -> None:
        self._stop.set()
        self._child.join(timeout=10)
        if self._child.is_alive():
            self._child.terminate()
            self._child.join()
        self._items.cancel_join_thread()
        self._items.close()

    def __enter__(self) -> Prefetched[T]:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
