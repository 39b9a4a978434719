"""Port types, coercions and media values."""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from pathlib import Path

import pytest

from nbflow.exceptions import MediaError
from nbflow.model.types import PORT_TYPES, can_connect, check_value, coerce
from nbflow.model.values import Media, sniff_mime
from nbflow.nodes.io_nodes import load_media
from nbflow.providers.netguard import allowing
from nbflow.providers.offline import png_bytes

PNG = png_bytes(2, 2, [b"\xff\x00\x00" * 2, b"\x00\xff\x00" * 2])
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


def test_every_scalar_has_a_list_type_and_any():
    for t in ("text", "number", "boolean", "json", "image", "audio", "video", "file"):
        assert t in PORT_TYPES and f"list[{t}]" in PORT_TYPES
    assert "any" in PORT_TYPES


@pytest.mark.parametrize(("src", "dst", "ok"), [
    ("text", "text", True), ("number", "text", True), ("boolean", "text", True), ("json", "text", True),
    ("text", "number", False), ("image", "text", False), ("text", "image", False), ("image", "file", True),
    ("file", "image", False), ("list[number]", "list[text]", True), ("list[text]", "text", True),
    ("image", "any", True), ("any", "image", True), ("list[image]", "list[any]", True),
    ("list[image]", "image", False), ("audio", "video", False),
])
def test_only_declared_coercions_connect(src, dst, ok):
    assert can_connect(src, dst) is ok


def test_coercion_values():
    assert coerce(3.0, "number", "text") == "3"
    assert coerce(2.5, "number", "text") == "2.5"
    assert coerce(True, "boolean", "text") == "true"
    assert coerce({"b": 1, "a": "é"}, "json", "text") == '{"a": "é", "b": 1}'
    assert coerce([1, 2], "list[number]", "list[text]") == ["1", "2"]
    assert coerce(["a", "b"], "list[text]", "text") == "a\nb"
    with pytest.raises(ValueError):
        coerce("x", "text", "image")


def test_check_value():
    assert check_value("x", "text") is None
    assert check_value(1, "text") == "expected text, got int"
    assert check_value(True, "number") == "expected a number, got bool"
    assert check_value([1, "a"], "list[number]") == "item 1: expected a number, got str"
    assert check_value(Media.from_bytes(PNG), "image") is None
    assert check_value(Media.from_bytes(PNG), "file") is None
    assert "expected audio" in check_value(Media.from_bytes(PNG), "audio")
    assert check_value(object(), "json") == "expected a JSON value, got object"


@pytest.mark.parametrize(("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"),
                                            (GIF, "image/gif")])
def test_images_accepted_by_magic_number(data, mime):
    m = Media.from_bytes(data, expect="image", name="whatever.bin")
    assert m.mime == mime and m.kind == "image"


@pytest.mark.parametrize("data", [b"hello world", b"%PDF-1.4 ...", b"BM\x00\x00bitmap", b""])
def test_other_bytes_rejected_as_image(data):
    with pytest.raises(MediaError, match="is not a PNG, JPEG, WebP or GIF image"):
        Media.from_bytes(data, expect="image", name="x.png")


def test_oversize_rejected(tmp_path: Path):
    p = tmp_path / "big.png"
    p.write_bytes(PNG + b"\x00" * 2000)
    with pytest.raises(MediaError, match=r"big.png is 2,\d+ bytes, over the 1,000-byte limit"):
        Media.from_path(p, expect="image", max_bytes=1000)


def test_media_json_round_trip_and_repr():
    m = Media.from_bytes(PNG, name="p.png", meta={"provider": "offline"})
    again = Media.from_json(m.to_json())
    assert again == m and again.meta == {"provider": "offline"}
    assert repr(m) == f"Media(image/png, {len(PNG)} bytes)"
    assert m.data_url().startswith("data:image/png;base64,")
    assert "data_base64" not in m.to_json(inline=False)


def test_media_needs_bytes_or_url():
    with pytest.raises(MediaError):
        Media(mime="image/png")
    assert Media(mime="image/png", url="https://example.invalid/x.png").kind == "image"


def test_sniff_audio_video():
    assert sniff_mime(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "audio/wav"
    assert sniff_mime(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"


def test_offline_png_is_a_valid_png():
    # parse chunks and check CRCs and the decompressed size
    assert PNG.startswith(b"\x89PNG\r\n\x1a\n")
    pos = 8
    chunks = []
    while pos < len(PNG):
        (length,) = struct.unpack(">I", PNG[pos:pos + 4])
        tag = PNG[pos + 4:pos + 8]
        body = PNG[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", PNG[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        chunks.append((tag, body))
        pos += 12 + length
    assert [t for t, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert len(zlib.decompress(chunks[1][1])) == 2 * (1 + 2 * 3)


def test_load_media_from_path_data_url_and_local_http(tmp_path: Path):
    p = tmp_path / "a.gif"
    p.write_bytes(GIF)
    assert asyncio.run(load_media(str(p), expect="image")).mime == "image/gif"
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert asyncio.run(load_media(url, expect="image")).data == PNG

    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = PNG if self.path == "/ok.png" else b"<html>not found</html>"
            self.send_response(200 if self.path == "/ok.png" else 404)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        with pytest.raises(MediaError, match="not allowed, could not be reached"):  # loopback: refused
            asyncio.run(load_media(f"{base}/ok.png", expect="image"))
        with allowing(["127.0.0.1"]):
            m = asyncio.run(load_media(f"{base}/ok.png", expect="image"))
            assert m.data == PNG and m.name == "ok.png"
            with pytest.raises(MediaError, match="not allowed, could not be reached"):  # a 404: the same text
                asyncio.run(load_media(f"{base}/missing.png", expect="image"))
            with pytest.raises(MediaError, match="over the 10-byte limit"):
                asyncio.run(load_media(f"{base}/ok.png", expect="image", max_bytes=10))
    finally:
        srv.shutdown()
