"""The OSS side of DashScope: signed result URLs and OSS-style XML errors.

Result URLs carry ``Expires`` (unix seconds) and an HMAC ``Signature`` like OSS presigned
URLs, so a client that strips the query string, or downloads after expiry, gets the same 403
it would get from Alibaba Cloud.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import uuid
from urllib.parse import urlencode
from xml.sax.saxutils import escape

#: Shown as OSSAccessKeyId in URLs and upload policies; it grants nothing anywhere.
EMULATOR_ACCESS_KEY_ID = "LTAI-dashscope-emulator"


class OssError(Exception):
    """An OSS answer other than success: HTTP status, OSS code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_xml(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
            f"  <Code>{escape(self.code)}</Code>\n  <Message>{escape(self.message)}</Message>\n"
            f"  <RequestId>{uuid.uuid4().hex.upper()[:24]}</RequestId>\n"
            "  <HostId>dashscope-emulator</HostId>\n</Error>\n"
        ).encode()


class Signer:
    """HMAC signatures with a per-emulator secret."""

    def __init__(self, secret: bytes):
        self._secret = secret

    def sign(self, text: str) -> str:
        digest = hmac.new(self._secret, text.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def verify(self, text: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(text), signature)

    def signed_query(self, path: str, expires_at: float) -> str:
        """``Expires=...&OSSAccessKeyId=...&Signature=...`` for ``path``."""
        expires = str(math.floor(expires_at))  # never outlives the task record
        return urlencode({"Expires": expires, "OSSAccessKeyId": EMULATOR_ACCESS_KEY_ID,
                          "Signature": self.sign(f"GET\n{expires}\n{path}")})

    def check_download(self, path: str, query: dict[str, str], now: float) -> None:
        """Raise OssError (403) unless the query is a valid, unexpired signature for ``path``."""
        expires, signature = query.get("Expires"), query.get("Signature")
        if not expires or not signature:
            raise OssError(403, "AccessDenied", "You have no right to access this object.")
        if not expires.isdigit() or not self.verify(f"GET\n{expires}\n{path}", signature):
            raise OssError(403, "SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature "
                           "you provided.")
        if now > int(expires):
            raise OssError(403, "AccessDenied", "Request has expired.")
