"""The impression record of one answer (services/recommend/impressions.py)."""

from __future__ import annotations

from recmesh.api.recommend.v1 import recommend_pb2
from services.recommend.impressions import impression_record


def test_the_record_names_the_request_the_items_the_version_and_the_reason() -> None:
    request = recommend_pb2.RecommendRequest(user_id="196", k=2, context={"page": "home"})
    response = recommend_pb2.RecommendResponse(
        items=[
            recommend_pb2.RecommendedItem(item_id=7, score=0.5, title="A", source="cf"),
            recommend_pb2.RecommendedItem(item_id=3, score=0.25, title="B", source="popular"),
        ],
        serving_version="sv-1",
        degraded=True,
        degraded_reason=recommend_pb2.DEGRADED_REASON_RANKING_UNAVAILABLE,
        degraded_detail="ranking: UNAVAILABLE: down",
        request_id="r1",
        trace_id="t1",
    )
    assert impression_record(request, response, 1234.5) == {
        "request_id": "r1",
        "trace_id": "t1",
        "at": 1234.5,
        "user_id": "196",
        "k": 2,
        "context": {"page": "home"},
        "items": [
            {"item_id": 7, "score": 0.5, "source": "cf"},
            {"item_id": 3, "score": 0.25, "source": "popular"},
        ],
        "serving_version": "sv-1",
        "degraded": True,
        "degraded_reason": "ranking_unavailable",
    }


def test_a_normal_answer_has_no_reason() -> None:
    request = recommend_pb2.RecommendRequest(user_id="1", k=1)
    response = recommend_pb2.RecommendResponse(serving_version="sv-1")
    record = impression_record(request, response, 0.0)
    assert (record["degraded"], record["degraded_reason"], record["items"]) == (False, "", [])
