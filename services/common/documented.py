"""A route's answer typed in the OpenAPI document only (issue 22): the route returns what it builds,
unfiltered and unvalidated at run time; the shape is checked by the tests that call it."""

from pydantic import BaseModel, ConfigDict


def typed(model: type, status: int = 200) -> dict:
    """Keyword arguments of a route decorator: `@router.get(path, **typed(Model))`."""
    return {"response_model": None, "responses": {status: {"model": model, "description": model.__doc__ or "OK"}}}


class Documented(BaseModel):
    """Base of an answer's documented shape: a member added later is not an error."""

    model_config = ConfigDict(extra="allow")
