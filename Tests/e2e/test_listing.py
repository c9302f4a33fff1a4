"""ListObjects v1 / v2 against a Python model, on a bucket of 2,000+ keys.

The model: keys in UTF-8 byte order; with a delimiter, keys that contain it after the
prefix roll up into a CommonPrefix (counted once against max-keys); a marker/start-after
skips keys <= marker, and "CommonPrefixes is filtered out from results if it is not
lexicographically greater than the StartAfter value" (S3 API reference, ListObjectsV2
Delimiter) - so a start-after inside a folder, or equal to it, steps over the folder.
"""

from __future__ import annotations

import concurrent.futures as cf
import urllib.parse

import pytest

from conftest import byte_sorted, empty_bucket, find_text, strip_ns, unique_bucket

pytestmark = pytest.mark.slow


def build_keys() -> list[str]:
    keys = [f"top-{i:03d}" for i in range(40)]
    for d in range(10):
        for s in range(5):
            for f in range(40):
                keys.append(f"dir{d:02d}/sub{s:02d}/file{f:03d}")
    keys += [
        "dir05", "dir05/", "dir05/sub01/", "dir05-x", "dir05.x", "dir05/sub01/file000/extra",
        "dir05/sub01/file000/extra/deeper", "dir05//double", "dir05/sub99",
        "Z", "a", "~", "-", "!", "0", "a b", "a+b", "a%b",
        "\u00e9", "e\u0301", "f", "\U0001F600", "\uff5e", "\u65e5\u672c/\u8a9e", "\u65e5\u672c/x",
        "dir10/\u00e9/x", "dir10/e\u0301/y", "dir10/z",
        "x-y/z", "x/y-z", "x/y/z", "xy",
    ]
    assert len(set(keys)) == len(keys)
    return keys


KEYS = build_keys()
SORTED = byte_sorted(KEYS)


def model(keys, prefix="", delimiter="", after=""):
    """Full listing as a list of ("K", key) / ("P", common_prefix) in S3 order."""
    out = []
    seen = set()
    ab = after.encode()
    for k in byte_sorted(keys):
        if not k.startswith(prefix):
            continue
        if after and k.encode() <= ab:
            continue
        if delimiter:
            rest = k[len(prefix):]
            i = rest.find(delimiter)
            if i >= 0:
                cp = prefix + rest[:i + len(delimiter)]
                if (after and cp.encode() <= ab) or cp in seen:
                    continue
                seen.add(cp)
                out.append(("P", cp))
                continue
        out.append(("K", k))
    return out


@pytest.fixture(scope="module")
def big(server, s3):
    name = unique_bucket("big")
    s3.create_bucket(Bucket=name)
    clients = [server.client(max_pool_connections=4) for _ in range(6)]

    def put(i_key):
        i, key = i_key
        clients[i % len(clients)].put_object(Bucket=name, Key=key, Body=key.encode())

    with cf.ThreadPoolExecutor(max_workers=6) as ex:
        list(ex.map(put, enumerate(KEYS)))
    yield name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def page_entries(page) -> list[tuple[str, str]]:
    """Entries of one page in S3 order (keys and prefixes merged by byte order)."""
    ks = [("K", o["Key"]) for o in page.get("Contents", [])]
    ps = [("P", p["Prefix"]) for p in page.get("CommonPrefixes", [])]
    return sorted(ks + ps, key=lambda e: e[1].encode())


def list_v2_all(s3, bucket, max_keys, **kw):
    entries, pages, token = [], [], None
    while True:
        args = dict(Bucket=bucket, MaxKeys=max_keys, **kw)
        if token:
            args["ContinuationToken"] = token
        page = s3.list_objects_v2(**args)
        pages.append(page)
        if token:
            assert page["ContinuationToken"] == token
        got = page_entries(page)
        assert page["KeyCount"] == len(got)
        assert len(got) <= max_keys
        entries += got
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        assert len(got) == max_keys, "a truncated page must be full"
        token = page["NextContinuationToken"]
        assert len(pages) <= 3000
    return entries, pages


