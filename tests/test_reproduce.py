"""Reproduction smoke: papermill runs chapter 0 at smoke and its results file is read back and checked."""

import json
import subprocess
import sys

import pytest
from notebook_cells import REPO

import vidsynth_lite as vl


@pytest.fixture(scope="module")
def chapter0(tmp_path_factory):
    import jupytext
    import nbformat

    folder = tmp_path_factory.mktemp("nb")
    notebook = folder / "00_running_the_book.ipynb"
    nbformat.write(jupytext.read(REPO / "notebooks" / "00_running_the_book.py"), notebook)
    return notebook


def test_papermill_smoke_run_writes_checked_results(tmp_path):
    """From the jupytext source (reproduce converts it), as a user who never ran `make notebooks` would."""
    from vidsynth_lite.reproduce.run import run_chapter

    results = run_chapter(REPO / "notebooks" / "00_running_the_book.py", "running", "smoke", tmp_path / "out.ipynb")
    assert results["chapter"] == "running" and results["profile"] == "smoke"
    assert results["metrics"]["resume_bit_exact"] is True
    assert 0 < results["metrics"]["rollout_mse"] < 1 and 0 < results["metrics"]["copy_last_frame_mse"] < 1
    assert results["protocol"]["resolution"] == 16 and results["protocol"]["steps"] == 8
    assert results["environment"]["device"] == "cpu"
    assert results["config"]["steps"] == 8 and results["config"]["profile"] == "smoke"   # every parameter
    assert len(results["run_key"]) == 16
    on_disk = json.loads((vl.paths.results_dir() / "running.json").read_text())
    assert on_disk["metrics"] == results["metrics"]


@pytest.mark.parametrize("name, value, message", [
    ("stepz", 5, "unknown parameter 'stepz'"),
    ("steps", "abc", "parameter 'steps' = 'abc'"),
    ("size", 48, "expected one of [16, 32, 64]"),
])
def test_papermill_bad_parameters_fail_with_the_config_message(chapter0, tmp_path, name, value, message):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(chapter0), str(tmp_path / "bad.ipynb"), kernel_name="python3",
                                   parameters={"profile": "smoke", name: value}, progress_bar=False)
    assert "ConfigError" in str(info.value) and message in str(info.value)
    assert not (vl.paths.results_dir() / "running.json").exists(), "a failed run must not write results"


def test_results_store_round_trip_and_errors(tmp_path):
    path = vl.reproduce.write_results("toy", "smoke", {"a": 1.5}, {"n": 3}, environment={"device": "cpu"})
    record = vl.reproduce.read_results("toy")
    assert path.exists() and record["metrics"] == {"a": 1.5} and record["protocol"] == {"n": 3}
    with pytest.raises(ValueError, match="protocol"):
        vl.reproduce.write_results("toy", "smoke", {"a": 1}, {})
    with pytest.raises(FileNotFoundError, match="run the chapter"):
        vl.reproduce.read_results("absent")


def test_cli_env_prints_json():
    out = subprocess.run([sys.executable, "-m", "vidsynth_lite", "env"], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout)["device"] in ("cpu", "cuda", "mps")


# ----------------------------------------------------------------------------------------- issue 9: files, CLI
def test_results_path_is_the_file_and_names_are_checked_with_a_root(tmp_path):
    assert vl.reproduce.results_path("vqvae", tmp_path) == tmp_path / "vqvae.json"
    for bad in ("../evil", "a/b", "Vqvae", ""):
        with pytest.raises(ValueError, match="lower-case letters"):
            vl.reproduce.write_results(bad, "smoke", {"a": 1}, {"n": 1}, environment={}, root=tmp_path / "r")
    assert not (tmp_path / "evil.json").exists() and not (tmp_path / "r").exists()


def test_truncated_results_file_is_named(tmp_path):
    path = vl.reproduce.write_results("toy", "smoke", {"a": 1.5}, {"n": 3}, environment={})
    path.write_text(path.read_text()[:40])
    with pytest.raises(vl.reproduce.ResultsError, match=r"toy\.json is not a readable results file.*run the"):
        vl.reproduce.read_results("toy")


def test_results_record_every_resolved_parameter_and_the_run_key():
    from vidsynth_lite.chapters.running import RunningConfig

    cfg = vl.config.resolve(RunningConfig, {"profile": "smoke", "lr": 1e-3})
    vl.reproduce.write_results("toy", "smoke", {"a": 1}, {"n": 1}, environment={}, config=cfg)
    record = vl.reproduce.read_results("toy")
    assert record["config"] == cfg.to_dict() and record["config"]["lr"] == 1e-3
    assert record["run_key"] == vl.config.run_key(cfg) and record["code_version"] == vl.config.code_version()
    with pytest.raises(ValueError, match="profile 'lite' but config.profile 'smoke'"):
        vl.reproduce.write_results("toy", "lite", {"a": 1}, {"n": 1}, environment={}, config=cfg)


