#!/usr/bin/python3
"""Executes a notebook headlessly with nbclient and writes the executed copy (nbformat JSON).

    /usr/bin/python3 tests/run_notebook.py IN.ipynb OUT.ipynb [--kernel deno] [--timeout 300]

Used by tests/notebooks_test.ts with Deno's Jupyter kernel. The kernel runs in the notebook's
folder, so the notebooks import Kiln by a relative path. Deno's kernel can report `idle` just
before a cell's result or display arrives on IOPub (its result is formatted asynchronously, and
Kiln's tensor display realizes lazily), and nbclient stops listening at `idle`; this client keeps
listening for a short grace period after `idle` and ends a cell when it goes quiet. Exit status:
0 when every cell ran, 1 on a cell error (the executed copy is still written), 2 on bad usage.
"""
import argparse
import asyncio
import sys
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError
from nbclient.util import ensure_async

# Seconds of IOPub silence after `idle` that end a cell.
GRACE = 0.5


class GraceClient(NotebookClient):
    """nbclient's client, collecting a cell's outputs until IOPub is quiet after `idle`."""

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        idle = False
        while True:
            try:
                msg = await ensure_async(
                    self.kc.iopub_channel.get_msg(timeout=GRACE if idle else None)
                )
            except (Empty, asyncio.TimeoutError):
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                idle = True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebook")
    p.add_argument("out")
    p.add_argument("--kernel", default="deno")
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    a = p.parse_args()
    nb = nbformat.read(a.notebook, as_version=4)
    folder = a.notebook.rsplit("/", 1)[0] if "/" in a.notebook else "."
    client = GraceClient(
        nb,
        kernel_name=a.kernel,
        timeout=a.timeout,
        # The wait for the last outputs after the reply; the grace loop above ends it sooner.
        iopub_timeout=30,
        resources={"metadata": {"path": folder}},
    )
    status = 0
    try:
        client.execute()
    except CellExecutionError as e:
        print(str(e)[:4000], file=sys.stderr)
        status = 1
    nbformat.write(nb, a.out)
    return status


if __name__ == "__main__":
    sys.exit(main())
