"""Reading and validating a large import in a process of its own, while the importing process stores.

The read-ahead thread (services._read_ahead) overlaps reading with storing, but both are Python and take
turns on one interpreter lock: on a 200,000-row PostgreSQL import the writer, which is the slower side,
spent about half its time waiting for the lock the reader held. Here the reader is a child process
(`python -m voxloop.channels.fileimport.preparer`), so the writer has its interpreter to itself.

The child only reads the stored file and validates rows; it never touches the database. It sends each
prepared chunk back as a pickle on its stdout; the pipe's small buffer keeps it at most about a chunk
ahead, so memory stays bounded. The parent alone stores and commits, chunk by chunk in file order, so the
resume guarantee is the one the thread gives. If the parent dies, the child's next write fails and it
exits; if the child dies, the parent raises and the batch resumes from its last committed chunk.

A plain subprocess, not multiprocessing: imports also run inside Celery's pool processes, which are
daemonic and may not start multiprocessing children.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Generator
from pathlib import Path
from typing import Any, BinaryIO

import django
from django.conf import settings

from voxloop.channels.fileimport.readers import FileFormatError, iter_rows

# Below this many rows the child's start-up (~1 s to load Django) costs more than it saves.
MIN_ROWS = 50_000
# Only PostgreSQL's rows are preformatted for COPY, which is what makes a chunk cheap to send (ingest.py).
# SQLite keeps the thread: whole inputs cost more to pickle than the separate process saves.
VENDORS = frozenset({"postgresql"})
COMMAND = [sys.executable, "-m", "voxloop.channels.fileimport.preparer"]
_END = "end"
_CHUNK = "chunk"
_ERROR = "error"


class PreparerFailed(RuntimeError):
    """The child process stopped without finishing the file."""


def params_for(batch: Any, size: int, text_max_chars: int, vendor: str) -> dict[str, Any]:
    """What the child needs to read and validate the batch's file exactly as the thread would."""
    return {
        "settings_module": settings.SETTINGS_MODULE,
        "path": batch.file.path, "file_format": batch.file_format, "encoding": batch.encoding,
        "start_after": batch.rows_processed, "size": size, "text_max_chars": text_max_chars, "vendor": vendor,
        "batch": {"pk": batch.pk, "kind": batch.kind, "mapping": batch.mapping, "channel": batch.channel,
                  "source": batch.source, "options": batch.options, "created_by_id": batch.created_by_id},
    }  # fmt: skip


def prepared_chunks(params: dict[str, Any]) -> Generator[Any, None, None]:
    """PreparedChunks of the file, from a child process. Close the generator to stop the child early."""
    child = subprocess.Popen(  # noqa: S603 - our own module, run by the same interpreter
        COMMAND,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=os.environ.copy(),
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        pickle.dump(params, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.close()
        while True:
            try:
                kind, payload = pickle.load(child.stdout)  # noqa: S301 - our own child, on a private pipe
            except EOFError:
                raise PreparerFailed(
                    f"The import's reader process stopped unexpectedly (exit code {child.wait()})."
                ) from None
            if kind == _END:
                return
            if kind == _ERROR:
                raise _rebuild_error(payload)
            yield payload
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def _rebuild_error(payload: dict[str, Any]) -> Exception:
    if payload["type"] == "FileFormatError":
        return FileFormatError(payload["code"], payload["template"], **payload["params"])
    # The batch page shows this message: the child's traceback went to its stderr (the worker's log), not here.
    return PreparerFailed(f"The import's reader process failed: {payload['type']}: {payload['message']}")


def _send(out: BinaryIO, kind: str, payload: Any) -> None:
    pickle.dump((kind, payload), out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def main() -> None:
    """The child: read the parameters from stdin, send the chunks to stdout."""
    params = pickle.load(sys.stdin.buffer)  # noqa: S301 - written by our parent process
    # The pickles get a private copy of the pipe; file descriptor 1 and sys.stdout now lead to stderr, so
    # nothing printed by accident (by us, a library or C code) can corrupt them.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        os.environ["DJANGO_SETTINGS_MODULE"] = params["settings_module"]  # the parent's, however it was chosen
        django.setup()
        # Imported here, after django.setup(): these modules load models (the child starts with no settings).
        from voxloop.channels.fileimport.services import IMPORT_GC_THRESHOLD, prepare_chunk
        from voxloop.feedback.models import ImportBatch

        # As in the importing process (services.garbage_collector_eased), for the whole life of this one.
        gc.freeze()
        gc.set_threshold(*IMPORT_GC_THRESHOLD)
        batch = ImportBatch(**params["batch"])  # never saved: only read by prepare_chunk
        size = params["size"]
        rows: list[Any] = []
        source = iter_rows(
            Path(params["path"]), params["file_format"], encoding=params["encoding"], start_after=params["start_after"]
        )
        for row in source:
            rows.append(row)
            if len(rows) >= size:
                _send(out, _CHUNK, prepare_chunk(batch, rows, params["text_max_chars"], params["vendor"]))
                rows = []
        if rows:
            _send(out, _CHUNK, prepare_chunk(batch, rows, params["text_max_chars"], params["vendor"]))
        _send(out, _END, None)
    except BrokenPipeError:
        return  # the parent stopped listening (it finished early, failed or was killed)
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        traceback.print_exc()  # to stderr, the worker's log
        _send(
            out,
            _ERROR,
            {
                "type": type(exc).__name__,
                "code": getattr(exc, "code", ""),
                "message": getattr(exc, "message", str(exc)),
                "template": getattr(exc, "template", ""),
                "params": getattr(exc, "params", {}),
            },
        )


if __name__ == "__main__":
    main()
