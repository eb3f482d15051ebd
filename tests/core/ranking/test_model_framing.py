"""Model bytes must be one whole JSON or UBJSON document before XGBoost reads them."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from recmesh.core.ranking.model_framing import ModelFramingError, check_model_framing


def _booster() -> xgb.Booster:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    return xgb.train({"max_depth": 4, "nthread": 1}, xgb.DMatrix(x, label=x[:, 0]), 12)


@pytest.mark.parametrize("fmt", ["ubj", "json"])
def test_whole_models_pass(fmt: str) -> None:
    """What XGBoost writes, in either format, is accepted as it is."""
    check_model_framing(bytes(_booster().save_raw(fmt)))


@pytest.mark.parametrize("fmt", ["ubj", "json"])
def test_every_truncation_is_refused(fmt: str) -> None:
    """Cut anywhere, a model is refused here rather than handed to XGBoost."""
    data = bytes(_booster().save_raw(fmt))
    cuts = range(1, len(data), max(1, len(data) // 400))
    refused = 0
    for cut in cuts:
        with pytest.raises(ModelFramingError):
            check_model_framing(data[:cut])
        refused += 1
    assert refused == len(cuts) >= 300


def test_ubjson_truncation_names_where_the_file_ends() -> None:
    """The message says where the bytes stop, so a person can find the short copy."""
    data = bytes(_booster().save_raw("ubj"))
    with pytest.raises(ModelFramingError, match=f"ends at byte {len(data) // 2}"):
        check_model_framing(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"not a model", "neither a JSON nor a UBJSON"),
        (b"{i\x01aT}X", "1 bytes follow the end"),
        (b"{}{}", "JSON model is not whole"),
        (b"{i\x01aX}", "unknown UBJSON marker"),
        (b"{i\x01a[$d#i\x02\x00\x00\x00\x00}", "inside a typed array"),
        (b"{i\x01a[$d}", "lacks its count"),
        (b"{i\x01aSi\xff}", "negative length"),
        (b"{i\x01a" + b"[" * 70 + b"]" * 70 + b"}", "deeper than 64"),
        (b'{"learner": ', "JSON model is not whole"),
    ],
)
def test_malformed_bytes_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    """Each kind of damage is refused and named."""
    with pytest.raises(ModelFramingError, match=reason):
        check_model_framing(data)


def test_trailing_whitespace_passes_as_xgboost_reads_it() -> None:
    """A copy that gained a newline at its end still loads in XGBoost: not refused."""
    check_model_framing(bytes(_booster().save_raw("ubj")) + b"\n")


def test_a_small_hand_written_ubjson_object_passes() -> None:
    """Counted, typed and open containers and every scalar marker are walked."""
    data = (
        b"{"
        b"i\x01a[$l#i\x02\x00\x00\x00\x01\x00\x00\x00\x02"
        b"i\x01b[#U\x02SU\x02hiT"
        b"i\x01c{$S#i\x01i\x01kU\x01v"
        b"i\x01d[ZNFi\x05U\x06I\x00\x07d\x00\x00\x00\x00D" + b"\x00" * 8 + b"Cx]"
        b"}"
    )
    check_model_framing(data)
