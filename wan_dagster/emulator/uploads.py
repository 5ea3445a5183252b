"""Temporary uploads: ``GET /uploads?action=getPolicy`` then an OSS-style form POST, giving an
``oss://`` URL that creates may use with ``X-DashScope-OssResourceResolve: enable``.

As on DashScope, a file is bound to the model that asked for the policy and lives 48 h
(scaled); the policy itself expires within minutes (scaled).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .blobs import BlobStore
from .clock import Clock
from .oss import EMULATOR_ACCESS_KEY_ID, OssError, Signer

UPLOAD_TTL_SECONDS = 48 * 3600
POLICY_TTL_SECONDS = 300  # not documented; the value real policies were seen with
MAX_FILE_SIZE_MB = 100  # not documented; the value real policies were seen with
OBJECT_ACL = "private"
FORBID_OVERWRITE = "true"


class UploadError(Exception):
    """An ``oss://`` URL that cannot be used by this task."""


@dataclass(frozen=True)
class _Grant:
    """Which model may use an upload dir (until its policy expires) or a file (for 48 h)."""

    model: str
    expires_at: float


class Uploads:
    """Issues upload policies, accepts the form POSTs and resolves ``oss://`` URLs."""

    def __init__(self, clock: Clock, signer: Signer, blobs: BlobStore, upload_host: str):
        self._clock = clock
        self._signer = signer
        self._blobs = blobs
        self._upload_host = upload_host
        self._tenant = uuid.uuid4().hex  # the account part of real upload dirs
        self._lock = threading.Lock()
        self._dirs: dict[str, _Grant] = {}  # upload_dir of an issued policy -> its grant
        self._files: dict[str, _Grant] = {}  # key of an uploaded file -> its grant

    def policy(self, model: str) -> dict[str, Any]:
        """The ``data`` of a getPolicy answer."""
        now = self._clock.now()
        self._purge_expired(now)
        day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
        upload_dir = f"dashscope-instant/{self._tenant}/{day}/{uuid.uuid4()}"
        policy_expires = now + self._clock.scaled(POLICY_TTL_SECONDS)
        document = {
            "expiration": datetime.fromtimestamp(policy_expires, timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "conditions": [["content-length-range", 0, MAX_FILE_SIZE_MB * 1024 * 1024],
                           ["starts-with", "$key", upload_dir],
                           {"bucket": "dashscope-instant"},
                           {"x-oss-object-acl": OBJECT_ACL},
                           {"x-oss-forbid-overwrite": FORBID_OVERWRITE}],
        }
        policy = base64.b64encode(json.dumps(document).encode()).decode()
        with self._lock:
            self._dirs[upload_dir] = _Grant(model, policy_expires)
        return {
            "policy": policy,
            "signature": self._signer.sign(policy),
            "upload_dir": upload_dir,
            "upload_host": self._upload_host,
            "expire_in_seconds": POLICY_TTL_SECONDS,
            "max_file_size_mb": MAX_FILE_SIZE_MB,
            "oss_access_key_id": EMULATOR_ACCESS_KEY_ID,
            "x_oss_object_acl": OBJECT_ACL,
            "x_oss_forbid_overwrite": FORBID_OVERWRITE,
        }

    def accept_form(self, content_type: str, body: bytes, received_at: float) -> int:
        """Store the file of an OSS PostObject form; return the HTTP status to answer with
        (the form's ``success_action_status``, as OSS does). Raises OssError."""
        form = _parse_form(content_type, body)
        policy, key = form.get("policy", b"").decode(), form.get("key", b"").decode()
        if form.get("OSSAccessKeyId", b"").decode() != EMULATOR_ACCESS_KEY_ID:
            raise OssError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does "
                                                      "not exist in our records.")
        if not self._signer.verify(policy, form.get("Signature", b"").decode()):
            raise OssError(403, "SignatureDoesNotMatch", "The request signature we calculated does "
                                                         "not match the signature you provided.")
        document = json.loads(base64.b64decode(policy))
        expiration = datetime.strptime(document["expiration"], "%Y-%m-%dT%H:%M:%S.%fZ")
        if received_at > expiration.replace(tzinfo=timezone.utc).timestamp():
            raise OssError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        conditions = {c[0]: c[1:] for c in document["conditions"] if isinstance(c, list)}
        upload_dir = conditions["starts-with"][1]
        if not key.startswith(upload_dir + "/"):
            raise OssError(403, "AccessDenied", "Invalid according to Policy: Policy Condition "
                                                "failed: [\"starts-with\", \"$key\", "
                                                f"\"{upload_dir}\"]")
        if any(part in ("", ".", "..") for part in key[len(upload_dir) + 1:].split("/")):
            raise OssError(400, "InvalidObjectName", "The specified object name is not valid.")
        data = form.get("file")
        if data is None:
            raise OssError(400, "InvalidArgument", "The form has no file field.")
        low, high = conditions["content-length-range"]
        if not low <= len(data) <= high:
            raise OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum "
                                                  "allowed size.")
        with self._lock:
            if key in self._files:
                raise OssError(409, "FileAlreadyExists", "The object you specified already exists "
                                                         "and can not be overwritten.")
            grant = self._dirs.get(upload_dir)
            if grant is None:
                raise OssError(403, "AccessDenied", "The upload policy has expired.")
            self._files[key] = _Grant(grant.model,
                                      received_at + self._clock.scaled(UPLOAD_TTL_SECONDS))
        self._blobs.put(f"uploads/{key}", data)
        status = form.get("success_action_status", b"").decode()
        return int(status) if status in ("200", "201", "204") else 204

    def resolve(self, url: str, *, model: str) -> bytes:
        """The bytes behind ``oss://key`` for this model; UploadError otherwise."""
        key = url.removeprefix("oss://")
        with self._lock:
            grant = self._files.get(key)
        if grant is None or grant.expires_at <= self._clock.now():
            raise UploadError(f"The file {url} does not exist or has expired.")
        if grant.model != model:
            raise UploadError(f"The file {url} was uploaded for model {grant.model}; "
                              f"upload it again with model={model}.")
        data = self._blobs.get(f"uploads/{key}")
        if data is None:
            raise UploadError(f"The file {url} does not exist or has expired.")
        return data

    def _purge_expired(self, now: float) -> None:
        """Forget expired grants and delete expired files (run whenever a policy is issued)."""
        with self._lock:
            gone = [key for key, grant in self._files.items() if grant.expires_at <= now]
            for key in gone:
                del self._files[key]
            for upload_dir in [d for d, g in self._dirs.items() if g.expires_at <= now]:
                del self._dirs[upload_dir]
        for key in gone:
            self._blobs.delete(f"uploads/{key}")

    def clear(self) -> None:
        with self._lock:
            self._dirs.clear()
            self._files.clear()
        self._blobs.delete("uploads")


def _parse_form(content_type: str, body: bytes) -> dict[str, bytes]:
    """Fields of a multipart/form-data body, by name."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise OssError(400, "InvalidArgument", "PostObject needs multipart/form-data.")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = part.get_payload(decode=True) or b""
    return fields
