"""Reusable pytest fixtures: a real S3-compatible HTTP server (moto) on loopback.

Use from a test module with ``pytest_plugins = ["s3_server"]`` (``tests/`` is on ``sys.path``
under pytest's default import mode). One server serves the whole session; every test gets
its own bucket, so tests stay independent without restarting the server.

While the server runs, the process's AWS settings point at it with fake credentials, so even
a client built without an explicit endpoint cannot reach AWS, a profile or instance metadata.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient
from dagster_aws.s3 import S3Resource
from moto.server import ThreadedMotoServer

FAKE_REGION = "us-east-1"
FAKE_KEY_ID = "test"
FAKE_SECRET = "test"

#: Any AWS setting a developer's shell may carry that could redirect or authenticate a client.
_AWS_ENV_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
                    "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN",
                    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI")


@pytest.fixture(scope="session")
def s3_endpoint_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto server on a free port, stopped after the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()  # port=0 binds a free port; this is the real one
    url = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        _isolate_aws_env(mp, url, tmp_path_factory.mktemp("aws") / "absent")
        yield url
    server.stop()


def _isolate_aws_env(mp: pytest.MonkeyPatch, endpoint_url: str, absent: Path) -> None:
    for name in _AWS_ENV_CLEARED:
        mp.delenv(name, raising=False)
    mp.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    mp.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    mp.setenv("AWS_DEFAULT_REGION", FAKE_REGION)
    mp.setenv("AWS_ENDPOINT_URL", endpoint_url)
    mp.setenv("AWS_CONFIG_FILE", str(absent))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(absent))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def s3_client(s3_endpoint_url: str) -> BaseClient:
    """The boto3 client dagster-aws hands to assets, aimed explicitly at the loopback server.
    Shared by the session (building one costs ~0.5 s): tests that register event hooks on it
    must unregister them."""
    client = S3Resource(endpoint_url=s3_endpoint_url, aws_access_key_id=FAKE_KEY_ID,
                        aws_secret_access_key=FAKE_SECRET, region_name=FAKE_REGION).get_client()
    assert client.meta.endpoint_url == s3_endpoint_url
    return client


@pytest.fixture
def s3_bucket(s3_client: BaseClient) -> str:
    """A fresh, empty bucket for this test."""
    name = f"test-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=name)
    return name
