"""Tokenize and detokenize Spark DataFrames through tokengate, partition by partition.

Each partition task starts one ``tokengate tokenize --pipe`` (or ``detokenize --pipe``)
subprocess and exchanges its rows with it as length-prefixed CSV batches (docs/spark.md,
"Pipe framing"): the task writes one batch, reads that batch's result, then writes the next, so
the two processes never wait on each other. tokengate does all of the cryptography; this module
only moves rows.

Paths (``binary``, ``policy``, ``keyring``, ``manifest``) are either paths that exist on every
node (made absolute on the driver), or ``"sparkfiles:NAME"`` for a file shipped with
``spark.files`` / ``SparkContext.addFile`` (resolved with ``SparkFiles.get`` where it is used).

Every partition run is audited by tokengate with the Spark application id, stage, partition
and attempt (``--context``); ``tokengate audit lineage --spark-app APP`` groups them.
"""

import io
import json
import os
import subprocess
import tempfile

__all__ = ["tokenize_dataframe", "detokenize_dataframe", "TokengateError", "pin_plan"]

# Rows per batch exchanged with tokengate (one frame each way).
DEFAULT_BATCH_ROWS = 10000


class TokengateError(RuntimeError):
    """tokengate failed: its exit status and its error message (which names files, rows and
    columns, never values)."""


def _resolve(path):
    """A ``sparkfiles:NAME`` reference as a local path (on the node running this), else the path."""
    if path is None:
        return None
    if path.startswith("sparkfiles:"):
        from pyspark import SparkFiles

        return SparkFiles.get(path[len("sparkfiles:"):])
    return path


def _absolute(path):
    if path is None or path.startswith("sparkfiles:"):
        return path
    return os.path.abspath(path)


def _read_exact(stream, n):
    chunks = []
    while n > 0:
        b = stream.read(n)
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _read_frame(stream):
    """One frame from tokengate: its payload, ``b""`` for the end frame, None if the stream ended."""
    header = stream.readline(32)
    if not header.endswith(b"\n") or not header[:-1].isdigit():
        return None
    n = int(header[:-1])
    if n == 0:
        return b""
    return _read_exact(stream, n)


def _write_frame(stream, payload):
    stream.write(b"%d\n" % len(payload))
    stream.write(payload)
    stream.flush()


def _to_csv(batch):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    table = pa.Table.from_batches([batch])
    # Everything as text: tokengate sees the values as Spark would print them.
    table = table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema]))
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=True))
    return buf.getvalue()


