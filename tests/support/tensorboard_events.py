"""Read TensorBoard event files back as TensorBoard shows them: scalars by tag and step,
with the purge a resumed run asks for (a SessionLog START at step N drops what earlier
files logged from step N on)."""

from __future__ import annotations

import struct
from pathlib import Path


def read_scalars(logdir: Path) -> dict[str, dict[int, float]]:
    from tensorboardX.proto.event_pb2 import Event, SessionLog

    events = []
    for path in logdir.glob("events.out.tfevents.*"):
        events.extend(Event.FromString(record) for record in _records(path.read_bytes()))
    events.sort(key=lambda e: e.wall_time)  # files of several runs, in the order written
    scalars: dict[str, dict[int, float]] = {}
    for event in events:
        if event.HasField("session_log") and event.session_log.status == SessionLog.START:
            for by_step in scalars.values():
                for step in [s for s in by_step if s >= event.step]:
                    del by_step[step]
        if event.HasField("summary"):
            for value in event.summary.value:
                scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars


def _records(data: bytes) -> list[bytes]:
    """TFRecord framing: length (u64), its CRC (u32), the bytes, their CRC (u32)."""
    records, at = [], 0
    while at + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, at)
        records.append(data[at + 12 : at + 12 + length])
        at += 12 + length + 4
    return records
