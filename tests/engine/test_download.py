"""Model downloads over real HTTP against the local hub (``serve_hub`` on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from attrs import evolve

from exo_spec.engine.download import (
    CorruptDownloadError,
    DownloadLimits,
    DownloadTimeoutError,
    HubResponseError,
    InvalidRepoIdError,
    ModelsDirError,
    OfflineMissingError,
    RepoNotFoundError,
    RevisionNotFoundError,
    TerminalProgress,
    UnsafePathError,
    UnverifiableFileError,
    download_model,
    model_dir_for,
    models_dir,
    weights_present,
)
from exo_spec.runtime.engine_protocol import DownloadProgress, ModelRef
from exo_spec.testing.hub import HubFaults, HubServer, load_repo, serve_hub

REPO = "exo-test/synthetic"
MODEL = ModelRef(REPO)


def _make_repo(root: Path, weights_size: int = 300_000) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 32}))
    (repo / "tokenizer.json").write_text(json.dumps({"model": {"vocab": {"a": 0, "b": 1}}}))
    (repo / "model.safetensors").write_bytes(os.urandom(weights_size))
    (repo / "README.md").write_text("not matched by the default patterns\n")
    return repo


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    return _make_repo(tmp_path)


@pytest.fixture
def hub(repo_dir: Path) -> Iterator[HubServer]:
    with serve_hub({REPO: repo_dir}) as server:
        yield server


class Recorder:
    def __init__(self) -> None:
        self.events: list[DownloadProgress] = []

    def __call__(self, p: DownloadProgress) -> None:
        self.events.append(p)


def _download(hub: HubServer, models: Path, **kwargs: object) -> Path:
    return download_model(MODEL, models, Recorder(), endpoint=hub.url, **kwargs)  # type: ignore[arg-type]


def test_clean_download_writes_manifest_and_is_present(
    hub: HubServer, repo_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    target = _download(hub, models)
    assert target == models / "exo-test--synthetic"
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        assert (target / name).read_bytes() == (repo_dir / name).read_bytes()
    assert not (target / "README.md").exists()
    manifest = json.loads((target / ".exo-manifest.json").read_text())
    assert manifest["commit"] == hub.repos[REPO].commit
    weights = next(f for f in manifest["files"] if f["path"] == "model.safetensors")
    data = (repo_dir / "model.safetensors").read_bytes()
    assert weights == {
        "path": "model.safetensors",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert weights_present(target).ok


def test_second_download_is_one_request(hub: HubServer, tmp_path: Path) -> None:
    _download(hub, tmp_path / "models")
    hub.reset_counters()
    _download(hub, tmp_path / "models")
    assert [m for m, _ in hub.requests] == ["GET"]
    assert hub.body_bytes("model.safetensors") == 0


def test_progress_is_monotone_and_ends_at_totals(
    hub: HubServer, repo_dir: Path, tmp_path: Path
) -> None:
    rec = Recorder()
    download_model(MODEL, tmp_path / "models", rec, endpoint=hub.url)
    sizes = sum((repo_dir / n).stat().st_size for n in ("config.json", "tokenizer.json"))
    total = sizes + (repo_dir / "model.safetensors").stat().st_size
    assert len(rec.events) > 2
    for before, after in zip(rec.events, rec.events[1:], strict=False):
        assert after.downloaded_bytes >= before.downloaded_bytes
        assert after.files_done >= before.files_done
    assert all(e.total_bytes == total and e.total_files == 3 for e in rec.events)
    assert rec.events[-1] == DownloadProgress(total, total, 3, 3)
    # real bytes were reported before the end, not only the final jump
    assert any(0 < e.downloaded_bytes < total for e in rec.events)


def test_dropped_connection_resumes_with_range(tmp_path: Path) -> None:
    repo = _make_repo(tmp_path, weights_size=12_000_000)
    faults = HubFaults(drop_after_bytes={"model.safetensors": 11_000_000})
    with serve_hub({REPO: repo}, faults) as server:
        target = _download(server, tmp_path / "models")
        assert faults.dropped == {"model.safetensors"}
        assert [r for _, r in server.range_requests] == ["bytes=11000000-"]
        assert server.body_bytes("model.safetensors") < 2 * 12_000_000
    data = (repo / "model.safetensors").read_bytes()
    assert (target / "model.safetensors").read_bytes() == data
    assert weights_present(target).ok


def test_failed_file_then_second_call_fetches_only_what_is_missing(
    repo_dir: Path, tmp_path: Path
) -> None:
    faults = HubFaults(fail_files={"model.safetensors"})
    models = tmp_path / "models"
    with serve_hub({REPO: repo_dir}, faults) as server:
        with pytest.raises(HubResponseError, match="HTTP 500") as info:
            _download(server, models)
        assert REPO in str(info.value)
        assert server.url in str(info.value)
        target = model_dir_for(models, REPO)
        assert not weights_present(target).ok
        assert (target / "config.json").is_file()
        faults.fail_files.clear()
        server.reset_counters()
        _download(server, models)
        assert server.body_bytes("config.json") == 0
        assert server.body_bytes("tokenizer.json") == 0
        assert server.body_bytes("model.safetensors") == 300_000
    assert weights_present(target).ok


def test_unknown_repo_raises_repo_not_found(hub: HubServer, tmp_path: Path) -> None:
    with pytest.raises(RepoNotFoundError, match=r"'exo-test/nope'.*repo not found"):
        download_model(ModelRef("exo-test/nope"), tmp_path, Recorder(), endpoint=hub.url)


def test_wrong_revision_raises_revision_not_found(hub: HubServer, tmp_path: Path) -> None:
    with pytest.raises(RevisionNotFoundError, match=r"revision 'v9'.*commit sha"):
        download_model(ModelRef(REPO, revision="v9"), tmp_path, Recorder(), endpoint=hub.url)


def test_commit_sha_revision_is_accepted(hub: HubServer, tmp_path: Path) -> None:
    commit = hub.repos[REPO].commit
    target = download_model(ModelRef(REPO, revision=commit), tmp_path, Recorder(), endpoint=hub.url)
    assert weights_present(target).ok


def test_slow_server_times_out_naming_endpoint(repo_dir: Path, tmp_path: Path) -> None:
    with serve_hub({REPO: repo_dir}, HubFaults(delay_s=5.0)) as server:
        with pytest.raises(DownloadTimeoutError) as info:
            _download(server, tmp_path / "models", timeout_s=0.2)
        assert server.url in str(info.value)
        assert "0.2 s" in str(info.value)


def test_endpoint_and_token_from_environment(
    repo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_hub({REPO: repo_dir}, HubFaults(token="hf_secret")) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        with pytest.raises(RepoNotFoundError, match="HF_TOKEN"):
            download_model(MODEL, tmp_path / "models", Recorder())
        monkeypatch.setenv("HF_TOKEN", "hf_secret")
        target = download_model(MODEL, tmp_path / "models", Recorder())
    assert weights_present(target).ok


def test_offline_with_files_present_makes_no_request(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    _download(hub, models)
    hub.reset_counters()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rec = Recorder()
    target = download_model(MODEL, models, rec, endpoint=hub.url)
    assert hub.requests == []
    assert weights_present(target).ok
    assert rec.events[-1].files_done == rec.events[-1].total_files == 3


def test_offline_without_files_fails_clearly(hub: HubServer, tmp_path: Path) -> None:
    with pytest.raises(OfflineMissingError, match=r"offline mode.*no manifest"):
        download_model(MODEL, tmp_path, Recorder(), endpoint=hub.url, offline=True)
    assert hub.requests == []


def test_offline_with_a_damaged_file_names_it(hub: HubServer, tmp_path: Path) -> None:
    target = _download(hub, tmp_path)
    (target / "tokenizer.json").unlink()
    with pytest.raises(OfflineMissingError, match=r"tokenizer\.json: missing"):
        download_model(MODEL, tmp_path, Recorder(), endpoint=hub.url, offline=True)


@pytest.mark.parametrize(
    "bad_name", ["../evil.json", "/exo-spec-absolute-evil/evil.json", "a/../../b.json"]
)
def test_path_traversal_names_are_rejected(repo_dir: Path, tmp_path: Path, bad_name: str) -> None:
    repo = load_repo(REPO, repo_dir, extra_files={bad_name: b'{"pwned": true}'})
    models = tmp_path / "models"
    with serve_hub({REPO: repo}) as server:
        with pytest.raises(UnsafePathError, match="outside") as info:
            _download(server, models)
        assert repr(bad_name) in str(info.value)
        assert not any(m == "HEAD" or "/resolve/" in p for m, p in server.requests)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "repo" not in p.parts]
    assert written == []
    assert not Path("/exo-spec-absolute-evil").exists()


def test_corrupt_bytes_from_the_hub_are_rejected(repo_dir: Path, tmp_path: Path) -> None:
    faults = HubFaults(corrupt_files={"model.safetensors"})
    with serve_hub({REPO: repo_dir}, faults) as server:
        with pytest.raises(CorruptDownloadError, match=r"model\.safetensors.*sha256"):
            _download(server, tmp_path)
        target = model_dir_for(tmp_path, REPO)
        assert not (target / "model.safetensors").exists()
        faults.corrupt_files.clear()
        _download(server, tmp_path)
    assert weights_present(target).ok


def test_corrupted_file_is_reported(hub: HubServer, tmp_path: Path) -> None:
    target = _download(hub, tmp_path)
    path = target / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    check = weights_present(target)
    assert not check.ok
    assert len(check.problems) == 1
    assert check.problems[0].startswith("model.safetensors: sha256 mismatch")


def test_truncated_file_is_reported_with_sizes(hub: HubServer, tmp_path: Path) -> None:
    target = _download(hub, tmp_path)
    path = target / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1234])
    check = weights_present(target)
    assert check.problems == (
        "model.safetensors: size 1234 bytes, expected 300000 (truncated or partial)",
    )


def test_missing_manifest_means_not_present(tmp_path: Path) -> None:
    check = weights_present(tmp_path)
    assert not check.ok
    assert "no manifest" in check.problems[0]


@pytest.mark.parametrize(
    "repo_id", ["noslash", "a/b/c", "../x", "/abs/x", "org/..", "org/na me", "a--b/c", ""]
)
def test_invalid_repo_ids_are_rejected(repo_id: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidRepoIdError, match="expected 'org/name'"):
        model_dir_for(tmp_path, repo_id)


def test_models_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXO_MODELS_DIR", raising=False)
    assert models_dir() == Path.home() / ".local/share/exo/models"
    monkeypatch.setenv("EXO_MODELS_DIR", str(tmp_path / "env"))
    assert models_dir() == tmp_path / "env"
    assert models_dir(tmp_path / "flag") == tmp_path / "flag"


def test_terminal_progress_prints_a_line_per_file() -> None:
    out = io.StringIO()
    bar = TerminalProgress("tiny", stream=out)
    bar(DownloadProgress(0, 2_000_000, 0, 2))
    bar(DownloadProgress(1_000_000, 2_000_000, 0, 2))
    bar(DownloadProgress(1_000_000, 2_000_000, 1, 2))
    bar(DownloadProgress(2_000_000, 2_000_000, 2, 2))
    assert out.getvalue().splitlines() == [
        "tiny: 0.0 MB/2.0 MB, 0/2 files",
        "tiny: 1.0 MB/2.0 MB, 1/2 files",
        "tiny: 2.0 MB/2.0 MB, 2/2 files",
    ]


# -- hostile hubs: every metadata read bounded in bytes and time, every body in its rate -------

# small bounds, with room for a loaded machine where an answer is meant to arrive in time
SMALL = DownloadLimits(
    metadata_timeout_s=5.0, metadata_max_bytes=256 * 1024, body_stall_s=1.0, body_min_bytes=1024
)


def test_endless_model_info_is_cut_at_the_size_bound(repo_dir: Path, tmp_path: Path) -> None:
    with serve_hub({REPO: repo_dir}, HubFaults(endless_info=True)) as server:
        with pytest.raises(HubResponseError, match=r"model info.*more than 262144 bytes") as info:
            _download(server, tmp_path / "models", limits=SMALL)
        assert server.url in str(info.value)
        assert not any("/resolve/" in p for _, p in server.requests)


def test_trickling_model_info_times_out_in_total(repo_dir: Path, tmp_path: Path) -> None:
    # a byte every 0.05 s: each read is quick, but the whole answer would take about a minute
    with serve_hub({REPO: repo_dir}, HubFaults(trickle_info_s=0.05)) as server:
        with pytest.raises(DownloadTimeoutError, match=r"model info.*0\.5 s in all") as info:
            _download(server, tmp_path / "models", limits=evolve(SMALL, metadata_timeout_s=0.5))
        assert server.url in str(info.value)


def test_trickling_file_body_is_refused_below_the_rate_floor(
    repo_dir: Path, tmp_path: Path
) -> None:
    faults = HubFaults(trickle_files={"model.safetensors": 0.05})
    with serve_hub({REPO: repo_dir}, faults) as server:
        with pytest.raises(
            DownloadTimeoutError, match=r"model\.safetensors: fewer than 1024 bytes in 1 s"
        ):
            _download(server, tmp_path / "models", limits=SMALL)
        assert server.body_bytes("model.safetensors") < 1024


def test_silent_file_body_is_refused_after_the_stall_bound(repo_dir: Path, tmp_path: Path) -> None:
    faults = HubFaults(hold_after_bytes={"model.safetensors": 100_000})
    with serve_hub({REPO: repo_dir}, faults) as server:
        with pytest.raises(DownloadTimeoutError, match=r"stalled at byte 100000 of 300000"):
            _download(server, tmp_path / "models", limits=SMALL)
        assert faults.held == {"model.safetensors"}


def test_files_without_size_or_hash_are_refused(repo_dir: Path, tmp_path: Path) -> None:
    faults = HubFaults(omit_metadata={"model.safetensors"})
    with serve_hub({REPO: repo_dir}, faults) as server:
        with pytest.raises(UnverifiableFileError, match=r"model\.safetensors.*no size.*no hash"):
            _download(server, tmp_path / "models")
        assert server.body_bytes("model.safetensors") == 0


@pytest.mark.parametrize("blocker", ["models_dir_is_a_file", "model_dir_is_a_file"])
def test_unwritable_models_folder_is_a_download_error(
    hub: HubServer, tmp_path: Path, blocker: str
) -> None:
    models = tmp_path / "models"
    if blocker == "models_dir_is_a_file":
        models.write_text("not a folder")
    else:
        models.mkdir()
        model_dir_for(models, REPO).write_text("not a folder")
    with pytest.raises(ModelsDirError, match=r"cannot write .*models.*writable models folder"):
        _download(hub, models)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_models_folder_is_a_download_error(hub: HubServer, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    models.chmod(0o555)
    try:
        with pytest.raises(ModelsDirError, match="Permission denied"):
            _download(hub, models)
    finally:
        models.chmod(0o755)


# -- resume after a killed download --------------------------------------------------------------

_CHILD = """
import sys
from pathlib import Path
from exo_spec.engine.download import download_model
from exo_spec.runtime.engine_protocol import ModelRef
download_model(ModelRef(sys.argv[1]), Path(sys.argv[2]), lambda p: None, endpoint=sys.argv[3])
"""


def _wait_for(check: Callable[[], bool], bound_s: float = 20.0) -> None:
    deadline = time.monotonic() + bound_s
    while not check():
        assert time.monotonic() < deadline, "condition not met within the bound"
        time.sleep(0.02)


def _kill_mid_download(server: HubServer, models: Path, at: int) -> None:
    """Run a download in a child process, SIGKILL it once ``at`` bytes of the weights are on disk."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD, REPO, str(models), server.url])
    try:
        _wait_for(lambda: server.faults.held == {"model.safetensors"})
        _wait_for(lambda: _on_disk(models) >= at)
    finally:
        child.kill()
        child.wait(timeout=10)


