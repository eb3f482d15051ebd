"""The tuned spec file: the original document with the best trial's values, and a header
saying where they came from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from offline.tuning.space import Value, with_values


def tuned_spec_text(body: Mapping[str, Any], values: Mapping[str, Value],
                    header: Sequence[str]) -> str:  # fmt: skip
    """YAML of `body` with `values` at their paths (the `tuning:` block kept, so the spec
    can be tuned again), after `header` as comment lines."""
    comments = "".join(f"# {line}\n" for line in header)
    return comments + yaml.safe_dump(
        with_values(body, values), sort_keys=False, allow_unicode=True, width=100
    )