def list_v1_all(s3, bucket, max_keys, start_marker=None, **kw):
    entries, pages, marker = [], [], start_marker
    delimited = bool(kw.get("Delimiter"))
    while True:
        args = dict(Bucket=bucket, MaxKeys=max_keys, **kw)
        if marker is not None:
            args["Marker"] = marker
        page = s3.list_objects(**args)
        pages.append(page)
        assert page.get("Marker", "") == (marker or "")
        got = page_entries(page)
        assert len(got) <= max_keys
        entries += got
        if not page["IsTruncated"]:
            break
        assert len(got) == max_keys
        if delimited:
            # NextMarker is returned only when a delimiter was given; it is the last entry
            assert page["NextMarker"] == got[-1][1]
            marker = page["NextMarker"]
        else:
            assert "NextMarker" not in page
            marker = got[-1][1]
        assert len(pages) <= 3000
    return entries, pages


# --------------------------------------------------------------------- full listings


def test_big_bucket_has_all_keys_in_byte_order(s3, big):
    entries, pages = list_v2_all(s3, big, 1000)
    assert [k for _, k in entries] == SORTED
    assert len(pages) == (len(KEYS) + 999) // 1000
    assert all(t == "K" for t, _ in entries)


def test_max_keys_above_1000_is_capped(s3, big):
    page = s3.list_objects_v2(Bucket=big, MaxKeys=5000)
    assert page["KeyCount"] == 1000
    assert len(page["Contents"]) == 1000
    assert page["IsTruncated"] is True
    page1 = s3.list_objects(Bucket=big, MaxKeys=5000)
    assert len(page1["Contents"]) == 1000
    assert page1["IsTruncated"] is True


def test_default_max_keys_is_1000(s3, big):
    page = s3.list_objects_v2(Bucket=big)
    assert page["MaxKeys"] == 1000
    assert page["KeyCount"] == 1000
    assert [o["Key"] for o in page["Contents"]] == SORTED[:1000]


@pytest.mark.parametrize("max_keys", [7, 1000])
@pytest.mark.parametrize("delimiter", ["", "/"])
def test_v2_pagination_matches_model(s3, big, max_keys, delimiter):
    kw = {"Delimiter": delimiter} if delimiter else {}
    entries, pages = list_v2_all(s3, big, max_keys, **kw)
    assert entries == model(KEYS, delimiter=delimiter)


@pytest.mark.parametrize("max_keys", [7, 1000])
@pytest.mark.parametrize("delimiter", ["", "/"])
def test_v1_pagination_matches_model(s3, big, max_keys, delimiter):
    kw = {"Delimiter": delimiter} if delimiter else {}
    entries, pages = list_v1_all(s3, big, max_keys, **kw)
    assert entries == model(KEYS, delimiter=delimiter)


def test_v2_max_keys_1_with_delimiter(s3, big):
    entries, pages = list_v2_all(s3, big, 1, Delimiter="/")
    expected = model(KEYS, delimiter="/")
    assert entries == expected
    assert len(pages) == len(expected)


def test_v1_max_keys_1_with_delimiter(s3, big):
    entries, pages = list_v1_all(s3, big, 1, Delimiter="/")
    assert entries == model(KEYS, delimiter="/")


def test_v2_max_keys_1_no_delimiter_prefix(s3, big):
    entries, _ = list_v2_all(s3, big, 1, Prefix="dir05/")
    assert entries == model(KEYS, prefix="dir05/")
    assert len(entries) > 200


def test_v1_max_keys_1_no_delimiter_full(s3, big):
    entries, pages = list_v1_all(s3, big, 1)
    assert [k for _, k in entries] == SORTED
    assert len(pages) == len(KEYS)


@pytest.mark.parametrize("prefix,delimiter", [
    ("dir05/", "/"),
    ("dir05", "/"),
    ("dir0", "/"),
    ("dir05/sub01/", "/"),
    ("dir05/sub01/file000", "/"),
    ("dir10/", "/"),
    ("x", "/"),
    ("x", "-"),
    ("", "-"),
    ("", "sub0"),          # multi-character delimiter
    ("dir05/", "1/"),
    ("\u65e5\u672c/", "/"),
    ("nothing-here", "/"),
    ("dir05//", "/"),
    ("", "e\u0301"),
])
@pytest.mark.parametrize("max_keys", [7, 1000])
def test_prefix_delimiter_combinations(s3, big, prefix, delimiter, max_keys):
    entries, pages = list_v2_all(s3, big, max_keys, Prefix=prefix, Delimiter=delimiter)
    assert entries == model(KEYS, prefix=prefix, delimiter=delimiter)
    entries1, _ = list_v1_all(s3, big, max_keys, Prefix=prefix, Delimiter=delimiter)
    assert entries1 == entries
    assert pages[0]["Prefix"] == prefix
    assert pages[0]["Delimiter"] == delimiter