def _on_disk(models: Path) -> int:
    partials = [p for p in models.rglob("*") if p.is_file() and "incomplete" in p.name]
    return max((p.stat().st_size for p in partials), default=0)


def _leftovers(models: Path) -> list[Path]:
    return [p for p in models.rglob("*") if p.is_file() and "incomplete" in p.name]


def test_killed_download_resumes_from_disk_and_leaves_nothing(
    repo_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    faults = HubFaults(hold_after_bytes={"model.safetensors": 200_000})
    with serve_hub({REPO: repo_dir}, faults) as server:
        _kill_mid_download(server, models, 200_000)
        assert _leftovers(models)
        server.reset_counters()
        target = _download(server, models)
        assert [r for _, r in server.range_requests] == ["bytes=200000-"]
        assert server.body_bytes("model.safetensors") == 100_000
        assert server.body_bytes("config.json") == 0
    assert _leftovers(models) == []
    assert weights_present(target).ok


def test_leftover_of_a_changed_file_is_cleaned_not_resumed(repo_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    faults = HubFaults(hold_after_bytes={"model.safetensors": 200_000})
    with serve_hub({REPO: repo_dir}, faults) as server:
        _kill_mid_download(server, models, 200_000)
    (repo_dir / "model.safetensors").write_bytes(os.urandom(300_000))
    with serve_hub({REPO: repo_dir}) as server:
        target = _download(server, models)
        assert server.range_requests == []
        assert server.body_bytes("model.safetensors") == 300_000
    assert _leftovers(models) == []
    assert (target / "model.safetensors").read_bytes() == (
        repo_dir / "model.safetensors"
    ).read_bytes()


def test_concurrent_downloads_of_one_model_both_succeed(hub: HubServer, tmp_path: Path) -> None:
    models = tmp_path / "models"
    with ThreadPoolExecutor(2) as pool:
        targets = list(pool.map(lambda _: _download(hub, models), range(2)))
    assert targets[0] == targets[1]
    assert weights_present(targets[0]).ok
    assert _leftovers(models) == []


def test_a_resumed_file_whose_prefix_changed_on_disk_is_caught(
    repo_dir: Path, tmp_path: Path
) -> None:
    """The bytes already on disk are hashed when a download resumes, not taken on trust."""
    models = tmp_path / "models"
    faults = HubFaults(hold_after_bytes={"model.safetensors": 200_000})
    with serve_hub({REPO: repo_dir}, faults) as server:
        _kill_mid_download(server, models, 200_000)
        (partial,) = _leftovers(models)
        data = bytearray(partial.read_bytes())
        data[10] ^= 0xFF
        partial.write_bytes(bytes(data))
        server.reset_counters()
        with pytest.raises(CorruptDownloadError, match=r"model\.safetensors.*sha256"):
            _download(server, models)
        assert [r for _, r in server.range_requests] == [f"bytes={len(data)}-"]
        target = _download(server, models)
    assert weights_present(target).ok


def test_a_partial_file_complete_on_disk_is_verified_before_use(
    repo_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    target = _download_once(repo_dir, models)
    weights = (target / "model.safetensors").read_bytes()
    manifest = target / ".exo-manifest.json"
    manifest.unlink()
    (target / "model.safetensors").unlink()
    partial_dir = target / ".cache" / "exo" / "partial"
    partial_dir.mkdir(parents=True)
    sha256 = hashlib.sha256(weights).hexdigest()
    (partial_dir / f"{sha256}.incomplete").write_bytes(b"\0" * len(weights))
    with serve_hub({REPO: repo_dir}) as server:
        with pytest.raises(CorruptDownloadError, match=r"model\.safetensors.*sha256"):
            _download(server, models)
        assert server.body_bytes("model.safetensors") == 0
        _download(server, models)
    assert (target / "model.safetensors").read_bytes() == weights


def _download_once(repo_dir: Path, models: Path) -> Path:
    with serve_hub({REPO: repo_dir}) as server:
        return _download(server, models)