def _from_csv(payload, schema):
    """tokengate's CSV back into a record batch of ``schema`` (nulls were written as empty
    unquoted fields and stay null; an empty string was written as ``""`` and stays one)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(
        io.BytesIO(payload),
        read_options=pacsv.ReadOptions(use_threads=False, block_size=max(1 << 20, len(payload) + 1)),
        convert_options=pacsv.ConvertOptions(
            column_types={f.name: pa.string() for f in schema},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    if table.column_names != schema.names:
        raise TokengateError("tokengate returned other columns than it was given")
    table = table.cast(schema)
    return table.combine_chunks().to_batches()


def _stderr_tail(path, limit=4000):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return text[-limit:].strip()


def _pipe_command(cfg, context, manifest):
    args = [
        _resolve(cfg["binary"]), cfg["mode"], "--pipe",
        "--policy", _resolve(cfg["policy"]),
        "--batch-rows", str(cfg["batch_rows"]),
    ]
    if cfg.get("keyring"):
        args += ["--keyring", _resolve(cfg["keyring"])]
    if manifest:
        args += ["--manifest", manifest]
    if context:
        args += ["--context", ",".join("%s=%s" % kv for kv in sorted(context.items()))]
    if cfg.get("summary_dir") and "spark.partition" in context:
        args += ["--summary-json", os.path.join(cfg["summary_dir"], "%s-%s-%s.json" % (
            cfg["mode"], context.get("spark.stage"), context["spark.partition"]))]
    return args


def _run_pipe(cfg, batches, context, manifest=None):
    """Runs one tokengate pipe over ``batches`` (pyarrow record batches), yielding each result
    batch as soon as tokengate has written it. Raises TokengateError with tokengate's message
    when it fails."""
    import time

    started = time.monotonic()
    bridge = 0.0  # seconds in this process turning Arrow into CSV frames and back
    env = dict(os.environ)
    env.update(cfg.get("env") or {})
    err = tempfile.NamedTemporaryFile(prefix="tokengate-stderr-", delete=False)
    err.close()
    label = "tokengate %s (%s)" % (cfg["mode"], ", ".join("%s=%s" % kv for kv in sorted(context.items())))
    with open(err.name, "wb") as errf:
        proc = subprocess.Popen(
            _pipe_command(cfg, context, manifest), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf, env=env)
    try:
        try:
            for batch in batches:
                t = time.monotonic()
                payload = _to_csv(batch)
                bridge += time.monotonic() - t
                _write_frame(proc.stdin, payload)
                out = _read_frame(proc.stdout)
                if not out:
                    break  # tokengate stopped: its status and message below
                t = time.monotonic()
                result = _from_csv(out, batch.schema)
                bridge += time.monotonic() - t
                yield from result
            else:
                _write_frame(proc.stdin, b"")
                proc.stdin.close()
                if _read_frame(proc.stdout) != b"":
                    raise BrokenPipeError
        except (BrokenPipeError, ConnectionResetError):
            pass  # tokengate exited: its status and message below
        rc = proc.wait()
        if rc != 0:
            raise TokengateError("%s failed (exit %d): %s" % (label, rc, _stderr_tail(err.name)))
        if not proc.stdin.closed:
            raise TokengateError("%s stopped before the end of its input: %s" % (label, _stderr_tail(err.name)))
        if cfg.get("summary_dir") and "spark.partition" in context:
            path = os.path.join(cfg["summary_dir"], "%s-%s-%s.bridge.json" % (cfg["mode"], context.get("spark.stage"), context["spark.partition"]))
            with open(path, "w") as f:
                json.dump({"taskSeconds": time.monotonic() - started, "bridgeSeconds": bridge}, f)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for s in (proc.stdin, proc.stdout):
            try:
                s.close()
            except (OSError, ValueError):
                pass
        os.unlink(err.name)


def _task_context(app_id, stage_label):
    from pyspark import TaskContext

    tc = TaskContext.get()
    ctx = {"spark.app": app_id}
    if tc is not None:
        ctx["spark.stage"] = str(tc.stageId())
        ctx["spark.partition"] = str(tc.partitionId())
        ctx["spark.attempt"] = str(tc.attemptNumber())
    elif stage_label:
        ctx["spark.stage"] = stage_label
    return ctx


def _same_keys(a, b):
    """Whether two manifests tokenized the same columns the same way (rule, key, versions)."""
    fields = ("name", "action", "rule", "keyLabel", "keyID", "keyVersion", "transformVersion", "embeddedKeyVersions")

    def norm(m):
        return sorted(json.dumps({k: c.get(k) for k in fields}, sort_keys=True) for c in m.get("columns", []))

    return norm(a) == norm(b)


def _config(mode, policy, keyring, binary, batch_rows, env, summary_dir=None):
    binary = binary or os.environ.get("TOKENGATE_BINARY") or "tokengate"
    if not binary.startswith("sparkfiles:") and os.sep not in binary:
        from shutil import which

        found = which(binary)
        if found is None:
            raise FileNotFoundError("tokengate binary %r not found on PATH (pass binary=...)" % binary)
        binary = found
    if policy is None:
        raise ValueError("policy is required: --pipe needs a policy naming every column (tokengate scan --emit-policy)")
    return {
        "mode": mode, "binary": _absolute(binary), "policy": _absolute(policy), "keyring": _absolute(keyring),
        "batch_rows": int(batch_rows), "env": dict(env or {}), "summary_dir": _absolute(summary_dir),
    }


def pin_plan(schema_names, policy, keyring=None, binary=None, manifest_out=None, env=None, app_id="driver"):
    """Runs tokengate once on the driver over a header-only batch: checks that the policy names
    every column and that its keys exist, and returns the manifest (the columns' rules, key ids
    and versions) every partition must then match. Audited like any run (stage ``driver``)."""
    cfg = _config("tokenize", policy, keyring, binary, DEFAULT_BATCH_ROWS, env)
    import pyarrow as pa

    empty = pa.RecordBatch.from_pylist([], schema=pa.schema([pa.field(n, pa.string()) for n in schema_names]))
    out_dir = tempfile.mkdtemp(prefix="tokengate-plan-")
    path = os.path.join(out_dir, "manifest.json")
    try:
        for _ in _run_pipe(cfg, [empty], {"spark.app": app_id, "spark.stage": "driver"}, manifest=path):
            pass
        with open(path, "rb") as f:
            manifest = json.load(f)
    finally:
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(out_dir)
    if manifest_out:
        with open(manifest_out, "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
    return manifest


def tokenize_dataframe(
    df, policy, keyring=None, binary=None, batch_rows=DEFAULT_BATCH_ROWS, env=None, manifest_out=None, summary_dir=None
):
    """Tokenizes ``df`` with ``tokengate tokenize --pipe``: one subprocess per partition task
    (``DataFrame.mapInArrow``), the schema kept (the columns the policy transforms must be
    strings; tokens are strings of the same length rules as their values).

    The driver first pins the plan (:func:`pin_plan`): the policy must name every column, and
    every partition must use the key versions the driver saw (a rotation during the job fails
    the partition that noticed it). ``manifest_out`` keeps that manifest for
    :func:`detokenize_dataframe`.

    ``env`` is added to the subprocess environment (e.g. ``SOFTHSM2_CONF``, ``TOKENGATE_AUDIT_LOG``).
    ``summary_dir`` (a folder on every node, for measurements): each partition writes tokengate's
    run summary there (``tokenize-<stage>-<partition>.json``) and this side's timings
    (``….bridge.json``: the task's seconds, and those spent converting Arrow to CSV and back).
    A partition that fails fails its Spark task with tokengate's message (column and row named).
    """
    cfg = _config("tokenize", policy, keyring, binary, batch_rows, env, summary_dir)
    app_id = df.sparkSession.sparkContext.applicationId
    manifest = pin_plan(df.schema.names, policy, keyring, binary, manifest_out, env, app_id)
    transformed = [c["name"] for c in manifest.get("columns", []) if c.get("action") not in ("keep", "drop")]
    by_name = {f.name: f for f in df.schema.fields}
    for name in transformed:
        if by_name[name].dataType.typeName() != "string":
            raise TypeError("column %r is transformed by the policy but is %s, not a string" % (name, by_name[name].dataType.simpleString()))
    dropped = {c["name"] for c in manifest.get("columns", []) if c.get("action") == "drop"}
    if dropped:
        raise ValueError("the policy drops %s: tokenize_dataframe keeps the schema (drop the columns in Spark)" % sorted(dropped))

    def partition(batches):
        ctx = _task_context(app_id, None)
        fd, path = tempfile.mkstemp(prefix="tokengate-manifest-")
        os.close(fd)
        try:
            yield from _run_pipe(cfg, batches, ctx, manifest=path)
            with open(path, "rb") as f:
                seen = json.load(f) if os.path.getsize(path) > 0 else manifest
            if not _same_keys(seen, manifest):
                raise TokengateError(
                    "partition %s used other key versions than the driver pinned (a key was rotated during the job): rerun the job"
                    % ctx.get("spark.partition"))
        finally:
            os.unlink(path)

    return df.mapInArrow(partition, df.schema)


def detokenize_dataframe(df, manifest, policy, keyring=None, binary=None, batch_rows=DEFAULT_BATCH_ROWS, env=None, summary_dir=None):
    """Inverts :func:`tokenize_dataframe` with ``tokengate detokenize --pipe``. Needs what the
    CLI needs: the keyring config's detokenize grant and the detokenize PIN from the source the
    policy names (an environment variable set on the executors, or a PIN file on each node).

    ``manifest``: the manifest tokenize pinned (a dict, a path, or ``sparkfiles:NAME``).
    """
    cfg = _config("detokenize", policy, keyring, binary, batch_rows, env, summary_dir)
    app_id = df.sparkSession.sparkContext.applicationId
    if isinstance(manifest, dict):
        text = json.dumps(manifest)
        manifest_ref = None
    else:
        text = None
        manifest_ref = _absolute(manifest)

    def partition(batches):
        ctx = _task_context(app_id, None)
        if text is not None:
            fd, path = tempfile.mkstemp(prefix="tokengate-manifest-")
            with os.fdopen(fd, "w") as f:
                f.write(text)
        else:
            path = _resolve(manifest_ref)
        try:
            yield from _run_pipe(cfg, batches, ctx, manifest=path)
        finally:
            if text is not None:
                os.unlink(path)

    return df.mapInArrow(partition, df.schema)