@pytest.mark.parametrize("args, message", [
    (["running", "--profile", "smoke", "-p", "frames", "2"], "parameter 'frames' = 2"),
    (["running", "--profile", "smoke", "-p", "lr", ".nan"], "parameter 'lr' = nan"),
    (["running", "--profile", "smoke", "-p", "stepz", "3"], "unknown parameter 'stepz'"),
    (["runing", "--profile", "smoke"], "unknown chapter 'runing'"),
    (["running", "--profile", "huge"], "unknown profile 'huge'"),
    (["running", "--profile", "smoke", "-p", "lr", "[1"], "not valid YAML"),
    ([], "name a chapter"),
])
def test_cli_reproduce_refuses_bad_input_with_one_line_before_running(tmp_path, capsys, args, message):
    from vidsynth_lite.cli import main

    code = main(["reproduce", *args, "--output", str(tmp_path / "out.ipynb")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out.ipynb").exists()


def test_cli_reproduce_takes_the_notebook_as_the_readme_writes_it(tmp_path, capsys, monkeypatch):
    """README: 'reproduce notebooks/03_vqvae.ipynb vqvae'. The notebook given (source or .ipynb) is the one run;
    one that is missing, no chapter's, or another chapter's than the name beside it is one line, before any run."""
    import vidsynth_lite.reproduce.run as run_module
    from vidsynth_lite.cli import main

    ran = []
    monkeypatch.setattr(run_module, "run_chapter", lambda notebook, chapter, profile, *a, **k: ran.append(
        (notebook, chapter, profile)) or {"metrics": {"a": 1}})
    source = REPO / "notebooks" / "00_running_the_book.py"
    for args in ([str(source)], [str(source), "running"], ["running"]):
        assert main(["reproduce", *args, "--profile", "smoke", "--output", str(tmp_path / "o.ipynb")]) == 0
    assert [r[1:] for r in ran] == [("running", "smoke")] * 3
    assert ran[0][0] == ran[1][0] == source and ran[2][0] == REPO / "notebooks" / "00_running_the_book.py"
    capsys.readouterr()
    for args, message in [([str(tmp_path / "00_running_the_book.ipynb")], "run 'make notebooks'"),
                          ([str(source), "vqvae"], "name different chapters"),
                          (["notebooks/99_mine.py"], "is not a chapter's notebook")]:
        assert main(["reproduce", *args, "--profile", "smoke"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert len(ran) == 3


def test_cli_pretrain_names_the_chapters_that_have_one(capsys, monkeypatch):
    import types

    from vidsynth_lite.cli import main

    assert main(["pretrain", "running"]) == 2
    err = capsys.readouterr().err
    assert "no pretrain for 'running'" in err and err.count("\n") == 1, err
    seen = []
    fake = types.SimpleNamespace(pretrain_main=lambda argv: seen.append(argv) or 0)
    monkeypatch.setitem(sys.modules, "vidsynth_lite.chapters.running", fake)
    assert main(["pretrain", "running", "--steps", "3", "--profile", "lite"]) == 0
    assert seen == [["--steps", "3", "--profile", "lite"]]     # the chapter parses its own arguments


def test_cli_lists_every_chapter_with_profiles_and_tables(capsys):
    from vidsynth_lite.chapters import CHAPTERS
    from vidsynth_lite.cli import main

    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    for name, chapter in CHAPTERS.items():
        assert name in out and f"notebooks/{chapter.notebook}.py" in out
        for table in chapter.tables:
            assert table in out
    assert "smoke | lite | full" in out


def test_reproduce_prints_a_line_per_section(tmp_path):
    from vidsynth_lite.reproduce.run import _stage_printer, as_notebook

    notebook = as_notebook(REPO / "notebooks" / "00_running_the_book.py", tmp_path)
    import contextlib
    import io

    import nbformat

    hook, cells, out = _stage_printer(notebook), nbformat.read(notebook, as_version=4).cells, io.StringIO()
    injected = nbformat.v4.new_code_cell("seed = 1", id="injected1")     # what papermill inserts
    cells.insert(next(i for i, c in enumerate(cells) if c.cell_type == "code") + 1, injected)
    with contextlib.redirect_stdout(out):
        for index, cell in enumerate(cells):
            if cell.cell_type == "code":                   # nbclient calls the hook for code cells only
                hook(cell=cell, cell_index=index)
    lines = out.getvalue().splitlines()
    total = int(lines[0].split("/")[1].split(":")[0])
    assert len(lines) == total >= 3 and all("stage" in line for line in lines)   # every section, once
    assert lines[-1].split("stage ")[1].split(":")[0].split("/")[0] == lines[-1].split("/")[1].split(":")[0]


def test_reproduce_accepts_the_jupytext_source(tmp_path):
    from vidsynth_lite.reproduce.run import as_notebook

    notebook = as_notebook(REPO / "notebooks" / "00_running_the_book.py", tmp_path)
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    first_code = next(c for c in cells if c.cell_type == "code")
    assert notebook.suffix == ".ipynb" and "parameters" in first_code.metadata["tags"]
    with pytest.raises(ValueError, match="neither a notebook"):
        as_notebook(REPO / "pyproject.toml", tmp_path)


def test_a_stalled_cell_fails_the_run_naming_it(tmp_path):
    """A cell that never finishes (here: sleeps past the limit; in the wild: a kernel and a driver both idle,
    waiting on a message that never comes) stops the run with one error naming the cell and its section, in
    about the limit, instead of waiting forever; the executed notebook so far is written."""
    import time

    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from vidsynth_lite.reproduce.run import CellStalled, run_chapter

    notebook = tmp_path / "stall.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
        new_markdown_cell("## 2. The style space"),
        new_code_cell("x = 1"),
        new_code_cell("import time\ntime.sleep(60)  # the stall"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), notebook)
    started = time.perf_counter()
    with pytest.raises(CellStalled) as info:
        run_chapter(notebook, "running", "smoke", tmp_path / "out.ipynb", timeout=3)
    message = str(info.value)
    assert time.perf_counter() - started < 50, "the limit did not stop the cell"
    assert "'2. The style space'" in message and "'import time'" in message and "3 s" in message, message
    assert "--cell-timeout" in message and str(tmp_path / "out.ipynb") in message
    assert (tmp_path / "out.ipynb").is_file()


def test_cell_timeout_defaults_by_profile_and_the_cli_passes_it(tmp_path, capsys, monkeypatch):
    import vidsynth_lite.reproduce.run as run_module
    from vidsynth_lite.cli import main

    assert run_module.cell_timeout("smoke") == 600 and run_module.cell_timeout("lite") == 3600
    assert run_module.cell_timeout("full") == 7 * 24 * 3600 and run_module.cell_timeout("smoke", 0) is None
    assert run_module.cell_timeout("lite", 90) == 90
    with pytest.raises(ValueError, match="whole number of seconds"):
        run_module.cell_timeout("smoke", -1)
    seen = []

    def fake(notebook, chapter, profile, output, parameters=None, timeout=None, **_):
        seen.append(timeout)
        if timeout == 5:
            raise run_module.CellStalled("running at smoke: cell 3 (...) did not finish")
        return {"metrics": {"a": 1}}

    monkeypatch.setattr(run_module, "run_chapter", fake)
    out = str(tmp_path / "o.ipynb")
    assert main(["reproduce", "running", "--profile", "smoke", "--output", out]) == 0
    assert main(["reproduce", "running", "--profile", "smoke", "--output", out, "--cell-timeout", "0"]) == 0
    capsys.readouterr()
    assert main(["reproduce", "running", "--profile", "smoke", "--output", out, "--cell-timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: running at smoke: cell 3") and err.count("\n") == 1, err
    assert main(["reproduce", "running", "--profile", "smoke", "--cell-timeout", "-2"]) == 2
    assert "--cell-timeout -2" in capsys.readouterr().err
    assert seen == [None, 0, 5]   # None: run_chapter takes the profile's default


@pytest.mark.parametrize("channel", ["stock", "rearming"])
def test_a_reply_that_lands_during_a_send_still_wakes_the_driver(channel):
    """The chapter 7 stall, made deterministic: nbclient awaits the execute_reply (an asyncio poll on the shell
    socket); the reply lands while the loop is busy; the driver then sends on the same socket (its Output-widget
    stand-in's comm_msg), a raw send that consumes the socket's read edge. jupyter_client's own channel never
    wakes (the reply sits in the socket); the reproduce driver's channel does."""
    import asyncio
    import time

    import zmq
    import zmq.asyncio
    from jupyter_client.channels import AsyncZMQSocketChannel
    from jupyter_client.session import Session

    from vidsynth_lite.reproduce.kernel import RearmingChannel, RearmingKernelClient, RearmingKernelManager

    assert RearmingKernelManager().client_factory is RearmingKernelClient
    assert RearmingKernelClient.class_traits()["shell_channel_class"].default_value is RearmingChannel
    cls = RearmingChannel if channel == "rearming" else AsyncZMQSocketChannel

    async def scenario():
        ctx = zmq.asyncio.Context()
        kernel = ctx.socket(zmq.ROUTER)
        port = kernel.bind_to_random_port("tcp://127.0.0.1")
        driver = ctx.socket(zmq.DEALER)
        driver.connect(f"tcp://127.0.0.1:{port}")
        session = Session(key=b"k")
        shell = cls(driver, session)
        try:
            shell.send(session.msg("execute_request"))
            ident = (await kernel.recv_multipart())[0]
            waiting = asyncio.ensure_future(shell.get_msg(timeout=None))   # nbclient._async_poll_for_reply
            await asyncio.sleep(0.2)
            zmq.Socket.shadow(kernel.underlying).send_multipart([ident, *session.serialize(
                session.msg("execute_reply"))])
            time.sleep(0.3)  # noqa: ASYNC251 -- the loop is busy (blocked) when the reply lands
            shell.send(session.msg("comm_msg"))          # OutputWidget.sync_state
            try:
                return (await asyncio.wait_for(waiting, 5))["msg_type"]
            except asyncio.TimeoutError:
                return "stalled"
        finally:
            driver.close(linger=0)
            kernel.close(linger=0)
            ctx.term()

    got = asyncio.run(scenario())
    assert got == ("execute_reply" if channel == "rearming" else "stalled"), got