def test_common_prefixes_top_level_exact(s3, big):
    page = s3.list_objects_v2(Bucket=big, Delimiter="/")
    prefixes = [p["Prefix"] for p in page["CommonPrefixes"]]
    expected = byte_sorted({k.split("/", 1)[0] + "/" for k in KEYS if "/" in k})
    assert prefixes == expected
    contents = [o["Key"] for o in page["Contents"]]
    assert contents == byte_sorted(k for k in KEYS if "/" not in k)
    assert page["KeyCount"] == len(prefixes) + len(contents)


# --------------------------------------------------------------------- start-after / marker


@pytest.mark.parametrize("after", [
    "dir03/sub02/file017",   # inside a common prefix: dir03/ is not greater, so filtered out
    "dir03/",                # equal to a common prefix: steps over it
    "dir03",
    "dir05/sub01/",
    "top-020",
    "e",
    "\U0001F600",
    "zzzz",
    "",
])
@pytest.mark.parametrize("delimiter", ["", "/"])
def test_start_after(s3, big, after, delimiter):
    kw = {"Delimiter": delimiter} if delimiter else {}
    entries, pages = list_v2_all(s3, big, 1000, StartAfter=after, **kw)
    assert entries == model(KEYS, delimiter=delimiter, after=after)
    if after:
        assert pages[0]["StartAfter"] == after


@pytest.mark.parametrize("prefix,after", [
    ("dir05/", "a"),                      # start-after before the prefix: everything under it
    ("dir05/", "dir05/sub02/file039"),
    ("dir05/", "dir06"),                  # after everything under the prefix: empty
    ("dir05/sub01/", "dir05/sub01/file000"),
    ("x", "x-y/z"),
])
@pytest.mark.parametrize("delimiter", ["", "/"])
@pytest.mark.parametrize("max_keys", [7, 1000])
def test_prefix_with_start_after(s3, big, prefix, after, delimiter, max_keys):
    kw = {"Delimiter": delimiter} if delimiter else {}
    entries, _ = list_v2_all(s3, big, max_keys, Prefix=prefix, StartAfter=after, **kw)
    assert entries == model(KEYS, prefix=prefix, delimiter=delimiter, after=after)
    entries1, _ = list_v1_all(s3, big, max_keys, start_marker=after, Prefix=prefix, **kw)
    assert entries1 == entries


@pytest.mark.parametrize("marker", ["dir03/sub02/file017", "dir03/", "top-020", "\u00e9"])
def test_v1_marker(s3, big, marker):
    page = s3.list_objects(Bucket=big, Marker=marker, Delimiter="/", MaxKeys=1000)
    assert page["Marker"] == marker
    assert page_entries(page) == model(KEYS, delimiter="/", after=marker)


def test_start_after_inside_common_prefix_with_prefix(s3, big):
    page = s3.list_objects_v2(Bucket=big, Prefix="dir05/", Delimiter="/", StartAfter="dir05/sub01/file020")
    assert page_entries(page) == model(KEYS, prefix="dir05/", delimiter="/", after="dir05/sub01/file020")
    # dir05/sub01/ is not greater than the start-after value: filtered out; keys after it
    # inside that folder are not listed either (they roll up into the filtered prefix)
    assert page["CommonPrefixes"][0]["Prefix"] == "dir05/sub02/"
    assert all(not o["Key"].startswith("dir05/sub01/") for o in page.get("Contents", []))


def test_start_after_ignored_with_continuation_token(s3, big):
    first = s3.list_objects_v2(Bucket=big, MaxKeys=5, StartAfter="dir02/")
    second = s3.list_objects_v2(Bucket=big, MaxKeys=5, StartAfter="dir02/",
                                ContinuationToken=first["NextContinuationToken"])
    expected = [k for _, k in model(KEYS, after="dir02/")][:10]
    assert [o["Key"] for o in first["Contents"] + second["Contents"]] == expected


# --------------------------------------------------------------------- response shape


