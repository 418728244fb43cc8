import pytest

from ..conftest import database_of_its_own
from .world import read_model


@pytest.fixture(scope="module")
async def world(stack):
    """One read model for a module's tests (its own database: the schema is global to it)."""
    import uuid

    tag = uuid.uuid4().hex[:6]
    async with database_of_its_own(stack, f"portal_{tag}") as endpoints, read_model(endpoints.db, tag) as w:
        yield w
