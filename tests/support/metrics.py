"""Reading Prometheus text: one sample's value, or the label sets of a series."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` whose labels include ``labels`` (0 when absent)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                total += item.value
    return total


def series(text: str, name: str) -> list[dict[str, str]]:
    """The label sets of every sample called ``name``."""
    return [
        dict(item.labels)
        for family in text_string_to_metric_families(text)
        for item in family.samples
        if item.name == name
    ]