def test_v2_fetch_owner(s3, big):
    without = s3.list_objects_v2(Bucket=big, MaxKeys=3)
    assert all("Owner" not in o for o in without["Contents"])
    witho = s3.list_objects_v2(Bucket=big, MaxKeys=3, FetchOwner=True)
    assert all(o["Owner"]["ID"] for o in witho["Contents"])
    # v1 always includes the owner
    v1 = s3.list_objects(Bucket=big, MaxKeys=3)
    assert all(o["Owner"]["ID"] for o in v1["Contents"])


def test_v2_object_fields(s3, big):
    page = s3.list_objects_v2(Bucket=big, Prefix="dir01/sub01/file001")
    (obj,) = page["Contents"]
    assert obj["Key"] == "dir01/sub01/file001"
    assert obj["Size"] == len(b"dir01/sub01/file001")
    import hashlib
    assert obj["ETag"] == f'"{hashlib.md5(b"dir01/sub01/file001").hexdigest()}"'
    assert obj["StorageClass"] == "STANDARD"
    assert obj["LastModified"].tzinfo is not None


def test_encoding_type_url_raw(server, big):
    q = urllib.parse.urlencode({"list-type": "2", "prefix": "a", "encoding-type": "url", "delimiter": " "})
    r = server.http("GET", f"/{big}?{q}")
    assert r.status == 200
    root = r.xml()
    assert find_text(root, "EncodingType") == "url"
    keys = [find_text(c, "Key") for c in root if strip_ns(c.tag) == "Contents"]
    decoded = [urllib.parse.unquote_plus(k) for k in keys]
    assert decoded == ["a", "a%b", "a+b"]   # byte order: '%' (0x25) < '+' (0x2B)
    assert "a+b" not in keys and "a%b" not in keys      # they must be encoded
    prefixes = [find_text(c, "Prefix") for c in root if strip_ns(c.tag) == "CommonPrefixes"]
    assert [urllib.parse.unquote_plus(p) for p in prefixes] == ["a "]
    assert urllib.parse.unquote_plus(find_text(root, "Delimiter")) == " "


def test_encoding_type_url_unicode_keys(server, big):
    q = urllib.parse.urlencode({"list-type": "2", "prefix": "\u65e5", "encoding-type": "url"})
    r = server.http("GET", f"/{big}?{q}")
    root = r.xml()
    keys = [find_text(c, "Key") for c in root if strip_ns(c.tag) == "Contents"]
    assert all(k.isascii() for k in keys)
    assert [urllib.parse.unquote_plus(k) for k in keys] == ["\u65e5\u672c/x", "\u65e5\u672c/\u8a9e"]
    assert urllib.parse.unquote_plus(find_text(root, "Prefix")) == "\u65e5"


def test_invalid_encoding_type(server, big):
    r = server.http("GET", f"/{big}?list-type=2&encoding-type=base64")
    assert r.status == 400
    assert r.error_code() == "InvalidArgument"


def test_invalid_continuation_token(server, big):
    r = server.http("GET", f"/{big}?list-type=2&continuation-token=this-is-not-a-token")
    assert r.status == 400
    assert r.error_code() == "InvalidArgument"


@pytest.mark.parametrize("value", ["-1", "abc"])
def test_invalid_max_keys(server, big, value):
    r = server.http("GET", f"/{big}?list-type=2&max-keys={value}")
    assert r.status == 400
    assert r.error_code() == "InvalidArgument"


def test_max_keys_zero(s3, big):
    page = s3.list_objects_v2(Bucket=big, MaxKeys=0)
    assert page["KeyCount"] == 0
    assert "Contents" not in page


def test_listing_empty_bucket(s3, bucket):
    v2 = s3.list_objects_v2(Bucket=bucket)
    assert v2["KeyCount"] == 0 and v2["IsTruncated"] is False and "Contents" not in v2
    v1 = s3.list_objects(Bucket=bucket)
    assert v1["IsTruncated"] is False and "Contents" not in v1


def test_listing_reflects_deletes_and_overwrites(s3, bucket):
    for k in ["p/1", "p/2", "p/3"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    s3.delete_object(Bucket=bucket, Key="p/2")
    s3.put_object(Bucket=bucket, Key="p/3", Body=b"longer")
    page = s3.list_objects_v2(Bucket=bucket)
    assert [(o["Key"], o["Size"]) for o in page["Contents"]] == [("p/1", 1), ("p/3", 6)]

