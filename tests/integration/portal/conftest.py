import pytest

from ..conftest import database_of_its_own
from .world import read_model


@pytest.fixture(scope="module")
async def world(stack, request):
    """One read model for a module's tests, in a database of its own (the schema is global to it). A
    module may fix its ids' prefix (`WORLD_TAG`) so that what it renders is the same on every run."""
    import uuid

    unique = uuid.uuid4().hex[:6]
    tag = getattr(request.module, "WORLD_TAG", unique)
    async with database_of_its_own(stack, f"portal_{unique}") as endpoints, read_model(endpoints.db, tag) as w:
        yield w
