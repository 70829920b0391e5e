"""pytest set-up for the Python example views: every test starts with an
empty in-memory host."""

import pytest

from halo_sdk import testing


@pytest.fixture(autouse=True)
def fresh_host():
    testing.reset()
    yield
