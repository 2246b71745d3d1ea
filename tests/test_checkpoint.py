"""Checkpoint I/O: atomic writes, plain-data mmengine state, the weights-only loader."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from tooling import write_malicious_checkpoint

from nst_det.engine import AtomicLocalBackend
from nst_det.engine.plain_data import from_plain, to_plain
from nst_det.utils.checkpoint import atomic_save, read_checkpoint
from nst_det.utils.errors import NSTDetError


def test_atomic_save_never_leaves_a_half_written_file(tmp_path, monkeypatch):
    target = tmp_path / "ckpt.pth"
    atomic_save({"w": torch.ones(3)}, target)
    before = target.read_bytes()

    def fail_with(exc: BaseException):
        def replace(*args, **kwargs):
            raise exc
        return replace

    monkeypatch.setattr(os, "replace", fail_with(OSError(28, "No space left on device")))
    with pytest.raises(NSTDetError, match=r"cannot write .*ckpt.pth \(0.0 MiB\): No space left on device; "
                                          r"ckpt.pth was left as it was"):
        atomic_save({"w": torch.zeros(1000)}, target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pth"]  # no temporary file left behind

    monkeypatch.setattr(os, "replace", fail_with(KeyboardInterrupt()))  # Ctrl-C mid-write: passed on as it is
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"w": torch.zeros(1000)}, target)
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.pth"]


def test_atomic_backend_replaces_whole_files(tmp_path):
    backend = AtomicLocalBackend()
    backend.put(b"first", tmp_path / "epoch_1.pth")
    backend.put_text("epoch_1.pth", tmp_path / "last_checkpoint")
    backend.put(b"second", tmp_path / "epoch_1.pth")
    assert (tmp_path / "epoch_1.pth").read_bytes() == b"second"
    assert sorted(os.listdir(tmp_path)) == ["epoch_1.pth", "last_checkpoint"]


def test_message_hub_state_round_trips_through_weights_only_load(tmp_path):
    hub = MessageHub.get_instance("test_plain_round_trip")
    for i in range(5):
        hub.update_scalar("train/loss", 1.0 / (i + 1), count=2)
    hub.update_info("iter", 5)
    state = {"message_hub": hub.state_dict(), "meta": {"seed": np.int64(3), "arr": np.arange(4.0)}}
    with pytest.raises(pickle.UnpicklingError):  # what mmengine writes is refused by the safe loader
        torch.save(state, tmp_path / "raw.pth")
        torch.load(tmp_path / "raw.pth", weights_only=True)

    torch.save(to_plain(state), tmp_path / "plain.pth")
    restored = from_plain(torch.load(tmp_path / "plain.pth", weights_only=True))
    buffer = restored["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(buffer, HistoryBuffer)
    np.testing.assert_allclose(buffer.data[0], [1.0, 0.5, 1 / 3, 0.25, 0.2])
    np.testing.assert_allclose(buffer.data[1], [2, 2, 2, 2, 2])
    assert restored["message_hub"]["runtime_info"]["iter"] == 5
    assert restored["meta"]["seed"] == 3
    np.testing.assert_array_equal(restored["meta"]["arr"], np.arange(4.0))
    fresh = MessageHub.get_instance("test_plain_round_trip_2")
    fresh.load_state_dict(restored["message_hub"])
    # HistoryBuffer.mean() is sum(values) / sum(counts)
    assert fresh.get_scalar("train/loss").mean() == pytest.approx(sum([1.0, 0.5, 1 / 3, 0.25, 0.2]) / 10)


def test_non_plain_objects_are_named(tmp_path):
    with pytest.raises(NSTDetError, match=r"cannot store meta\.hooks\[1\]: .*_Opaque is not plain data"):
        to_plain({"hooks": [1, _Opaque()]}, "meta")


class _Opaque:
    pass


def test_read_checkpoint_refuses_code_and_reports_corruption(tmp_path):
    target = tmp_path / "pwned"
    write_malicious_checkpoint(tmp_path / "evil.pth", target, key="meta")
    with pytest.raises(NSTDetError, match=r"resume checkpoint .*evil\.pth refers to io\.open, which no checkpoint "
                                          r"needs and an attack would use: refusing it \(nothing in it was run\)"):
        read_checkpoint(tmp_path / "evil.pth", what="resume checkpoint")
    assert not target.exists()
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(NSTDetError, match="not a readable PyTorch checkpoint"):
        read_checkpoint(tmp_path / "empty.pth")
    with pytest.raises(NSTDetError, match="is not a file"):
        read_checkpoint(tmp_path)
