import pytest

from tests.documents.tripwire import tripwire_server


@pytest.fixture()
def tripwire():
    with tripwire_server() as server:
        yield server
