"""AWS Signature Version 4 by hand, for requests botocore will not produce: tampered, skewed,
malformed, wrongly scoped, presigned with odd dates, and streaming (aws-chunked) uploads with
chunk and trailer signatures.

Follows the AWS documentation "Authenticating Requests (AWS Signature Version 4)":
  - Authorization header: canonical request, string to sign, signing key;
  - query string authentication (presigned URLs);
  - "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
    Chunks (Chunked Upload)" (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and its trailer variant
    (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).

`self_check()` reproduces the documentation's published example signatures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import socket
from dataclasses import dataclass
from urllib.parse import quote

from conftest import REGION, read_http_response, strip_ns

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
TIME_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Creds:
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    service: str = "s3"


def creds_of(cred: dict, region: str = REGION) -> Creds:
    """Creds from an ALICE/BOB-like config dict."""
    return Creds(cred["accessKeyId"], cred["secretAccessKey"], region)


def error_of(body: bytes) -> dict[str, str]:
    """The child elements of an S3 <Error> document, by local name."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(body)
    assert strip_ns(root.tag) == "Error", body
    return {strip_ns(c.tag): (c.text or "") for c in root}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utcnow(offset: dt.timedelta = dt.timedelta(0)) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + offset


def amz_date(when: dt.datetime) -> str:
    return when.strftime(TIME_FORMAT)


def uri_encode(value: str, encode_slash: bool = True) -> str:
    """AWS UriEncode: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded (upper-case hex)."""
    return quote(value, safe="" if encode_slash else "/")


def key_path(bucket: str, key: str = "") -> str:
    """Path-style request path, encoded as the SDKs encode it."""
    return f"/{bucket}/{uri_encode(key, encode_slash=False)}" if key else f"/{bucket}"


def canonical_query(params: list[tuple[str, str | None]]) -> str:
    enc = sorted((uri_encode(k), uri_encode(v or "")) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in enc)


def query_string(params: list[tuple[str, str | None]]) -> str:
    """The query as sent on the wire (canonical encoding, original order); a None value is a
    bare name (`?uploads`)."""
    return "&".join(uri_encode(k) if v is None else f"{uri_encode(k)}={uri_encode(v)}" for k, v in params)


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, b"aws4_request", hashlib.sha256).digest()


def hmac_hex(key: bytes, msg: str) -> str:
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def scope_of(date: str, creds: Creds) -> str:
    return f"{date}/{creds.region}/{creds.service}/aws4_request"


def canonical_request(method: str, path: str, params: list[tuple[str, str]], headers: dict[str, str],
                      signed: list[str], payload_hash: str) -> str:
    """`path` is the already-encoded request path, used as is (S3 does not normalize it)."""
    lower = {k.lower(): " ".join(str(v).strip().split()) for k, v in headers.items()}
    canon_headers = "".join(f"{h}:{lower[h]}\n" for h in signed)
    return "\n".join([method, path, canonical_query(params), canon_headers, ";".join(signed), payload_hash])


def string_to_sign(timestamp: str, scope: str, creq: str) -> str:
    return "\n".join([ALGORITHM, timestamp, scope, sha256_hex(creq.encode())])


@dataclass
class Signed:
    """A signed request ready to send: `target` is path?query, `headers` includes Host."""
    method: str
    target: str
    headers: dict[str, str]
    signature: str
    canonical_request: str
    string_to_sign: str
    signing_key: bytes
    timestamp: str
    scope: str


def sign(method: str, path: str, *, creds: Creds, host: str, params: list[tuple[str, str]] | None = None,
         headers: dict[str, str] | None = None, payload_hash: str = EMPTY_SHA256, when: dt.datetime | None = None,
         signed_headers: list[str] | None = None, content_sha256_header: bool = True,
         authorization: str | None = None) -> Signed:
    """Header-based SigV4. Host, x-amz-date and (unless `content_sha256_header` is False)
    x-amz-content-sha256 are added; `signed_headers` defaults to all headers given.
    `authorization` replaces the computed Authorization value (for malformed-header tests)."""
    params = list(params or [])
    when = when or utcnow()
    ts = amz_date(when)
    hdrs: dict[str, str] = {"Host": host, "x-amz-date": ts}
    if content_sha256_header:
        hdrs["x-amz-content-sha256"] = payload_hash
    hdrs.update(headers or {})
    signed = sorted(h.lower() for h in (signed_headers if signed_headers is not None else hdrs))
    creq = canonical_request(method, path, params, hdrs, signed, payload_hash)
    scope = scope_of(ts[:8], creds)
    sts = string_to_sign(ts, scope, creq)
    key = signing_key(creds.secret_key, ts[:8], creds.region, creds.service)
    sig = hmac_hex(key, sts)
    hdrs["Authorization"] = authorization if authorization is not None else (
        f"{ALGORITHM} Credential={creds.access_key}/{scope}, SignedHeaders={';'.join(signed)}, Signature={sig}")
    target = path + ("?" + query_string(params) if params else "")
    return Signed(method, target, hdrs, sig, creq, sts, key, ts, scope)


