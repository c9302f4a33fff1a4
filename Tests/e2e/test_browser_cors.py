"""A real browser (headless Chromium) uploading and downloading through presigned URLs from a
page on another origin: the cross-origin PUT needs a successful CORS preflight, the ETag is only
readable when exposed, and with no matching CORS rule the browser blocks the request so nothing
is written. Runs in CI (scripts/setup-machine.sh installs Debian's `chromium`)."""

from __future__ import annotations

import hashlib
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import threading

import pytest

from conftest import object_absent

pytestmark = pytest.mark.timeout(240)

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
RESULT_RE = re.compile(r'<pre id="result">(.*?)</pre>', re.S)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>stowage cors</title></head>
<body><pre id="result">pending</pre>
<script>
(async () => {
  const res = {};
  try {
    const put = await fetch(%(put_url)s, {method: "PUT", body: %(body)s});
    res.put = put.status;
    res.etag = put.headers.get("ETag");
    const get = await fetch(%(get_url)s);
    res.get = get.status;
    res.body = await get.text();
  } catch (e) {
    res.error = String(e);
  }
  document.getElementById("result").textContent = JSON.stringify(res);
})();
</script></body></html>
"""


class PageServer:
    """A second origin: serves registered HTML pages from a thread on 127.0.0.1:<ephemeral>."""

    def __init__(self):
        pages: dict[str, bytes] = {}
        self.pages = pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, html_text: str) -> str:
        self.pages[path] = html_text.encode()
        return self.origin + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def page_server():
    srv = PageServer()
    yield srv
    srv.close()


@pytest.fixture
def chromium():
    if CHROMIUM is None:
        # scripts/test sets this: in CI a missing browser is a failure, never a silent skip.
        if os.environ.get("STOWAGE_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (STOWAGE_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("the chromium binary is not installed (scripts/setup-machine.sh installs it for the test suite)")
    return CHROMIUM


def run_page(chromium: str, url: str, tmp_path) -> dict:
    """Loads `url` in headless Chromium and returns the JSON the page wrote into #result."""
    attempts = []
    for headless in ("--headless=new", "--headless"):
        profile = tmp_path / f"profile-{len(attempts)}"
        cmd = [chromium, headless, "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--no-default-browser-check", "--no-proxy-server", f"--user-data-dir={profile}",
               "--virtual-time-budget=15000", "--dump-dom", url]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=90, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            attempts.append((headless, "timeout", (e.stderr or b"")[-1500:]))
            continue
        dom = p.stdout.decode("utf-8", "replace")
        m = RESULT_RE.search(dom)
        if m and m.group(1).strip() != "pending":
            return json.loads(html.unescape(m.group(1)))
        attempts.append((headless, p.returncode, dom[-500:], p.stderr[-1500:]))
    pytest.fail(f"chromium did not produce a result: {attempts!r}")


def page_for(alice, bucket: str, key: str, body: str) -> str:
    put_url = alice.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600)
    get_url = alice.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600)
    return PAGE % {"put_url": json.dumps(put_url), "get_url": json.dumps(get_url), "body": json.dumps(body)}


def test_browser_put_and_get_through_presigned_urls(chromium, page_server, alice, alice_bucket, tmp_path):
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [page_server.origin], "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]})
    text = "uploaded by chromium: h\u00e9llo \u2713"
    url = page_server.add("/upload.html", page_for(alice, alice_bucket, "from-browser.txt", text))
    res = run_page(chromium, url, tmp_path)
    data = text.encode("utf-8")
    assert res == {"put": 200, "etag": '"%s"' % hashlib.md5(data).hexdigest(), "get": 200, "body": text}, res
    assert alice.get_object(Bucket=alice_bucket, Key="from-browser.txt")["Body"].read() == data


def test_browser_blocked_without_matching_cors_rule(chromium, page_server, alice, alice_bucket, tmp_path):
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["http://some-other-origin.example"], "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["*"]}]})
    url = page_server.add("/blocked.html", page_for(alice, alice_bucket, "blocked.txt", "should not arrive"))
    res = run_page(chromium, url, tmp_path)
    assert set(res) == {"error"} and "TypeError" in res["error"], res
    assert object_absent(alice, alice_bucket, "blocked.txt")
