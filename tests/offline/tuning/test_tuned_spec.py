"""The tuned spec file: the best values at their paths, under a header."""

from __future__ import annotations

import yaml

from offline.experiment.spec_loading import parse_spec
from offline.tuning.tuned_spec import tuned_spec_text
from tests.offline.tuning.specs import tuning_spec


def test_tuned_text_holds_the_values_the_header_and_the_tuning_block() -> None:
    """The text parses to the spec with the values set; the rest is as it was."""
    body = tuning_spec()
    values = {"training.labels.folds": 2, "training.xgboost.learning_rate": 0.0625}
    text = tuned_spec_text(body, values, ["tuned on TRAIN", "second line"])
    assert text.startswith("# tuned on TRAIN\n# second line\n")
    tuned = parse_spec(yaml.safe_load(text))
    assert tuned.training.labels.folds == 2
    assert tuned.training.xgboost.learning_rate == 0.0625
    assert tuned.tuning == parse_spec(body).tuning
    assert tuned.training.xgboost.max_depth == body["training"]["xgboost"]["max_depth"]
