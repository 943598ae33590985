"""Cell studies from Python, on every local core or on a Ray cluster.

The study engine is the one of ``cella study`` (the ``cella-study`` crate): the same study and
seed give the same variants, the same results and the same ranking whether they run in one
process, on local threads or as Ray tasks on many machines, because each variant's result
depends on the study and its index alone (its seed is derived from the study's seed and the
index).

Command line::

    python -m cella.study STUDY.toml [--out results.json] [--html report.html]
                                     [--threads N] [--ray ADDRESS] [--chunk-size N]

From code::

    import cella.study
    document = cella.study.run("STUDY.toml", ray_address="127.0.0.1:6379")
    document["ranking"][0]     # the best variant's index

On Ray, one task evaluates one chunk of variants (``num_cpus=1``, retried up to
``max_retries`` times when its worker or node dies); the driver gathers the chunks, ranks them
and writes the results document and the report. Every worker needs the ``cella`` package
(this wheel) installed, and the files the study names (robot models given as paths) at the
same place.
"""

import argparse
import json
import math
import os
import sys
import time

from ._cella import Study


def _evaluate_chunk(text, base_dir, indices, trace_dir=None):
    """A Ray task: evaluates the variants ``indices`` of the study ``text``; their results as
    JSON text. With ``trace_dir``, first writes ``<node>-<pid>-<first index>`` there (the
    node's name from ``CELLA_NODE_NAME``): which worker started which chunk."""
    if trace_dir:
        node = os.environ.get("CELLA_NODE_NAME", "node")
        name = f"{node}-{os.getpid()}-{indices[0]}"
        with open(os.path.join(trace_dir, name), "w", encoding="utf-8") as f:
            f.write(" ".join(str(i) for i in indices))
    study = Study.from_text(text, base_dir)
    return study.evaluate_json(indices, threads=1)


def _join(chunks):
    """JSON lists (text) joined into one list, the numbers untouched."""
    items = [c.strip()[1:-1].strip() for c in chunks]
    return "[" + ",".join(i for i in items if i) + "]"


def _progress_bar(done, total, feasible, began):
    width = 30
    filled = done * width // max(total, 1)
    sys.stderr.write(
        f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} variants, "
        f"{feasible} feasible, {time.monotonic() - began:.0f} s"
    )
    sys.stderr.flush()


def run_local(study, threads=0, progress=True):
    """Evaluates every variant of ``study`` (a :class:`cella.Study`) on ``threads`` local
    threads (0: one per core) and ranks them: the results document (JSON text)."""
    began = time.monotonic()
    callback = (lambda d, t, f: _progress_bar(d, t, f, began)) if progress else None
    text = study.run_json(threads=threads, progress=callback)
    if progress:
        sys.stderr.write("\n")
    return text


def run_ray(study, address, chunk_size=0, max_retries=5, progress=True, trace_dir=None):
    """Evaluates every variant of ``study`` on the Ray cluster at ``address`` (``"auto"``,
    ``"host:port"`` or ``"ray://host:port"``), one task per chunk of ``chunk_size`` variants
    (0: about four chunks per CPU of the cluster), each retried up to ``max_retries`` times
    when its worker or node dies; ranks them: the results document (JSON text), the same
    bytes as :func:`run_local` gives."""
    try:
        import ray
    except ImportError as e:
        raise ImportError("running a study on Ray needs the ray package: pip install ray") from e

    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    try:
        n = len(study)
        if chunk_size <= 0:
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            chunk_size = max(1, math.ceil(n / (4 * cpus)))
        chunks = [list(range(i, min(i + chunk_size, n))) for i in range(0, n, chunk_size)]
        # by reference from the installed package (also when this file runs as __main__)
        from cella.study import _evaluate_chunk as evaluate_chunk

        task = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(
            evaluate_chunk
        )
        text = study.portable_text
        base_dir = str(study.base_dir) if study.base_dir is not None else None
        pending = {
            task.remote(text, base_dir, c, trace_dir): c for c in chunks
        }
        answers = {}
        done = feasible = 0
        began = time.monotonic()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                chunk = pending.pop(ref)
                answers[chunk[0]] = ray.get(ref)
                done += len(chunk)
                feasible += sum(1 for r in json.loads(answers[chunk[0]]) if r["feasible"])
                if progress:
                    _progress_bar(done, n, feasible, began)
        if progress:
            sys.stderr.write("\n")
        return study.rank_json(_join(answers[k] for k in sorted(answers)))
    finally:
        ray.shutdown()


def run(path, out=None, html=None, threads=0, ray_address=None, chunk_size=0, progress=True):
    """Runs the study file ``path`` locally (``threads``) or on Ray (``ray_address``); writes
    the results document to ``out`` and the report to ``html`` when given; returns the
    document as a dict."""
    study = Study(path)
    if ray_address:
        text = run_ray(study, ray_address, chunk_size=chunk_size, progress=progress)
    else:
        text = run_local(study, threads=threads, progress=progress)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    if html:
        study.report(text, html)
    return json.loads(text)


def main(argv=None):
    """``python -m cella.study``: the command line (exit 1 when no variant is feasible, 2
    for a malformed study)."""
    from .errors import CellaError

    p = argparse.ArgumentParser(
        prog="python -m cella.study",
        description="Run a cella study (the engine of `cella study`) locally or on Ray.",
    )
    p.add_argument("study", help="the study file (TOML)")
    p.add_argument("--out", help="write the results document (JSON) here")
    p.add_argument("--html", help="write the report (HTML) here, the best variant's data beside it")
    p.add_argument("--threads", type=int, default=0, help="local threads (default: one per core)")
    p.add_argument("--ray", metavar="ADDRESS", help="run on the Ray cluster at ADDRESS")
    p.add_argument("--chunk-size", type=int, default=0, help="variants per Ray task (default: ~4 tasks per CPU)")
    p.add_argument("--max-retries", type=int, default=5, help="retries of a Ray task whose worker or node dies")
    p.add_argument("--trace-dir", help="each Ray task writes <node>-<pid>-<first variant> here when it starts")
    p.add_argument("--top", type=int, default=10, help="rows of the ranked table (0: all)")
    a = p.parse_args(argv)
    try:
        study = Study(a.study)
        sys.stderr.write(
            f"{study.name}: {len(study)} variants ({study.method} sampling, seed {study.seed})"
            f"{' on Ray at ' + a.ray if a.ray else ''}\n"
        )
        began = time.monotonic()
        if a.ray:
            text = run_ray(
                study,
                a.ray,
                chunk_size=a.chunk_size,
                max_retries=a.max_retries,
                trace_dir=a.trace_dir,
            )
        else:
            text = run_local(study, threads=a.threads)
        if a.out:
            with open(a.out, "w", encoding="utf-8") as f:
                f.write(text)
        if a.html:
            study.report(text, a.html)
    except (CellaError, ImportError) as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    for row in study.table(text, a.top):
        print(row)
    document = json.loads(text)
    feasible = sum(1 for r in document["results"] if r["feasible"])
    print(
        f"{feasible} of {len(document['results'])} variants feasible; "
        f"{time.monotonic() - began:.1f} s"
    )
    return 0 if feasible else 1


if __name__ == "__main__":
    sys.exit(main())
