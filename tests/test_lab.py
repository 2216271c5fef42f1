"""JupyterLab readers: a real Jupyter server opens a chapter *source* as a notebook (jupytext), runs it at smoke in a
kernel that the server started, and saving writes both paired files. Fails if pairing or execution breaks."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTER = "notebooks/00_running_the_book.py"
websocket = pytest.importorskip("websocket", reason="websocket-client talks to the kernel")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``jupyter server`` on a loopback port, rooted in ``root``, with a random token."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.port, self.token = _free_port(), uuid.uuid4().hex
        jupyter = Path(sys.executable).with_name("jupyter")
        self.process = subprocess.Popen(
            [str(jupyter), "server", "--no-browser", f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={self.token}",
             "--ServerApp.port_retries=0", "--allow-root"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("jupyter server exited: " + self.process.stderr.read().decode()[-2000:])
            try:
                self.request("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("jupyter server did not answer within 60 s")

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as answer:
            text = answer.read().decode()
        return json.loads(text) if text else {}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _execute(ws, code: str, timeout: float = 600) -> dict:
    """Run one cell through the kernel's websocket; return its execute_reply content (and collected errors)."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                                   "session": uuid.uuid4().hex, "version": "5.3"},
                        "parent_header": {}, "metadata": {}, "channel": "shell",
                        "content": {"code": code, "silent": False, "store_history": True,
                                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    deadline = time.time() + timeout
    errors = []
    while time.time() < deadline:
        message = json.loads(ws.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "error":
            errors.append(f"{message['content']['ename']}: {message['content']['evalue']}")
        if message["channel"] == "shell" and message["msg_type"] == "execute_reply":
            return {**message["content"], "errors": errors}
    raise TimeoutError(f"no execute_reply within {timeout} s")


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "book"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "jupytext.toml", root / "jupytext.toml")
    shutil.copy(REPO / CHAPTER, root / CHAPTER)
    env = {**os.environ, "VIDSYNTH_PROFILE": "smoke", "VIDSYNTH_THREADS": "1", "JUPYTER_PLATFORM_DIRS": "1",
           "VIDSYNTH_RESULTS": str(tmp_path / "results"), "VIDSYNTH_RUNS": str(tmp_path / "runs"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    running = Server(root, env)
    try:
        yield running, root
    finally:
        running.stop()


def test_a_chapter_source_opens_runs_and_saves_paired_through_a_real_server(server):
    srv, root = server
    model = srv.request("GET", f"/api/contents/{CHAPTER}?type=notebook&content=1")
    assert model["type"] == "notebook", "jupytext did not open the .py source as a notebook"
    cells = model["content"]["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", []), "the parameters cell lost its tag"

    kernel = srv.request("POST", "/api/kernels", {"name": "python3"})
    ws = websocket.create_connection(f"ws://127.0.0.1:{srv.port}/api/kernels/{kernel['id']}/channels"
                                     f"?token={srv.token}", timeout=600)
    try:
        for i, cell in enumerate(code):
            reply = _execute(ws, cell["source"])
            assert reply["status"] == "ok", f"code cell {i + 1} failed: {reply['errors']}"
        reply = _execute(ws, "print(cfg.profile)")
        assert reply["status"] == "ok"
    finally:
        ws.close()
        srv.request("DELETE", f"/api/kernels/{kernel['id']}")

    cells.append({"cell_type": "markdown", "metadata": {}, "source": "A note saved from JupyterLab."})
    srv.request("PUT", f"/api/contents/{CHAPTER}", {"type": "notebook", "format": "json",
                                                   "content": model["content"]})
    paired = root / CHAPTER.replace(".py", ".ipynb")
    assert paired.is_file(), "saving did not write the paired .ipynb"
    assert "A note saved from JupyterLab." in (root / CHAPTER).read_text(), "the .py source was not updated"
    assert "A note saved from JupyterLab." in paired.read_text()
