"""Raw-request helpers for multipart uploads (used where boto3 would hide the wire behaviour,
or cannot compute a checksum itself: CRC32C and CRC64NVME need awscrt)."""

from __future__ import annotations

import xml.sax.saxutils as su
from dataclasses import dataclass

from conftest import RawResponse, StowageServer, find_text, strip_ns
from s3checksums import header_name

MIB = 1024 * 1024


@dataclass
class Part:
    number: int
    etag: str
    checksum: str | None = None   # base64 value echoed by UploadPart, if any


def create(server: StowageServer, bucket: str, key: str, headers: dict | None = None) -> str:
    r = server.http("POST", f"/{bucket}/{key}?uploads", headers=headers)
    assert r.status == 200, r.body
    upload_id = find_text(r.xml(), "UploadId")
    assert upload_id
    return upload_id


def upload_part(server: StowageServer, bucket: str, key: str, upload_id: str, number: int, body: bytes,
                headers: dict | None = None) -> RawResponse:
    return server.http("PUT", f"/{bucket}/{key}?partNumber={number}&uploadId={upload_id}", body=body,
                       headers=headers)


def put_part(server, bucket, key, upload_id, number, body, algorithm: str | None = None,
             value: str | None = None) -> Part:
    """Uploads a part (with `x-amz-checksum-<algorithm>: value` when given); asserts 200."""
    headers = {header_name(algorithm): value} if algorithm else None
    r = upload_part(server, bucket, key, upload_id, number, body, headers)
    assert r.status == 200, r.body
    etag = r.header("ETag")
    assert etag
    return Part(number, etag, r.header(header_name(algorithm)) if algorithm else None)


def complete_xml(parts: list[Part], algorithm: str | None = None, with_checksums: bool = True) -> bytes:
    out = ['<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
    for p in parts:
        out.append(f"<Part><PartNumber>{p.number}</PartNumber><ETag>{su.escape(p.etag)}</ETag>")
        if algorithm and with_checksums and p.checksum is not None:
            out.append(f"<Checksum{algorithm}>{p.checksum}</Checksum{algorithm}>")
        out.append("</Part>")
    out.append("</CompleteMultipartUpload>")
    return "".join(out).encode()


def complete(server, bucket, key, upload_id, body: bytes, headers: dict | None = None) -> RawResponse:
    return server.http("POST", f"/{bucket}/{key}?uploadId={upload_id}", body=body, headers=headers)


def children(elem, name):
    return [c for c in elem if strip_ns(c.tag) == name]