def presign(method: str, path: str, *, creds: Creds, host: str, expires: int | str = 300,
            when: dt.datetime | None = None, params: list[tuple[str, str]] | None = None,
            payload_hash: str = UNSIGNED_PAYLOAD) -> str:
    """Query-string SigV4 (only host signed; UNSIGNED-PAYLOAD unless the caller signs a hash,
    which then also goes in the query as X-Amz-Content-Sha256). Returns path?query."""
    when = when or utcnow()
    ts = amz_date(when)
    scope = scope_of(ts[:8], creds)
    q = list(params or []) + [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{creds.access_key}/{scope}"),
        ("X-Amz-Date", ts),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if payload_hash != UNSIGNED_PAYLOAD:
        q.append(("X-Amz-Content-Sha256", payload_hash))
    creq = canonical_request(method, path, q, {"host": host}, ["host"], payload_hash)
    sig = hmac_hex(signing_key(creds.secret_key, ts[:8], creds.region, creds.service),
                   string_to_sign(ts, scope, creq))
    return path + "?" + query_string(q + [("X-Amz-Signature", sig)])


# ------------------------------------------------------------------------------ streaming uploads


def chunk_string_to_sign(timestamp: str, scope: str, previous: str, chunk: bytes) -> str:
    return "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, EMPTY_SHA256, sha256_hex(chunk)])


def trailer_string_to_sign(timestamp: str, scope: str, previous: str, trailer: bytes) -> str:
    return "\n".join(["AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous, sha256_hex(trailer)])


def chunk_signatures(key: bytes, timestamp: str, scope: str, seed: str, chunks: list[bytes]) -> list[str]:
    """Signatures of `chunks` (the final empty chunk included by the caller), chained from `seed`."""
    out, prev = [], seed
    for c in chunks:
        prev = hmac_hex(key, chunk_string_to_sign(timestamp, scope, prev, c))
        out.append(prev)
    return out


def trailer_block(trailers: dict[str, str]) -> bytes:
    """Canonical trailer text that is hashed for the trailer signature: `name:value\\n` each."""
    return "".join(f"{k.lower()}:{v}\n" for k, v in trailers.items()).encode()


def split_chunks(payload: bytes, size: int) -> list[bytes]:
    return [payload[i:i + size] for i in range(0, len(payload), size)] + [b""]


def frame_signed_chunks(chunks: list[bytes], sigs: list[str], trailers: dict[str, str] | None = None,
                        trailer_sig: str | None = None) -> bytes:
    out = bytearray()
    for c, s in zip(chunks, sigs):
        out += b"%x;chunk-signature=%s\r\n" % (len(c), s.encode()) + c
        if c or trailers is None:
            out += b"\r\n"
    if trailers is not None:
        for k, v in trailers.items():
            out += f"{k}:{v}\r\n".encode()
        out += f"x-amz-trailer-signature:{trailer_sig}\r\n".encode()
        out += b"\r\n"
    return bytes(out)


@dataclass
class StreamingUpload:
    signed: Signed
    body: bytes
    chunks: list[bytes]
    chunk_sigs: list[str]
    trailer_sig: str | None


def streaming_put(path: str, payload: bytes, *, creds: Creds, host: str, chunk_size: int = 65536,
                  trailers: dict[str, str] | None = None, extra_headers: dict[str, str] | None = None,
                  when: dt.datetime | None = None, corrupt_chunk: int | None = None,
                  corrupt_trailer: bool = False, params: list[tuple[str, str | None]] | None = None) -> StreamingUpload:
    """A complete signed aws-chunked PUT (seed signature in the Authorization header, every
    chunk signed, optionally a signed trailer). `corrupt_chunk=i` flips the i-th chunk signature
    (0-based) on the wire; `corrupt_trailer` flips the trailer signature."""
    chunks = split_chunks(payload, chunk_size)
    mode = STREAMING_SIGNED_TRAILER if trailers is not None else STREAMING_SIGNED
    # Length of the framed body does not depend on signature values; frame once with dummies.
    dummy = frame_signed_chunks(chunks, ["0" * 64] * len(chunks), trailers, "0" * 64 if trailers is not None else None)
    headers = {
        "Content-Encoding": "aws-chunked",
        "Content-Length": str(len(dummy)),
        "x-amz-decoded-content-length": str(len(payload)),
    }
    if trailers is not None:
        headers["x-amz-trailer"] = ",".join(k.lower() for k in trailers)
    headers.update(extra_headers or {})
    signed = sign("PUT", path, creds=creds, host=host, headers=headers, payload_hash=mode, when=when, params=params)
    sigs = chunk_signatures(signed.signing_key, signed.timestamp, signed.scope, signed.signature, chunks)
    tsig = None
    if trailers is not None:
        tsig = hmac_hex(signed.signing_key,
                        trailer_string_to_sign(signed.timestamp, signed.scope, sigs[-1], trailer_block(trailers)))
    wire_sigs = list(sigs)
    if corrupt_chunk is not None:
        wire_sigs[corrupt_chunk] = flip_hex(wire_sigs[corrupt_chunk])
    wire_tsig = flip_hex(tsig) if (corrupt_trailer and tsig) else tsig
    body = frame_signed_chunks(chunks, wire_sigs, trailers, wire_tsig)
    assert len(body) == len(dummy)
    return StreamingUpload(signed, body, chunks, sigs, tsig)


def flip_hex(sig: str) -> str:
    """The same signature with its last hex digit changed."""
    return sig[:-1] + ("0" if sig[-1] != "0" else "1")


# ------------------------------------------------------------------------------ raw transport


def send_raw(port: int, method: str, target: str, headers: dict[str, str], body: bytes = b"",
             timeout: float = 30) -> tuple[int, dict, bytes]:
    """Sends exactly these headers (Host included by the caller) and body over a fresh socket.
    Tolerates the server answering and closing before it read the whole body."""
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(head.encode() + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, hdrs, resp, _ = read_http_response(s, head_request=(method == "HEAD"))
        return status, hdrs, resp
    finally:
        s.close()


def send_signed(port: int, req: Signed, body: bytes = b"", timeout: float = 30) -> tuple[int, dict, bytes]:
    hdrs = dict(req.headers)
    if body and not any(k.lower() == "content-length" for k in hdrs):
        hdrs["Content-Length"] = str(len(body))
    return send_raw(port, req.method, req.target, hdrs, body, timeout)


# ------------------------------------------------------------------------------ documentation check

DOC_CREDS = Creds("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def self_check() -> None:
    """Reproduces the published AWS examples (GetObject with Range; the 66560-byte chunked
    upload's seed and chunk signatures; the trailer example's chunk and trailer signatures)."""
    when = dt.datetime(2013, 5, 24, tzinfo=dt.timezone.utc)
    get = sign("GET", "/test.txt", creds=DOC_CREDS, host="examplebucket.s3.amazonaws.com",
               headers={"Range": "bytes=0-9"}, when=when)
    assert get.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", get.signature

    up = streaming_put("/examplebucket/chunkObject.txt", b"a" * 66560, creds=DOC_CREDS,
                       host="s3.amazonaws.com", when=when,
                       extra_headers={"x-amz-storage-class": "REDUCED_REDUNDANCY"})
    assert up.signed.signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", up.signed.signature
    assert up.chunk_sigs == ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                             "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                             "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"], up.chunk_sigs
    assert len(up.body) == 66824

    ts, scope = "20130524T000000Z", "20130524/us-east-1/s3/aws4_request"
    key = signing_key(DOC_CREDS.secret_key, "20130524", "us-east-1", "s3")
    seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    sigs = chunk_signatures(key, ts, scope, seed, split_chunks(b"a" * 66560, 65536))
    assert sigs == ["b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
                    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
                    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"], sigs
    tsig = hmac_hex(key, trailer_string_to_sign(ts, scope, sigs[-1], trailer_block({"x-amz-checksum-crc32c": "sOO8/Q=="})))
    assert tsig == "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435", tsig
