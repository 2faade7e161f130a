"""The on-disk format of the event log, shared by its writer and its readers.

Layout under the log root::

    <group dir>/group.json              {"name", "creationTime", "retentionInDays"}
    <group dir>/<stream dir>/stream.json {"name", "creationTime"}
    <group dir>/<stream dir>/00000000.log, 00000001.log, ...   (append-only segments)

Directory names are the names percent-encoded (CloudWatch allows ``/`` and
``#`` in group names and almost anything in stream names); the JSON metadata
keeps the real name. Each segment line is one JSON object::

    {"t":<timestamp ms>,"i":<ingestion ms>,"m":"<message>","c":"<crc32 hex>"}\\n

where ``c`` is the CRC-32 of the bytes before ``,"c":``. JSON escapes every
raw newline inside a message, so ``\\n`` only ever ends a line, and a line
whose CRC matches was written whole: after a crash a torn last line (no
newline, or garbage from a half-written page) fails the check and is ignored
by readers and cut off by the writer when it reopens the segment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from riskscore.durable import fsync_dir as fsync_dir
from riskscore.durable import replace_file

GROUP_META: Final = "group.json"
STREAM_META: Final = "stream.json"
SEGMENT_SUFFIX: Final = ".log"
_SEGMENT_RE: Final = re.compile(r"^(\d{8,})\.log$")
_SAFE: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
# File names are limited to 255 bytes; long names get a digest instead of a tail.
_MAX_DIR_NAME: Final = 200
_CRC_TAG: Final = b',"c":"'
# len(',"c":"') + 8 hex digits + len('"}\n')
_TRAILER_LEN: Final = 17


@dataclass(frozen=True, slots=True)
class Entry:
    """One valid line of a segment: where it is and what it holds."""

    offset: int
    end: int
    timestamp: int
    ingestion_time: int
    message: str


def encode_name(name: str) -> str:
    """A directory name for a group or stream name: injective, never '.' or '..'."""
    encoded = "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in name.encode("utf-8"))
    if len(encoded) <= _MAX_DIR_NAME:
        return encoded
    # '~' is never produced by the encoding above, so these cannot collide with it.
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    return f"{encoded[:100]}~{digest}"


def segment_name(number: int) -> str:
    """File name of segment ``number``."""
    return f"{number:08d}{SEGMENT_SUFFIX}"


def segment_numbers(stream_dir: Path) -> list[int]:
    """Segment numbers present in a stream directory, ascending."""
    try:
        names = os.listdir(stream_dir)
    except FileNotFoundError:
        return []
    numbers = [int(m.group(1)) for n in names if (m := _SEGMENT_RE.match(n))]
    return sorted(numbers)


def encode_line(timestamp: int, ingestion_time: int, message: str) -> bytes:
    """One segment line, CRC included."""
    body = (
        f'{{"t":{timestamp},"i":{ingestion_time},"m":{json.dumps(message, ensure_ascii=False)}'
    ).encode()
    return body + b'%s%08x"}\n' % (_CRC_TAG, zlib.crc32(body))


def decode_line(line: bytes) -> tuple[int, int, str] | None:
    """(timestamp, ingestion time, message) of a whole line, or None if it is not valid."""
    if len(line) < _TRAILER_LEN or not line.endswith(b'"}\n'):
        return None
    split = len(line) - _TRAILER_LEN
    if line[split : split + len(_CRC_TAG)] != _CRC_TAG:
        return None
    try:
        crc = int(line[split + len(_CRC_TAG) : -3], 16)
    except ValueError:
        return None
    body = line[:split]
    if zlib.crc32(body) != crc:
        return None
    try:
        obj = json.loads(body + b"}")
    except ValueError:
        return None
    return int(obj["t"]), int(obj["i"]), str(obj["m"])


def scan(data: bytes, base: int = 0) -> Iterator[Entry]:
    """The valid lines of a segment's bytes (read from file offset ``base``).

    Stops at an unterminated last line (torn, or still being written); skips a
    terminated line that fails its CRC (damage in place, not a torn tail).
    """
    pos = 0
    size = len(data)
    while pos < size:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return
        decoded = decode_line(data[pos : nl + 1])
        if decoded is not None:
            yield Entry(base + pos, base + nl + 1, *decoded)
        pos = nl + 1


def read_segment(path: Path, start: int = 0, stop: int | None = None) -> list[Entry]:
    """The valid entries of a segment between two offsets; [] if it has gone."""
    try:
        with path.open("rb") as f:
            f.seek(start)
            data = f.read() if stop is None else f.read(max(0, stop - start))
    except FileNotFoundError:
        return []
    return list(scan(data, start))


def valid_length(path: Path) -> int:
    """Offset just after the last valid line: where an appender may safely continue."""
    end = 0
    for entry in read_segment(path):
        end = entry.end
    return end


def last_entry(path: Path) -> Entry | None:
    """The last valid line of a segment, reading backwards from its end."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            chunk = 64 * 1024
            while True:
                start = max(0, size - chunk)
                f.seek(start)
                data = f.read(size - start)
                entries = list(scan(_from_line_start(data, start), start + _skip(data, start)))
                if entries:
                    return entries[-1]
                if start == 0:
                    return None
                chunk *= 4
    except FileNotFoundError:
        return None


def _skip(data: bytes, start: int) -> int:
    # Inside the file, a chunk starts mid-line: drop bytes up to the first newline.
    if start == 0:
        return 0
    nl = data.find(b"\n")
    return len(data) if nl < 0 else nl + 1


def _from_line_start(data: bytes, start: int) -> bytes:
    return data[_skip(data, start) :]


def read_json(path: Path) -> dict[str, Any] | None:
    """A metadata file's object, or None when it is missing or unreadable."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    """Replace a metadata file durably: temp file, fsync, rename, fsync the directory."""
    replace_file(path, json.dumps(obj, sort_keys=True).encode())
    fsync_dir(path.parent)


def remove_quietly(path: Path) -> None:
    """Delete a file that may already be gone."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
