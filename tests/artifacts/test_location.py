"""`--artifacts` takes a directory or an s3:// URL, and prints back as it was given."""

from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.artifacts.location import S3Location, parse_artifacts_location


def test_a_path_is_a_directory() -> None:
    """Anything that is not an s3:// URL is a local directory."""
    assert parse_artifacts_location("var/artifacts") == Path("var/artifacts")


@pytest.mark.parametrize(
    ("text", "location", "shown"),
    [
        (
            "s3://models/recmesh/prod",
            S3Location("models", "recmesh/prod"),
            "s3://models/recmesh/prod",
        ),
        ("s3://models/recmesh/", S3Location("models", "recmesh"), "s3://models/recmesh"),
        ("s3://models", S3Location("models", ""), "s3://models"),
    ],
)
def test_an_s3_url_is_a_bucket_and_prefix(text: str, location: S3Location, shown: str) -> None:
    """The bucket and the prefix without its slashes; str() gives the URL back."""
    assert parse_artifacts_location(text) == location
    assert str(location) == shown
    assert parse_artifacts_location(shown) == location


def test_keys_go_under_the_prefix() -> None:
    """A key is relative to the prefix, or to the bucket's root when there is none."""
    assert S3Location("b-1", "p/q").key("blobs/x") == "p/q/blobs/x"
    assert S3Location("b-1").key("blobs/x") == "blobs/x"


@pytest.mark.parametrize("text", ["s3://", "s3:///prefix", "s3://Upper/p", "s3://a/p"])
def test_a_bucket_name_s3_refuses_is_refused(text: str) -> None:
    """An s3:// URL whose bucket S3 would not accept is a ValueError (a usage error)."""
    with pytest.raises(ValueError, match="bucket"):
        parse_artifacts_location(text)
