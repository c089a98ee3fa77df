"""Search: rank articles for a question and decide (``POST /api/kb/search``)."""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
import json

from fastapi import APIRouter, Response

from knowledge_base.deps import KnowledgeBaseDep
from knowledge_base.schemas import SearchRequest, SearchResponse

router = APIRouter()


@router.post(
    "/search",
    response_model=SearchResponse,
    summary="Rank articles for a question and decide: answer, clarify or hand off",
    description="Also the admin's 'test a question': `decided_by` names the rule and the "
    "threshold that decided.",
)
def search(body: SearchRequest, kb: KnowledgeBaseDep) -> Response:
    # Serialised here, not re-validated against the response model: the bot calls this
    # once per message, and pydantic's response validation was a tenth of its cost. The
    # shape is SearchResponse's (the API tests and the schema fuzzing check it).
    result = kb.search(body.text, body.top_k).to_dict()
    return Response(json.dumps(result, default=float), media_type="application/json")


__all__ = ["router"]
