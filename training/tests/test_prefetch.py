"""face0.prefetch: an iterator run ahead in a forked child process."""

import subprocess
import sys

import pytest

from face0.prefetch import Prefetched

# The parent's OpenMP pool is up (2 threads, one parallel op) before the fork; the child then runs ops
# large enough for torch to parallelise. Without the child's set_num_threads(1) this hung (H200 machine).
AFTER_OPENMP = """
import torch
from face0.prefetch import Prefetched
torch.set_num_threads(2)
torch.ones(20_000_000).add_(1)
def items():
    for _ in range(3):
        yield float(torch.ones(64, 3, 128, 128).permute(0, 2, 3, 1).contiguous().mul_(2).sum())
with Prefetched(items, 2) as it:
    print(sum(it))
"""


def test_the_child_runs_torch_ops_after_the_parent_used_its_thread_pool():
    done = subprocess.run([sys.executable, "-c", AFTER_OPENMP], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == 3 * 2 * 64 * 3 * 128 * 128


def test_a_failing_producer_raises_in_the_consumer():
    def broken():
        yield 1
        raise ValueError("no samples in its shards")

    with Prefetched(broken, depth=2) as items:
        assert next(items) == 1
        with pytest.raises(RuntimeError, match="no samples in its shards"):
            next(items)


def test_items_arrive_in_order_and_end():
    with Prefetched(lambda: iter(range(50)), depth=3) as items:
        assert list(items) == list(range(50))
