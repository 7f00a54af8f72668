"""Native onnxruntime (CPU) timings for the browser bench: the bundle's graphs, the same shapes, the same
number of threads, so that a browser/native ratio comes from one run on one machine.

A line-oriented server, so the bench can interleave native and browser measurements (the machine is
shared and its load moves): every stdin line is a JSON request, every stdout line a JSON answer.

  {"load": KEY, "path": "models/default/unet.onnx", "threads": 2, "opt": "all"}  -> {"ms": creation ms}
  {"run": KEY, "feeds": {NAME: {"dtype": "float32"|"int64", "dims": [...], "fill": "randn"|"const",
   "value": v}}, "n": 10}                                                       -> {"ms": [per call]}

  {"profile": KEY}                                                             -> {"events": [...]}
(a session loaded with "profile": true records onnxruntime's per-node profile; this ends it and returns
its node events)

`opt` is onnxruntime's graph optimisation level: "disabled", "basic", "extended", "layout" or "all"
("layout" is all but the NCHWc layout transform, which needs a SIMD width the browser lacks).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

LEVELS = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "layout": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def make_session(path: str, threads: int, opt: str, profile: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.enable_profiling = profile
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = LEVELS[opt]
    # "layout": everything but the NCHWc transform (blocked channels for AVX2/AVX-512 convolutions).
    disabled = ["NchwcTransformer"] if opt == "layout" else None
    return ort.InferenceSession(
        path, options, providers=["CPUExecutionProvider"], disabled_optimizers=disabled
    )


def make_feeds(spec: dict, rng: np.random.Generator) -> dict:
    feeds = {}
    for name, f in spec.items():
        if f["dtype"] == "int64":
            feeds[name] = np.full(f["dims"], f["value"], dtype=np.int64)
        elif f.get("fill") == "const":
            feeds[name] = np.full(f["dims"], f["value"], dtype=np.float32)
        else:
            feeds[name] = rng.standard_normal(f["dims"]).astype(np.float32)
    return feeds


def main() -> None:
    sessions: dict[str, ort.InferenceSession] = {}
    rng = np.random.default_rng(0)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if "load" in request:
                start = time.perf_counter()
                sessions[request["load"]] = make_session(
                    request["path"],
                    request["threads"],
                    request["opt"],
                    request.get("profile", False),
                )
                answer = {"ms": (time.perf_counter() - start) * 1000}
            elif "profile" in request:
                path = Path(sessions[request["profile"]].end_profiling())
                events = json.loads(path.read_text())
                path.unlink()
                answer = {"events": [e for e in events if e.get("cat") == "Node"]}
            else:
                session = sessions[request["run"]]
                feeds = make_feeds(request["feeds"], rng)
                ms = []
                for _ in range(request["n"]):
                    start = time.perf_counter()
                    session.run(None, feeds)
                    ms.append((time.perf_counter() - start) * 1000)
                answer = {"ms": ms}
        except (
            KeyError,
            ValueError,
            RuntimeError,
            OSError,
        ) as err:  # the bench stops with the message
            answer = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
