"""Where an artifact store lives: a local directory, or `s3://bucket/prefix`.

`--artifacts` of every process takes either; `parse_artifacts_location` is its
argparse type, and `str()` of a location gives back what was parsed (what `recmesh up`
passes on to the processes it starts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

S3_SCHEME = "s3://"
# S3's bucket naming rules (3-63 characters: lower-case letters, digits, dots, hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix inside it (no leading or trailing slash; may be empty)."""

    bucket: str
    prefix: str = ""

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")


ArtifactsLocation = Path | S3Location


def parse_artifacts_location(text: str) -> ArtifactsLocation:
    """`s3://bucket[/prefix]` is an S3Location, anything else a directory. Raises
    ValueError for an s3:// URL whose bucket name S3 would refuse."""
    if not text.startswith(S3_SCHEME):
        return Path(text)
    bucket, _, prefix = text[len(S3_SCHEME) :].partition("/")
    if not _BUCKET.match(bucket):
        raise ValueError(f"not an S3 bucket name in {text!r}: {bucket!r}")
    return S3Location(bucket=bucket, prefix=prefix.strip("/"))
