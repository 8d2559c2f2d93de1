"""``exo-spec demo`` output: plain lines off a terminal; on one, a tqdm bar for the download."""

from __future__ import annotations

import io

import pytest

from exo_spec.cli import main
from exo_spec.commands.demo import _DownloadBar, _Printer, wants_bar
from exo_spec.runtime.engine_protocol import DownloadProgress
from exo_spec.runtime.wire import DownloadProgressed, TaskId


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _progress(done: int, files_done: int) -> DownloadProgressed:
    return DownloadProgressed(TaskId("download"), DownloadProgress(done, 4096, files_done, 3))


def test_plain_lines_when_not_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--max-tokens", "4"]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in out + err  # no bar redrawing a line
    assert "  DownloadProgress(download, 0/" in out
    assert "exo-spec demo: " in err


def test_a_bar_only_when_both_streams_are_terminals() -> None:
    assert wants_bar(_Tty(), _Tty())
    assert not wants_bar(io.StringIO(), _Tty())
    assert not wants_bar(_Tty(), io.StringIO())


def test_on_a_terminal_the_download_is_a_tqdm_bar_and_its_last_step_a_line() -> None:
    out, err = io.StringIO(), _Tty()
    printer = _Printer(out, as_json=False, bar=_DownloadBar(err, mininterval=0))
    for event in (_progress(0, 0), _progress(1024, 1), _progress(3000, 2)):
        printer(event)
    assert out.getvalue() == ""  # the bar, not lines
    assert "2/3 files" in err.getvalue()
    assert "\r" in err.getvalue()  # tqdm redraws its line
    printer(_progress(4096, 3))
    assert out.getvalue() == "  DownloadProgress(download, 3/3 files, 0.0 MB of 0.0 MB)\n"
    assert printer.events == 4
