"""Fixtures for tests against the fake GitHub (used with ``pytest_plugins``).

``fake_github`` is a started fake with one repository (``octo/widgets``), the App installed on
it, and ``alice`` (write) and ``bob`` (read) as collaborators; at teardown it fails the test if
any request broke GitHub's OpenAPI description. ``github_app`` is a client pointed at it.
Both share ``clock``, a fake clock the test can move.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from perfagent.tools.github import GitHubApp
from tests.github.fake import FakeGitHub
from tests.github.spec import SpecSet
from tests.github.state import FakeClock
from tests.github.world import APP_ID, REPO, ROLES


@pytest.fixture(scope="session")
def openapi() -> SpecSet:
    return SpecSet()


@pytest.fixture(scope="session")
def app_key() -> tuple[bytes, bytes]:
    """A fresh RSA key for the App: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # what GitHub hands out
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_github(
    tmp_path: Path, openapi: SpecSet, app_key: tuple[bytes, bytes], clock: FakeClock
) -> Iterator[FakeGitHub]:
    with FakeGitHub(
        tmp_path / "fake-github", openapi, app_id=APP_ID, public_key_pem=app_key[1], clock=clock
    ) as fake:
        fake.add_repo(REPO, files={"README.md": "# widgets\n", "widgets.py": "X = 1\n"})
        fake.install("octo", [REPO])
        for login, role in ROLES.items():
            fake.set_role(REPO, login, role)
        yield fake
        assert fake.violations == [], "requests that GitHub's API description rejects"


@pytest.fixture
def github_app(
    fake_github: FakeGitHub, app_key: tuple[bytes, bytes], clock: FakeClock
) -> Iterator[GitHubApp]:
    with GitHubApp(
        APP_ID, app_key[0], base_url=fake_github.api_url, clock=clock, retries=False
    ) as app:
        yield app
