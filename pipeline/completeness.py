"""Telling a recording that was cut short from a whole one.

A copy interrupted on its way from a phone or a recorder leaves a file that still decodes:
FFmpeg plays what is there and stops (for WAV it even reports the length of what is there,
not what the header says). So a recording is whole only if (1) what it decodes to agrees
within a second with the length its container declares, and (2) it does not end inside a
frame. Each container declares its length its own way, and is asked its own way:

======== ========================================== =============================================
format   declared length                            a last frame cut short
======== ========================================== =============================================
WAV      data chunk size (mutagen)                  FFmpeg reads less than the data chunk holds
FLAC     STREAMINFO total samples (mutagen)         the last frame does not decode
MP3      Xing/Info/VBRI frame count (mutagen)       the last frame is shorter than its header says
M4A/MP4  the audio track's mdhd duration (FFmpeg)   FFmpeg flags a sample the file ends inside;
                                                    a top-level box runs past the end of the file
                                                    (without its moov index FFmpeg cannot open it)
Ogg      none (the last page's granule position     no final end-of-stream page, or the last page
         is only what is there)                     is not whole (mutagen reads the page)
WebM/MKV Segment duration (FFmpeg; audio-only files) FFmpeg flags a block cut short
======== ========================================== =============================================

A file that decodes to more than a second longer than it declares is refused too (MP3s
joined by concatenation keep the first part's Xing header; a header may be broken).

What cannot be told, and is accepted: a file cut exactly between two frames that declares
no length -- a CBR MP3 without a Xing/Info header, a WAV or FLAC written by a streaming
recorder that never filled in its length (data size 0 or 0xFFFFFFFF, total samples 0), a
WAV in a compressed codec (ADPCM, GSM: mutagen reads no exact length for it), RF64, an
ADTS .aac or AMR file -- any cut of less than a second that falls between frames, and an
MP3 cut inside its last frame and then given an ID3v1 tag (FFmpeg's parser makes a whole
frame of the cut one and the tag's first bytes).
"""

from __future__ import annotations

import io
import logging
import struct
from pathlib import Path

from .errors import InputError

__all__ = ["TOLERANCE_SECONDS", "check_complete", "undecodable"]

logger = logging.getLogger(__name__)

#: How far the decoded length may stray from the declared one: encoder delay, padding and
#: priming samples come to tens of milliseconds; a lost stretch of speech is seconds.
TOLERANCE_SECONDS = 1.0

_MP4_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"
_MATROSKA_FORMAT = "matroska,webm"
# WAV codes whose mutagen length is exact: PCM, IEEE float, A-law, mu-law, extensible
# (mutagen divides the data size by the block size, which for ADPCM is many samples).
_PCM_WAV = frozenset({1, 3, 6, 7, 0xFFFE})
# Streaming writers that cannot seek back leave a placeholder data size (0xFFFFFFFF,
# 0x7FFFFFFF, 0x7FFFF000): above this no WAV header is taken at its word.
_WAV_PLACEHOLDER_BYTES = 0x7FFF_0000


def check_complete(path: Path, seconds: float) -> None:
    """Refuse a recording cut short. ``seconds`` is what it decoded to; raises InputError
    saying how the file is cut when it disagrees by more than :data:`TOLERANCE_SECONDS`
    with the length its container declares, or ends inside a frame (see the module)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InputError(f"{path.name} has no audio track")
            stream = container.streams.audio[0]
            fmt = container.format.name
            declared = _declared_by_ffmpeg(container, stream, fmt)
            if declared is None:
                declared = _declared_by_header(path, fmt)
            cut = None
            if fmt != "ogg":
                # a WAV data size that is a streaming writer's placeholder makes FFmpeg read
                # past the end of any such file: its short last read is no sign then
                cut = _last_frame_cut(container, stream, fmt != "wav" or declared is not None)
    except InputError:
        raise
    except Exception as exc:  # PyAV raises many error types
        raise undecodable(path, exc) from exc
    if declared is not None:
        seconds_declared, source = declared
        if seconds < seconds_declared - TOLERANCE_SECONDS:
            raise InputError(
                f"{path.name} is truncated: it decodes to {seconds:.1f} s of the "
                f"{seconds_declared:.1f} s its {source} declares"
            )
        if seconds > seconds_declared + TOLERANCE_SECONDS:
            raise InputError(
                f"{path.name} is damaged: it decodes to {seconds:.1f} s but its {source} "
                f"declares {seconds_declared:.1f} s (joined from pieces, or a broken header)"
            )
    if cut:
        raise InputError(f"{path.name} is truncated: {cut}")
    if fmt == _MP4_FORMAT and (cut := _mp4_cut_short(path)):
        raise InputError(f"{path.name} is truncated: {cut}")
    if fmt == "ogg":
        _check_ogg_end(path)


def undecodable(path: Path, exc: BaseException) -> InputError:
    """The error for a file FFmpeg cannot open or read: why it is cut short when that can
    be told (an MP4 without its index), else FFmpeg's reason, without the file's path."""
    reason = _mp4_cut_short(path)
    if reason:
        return InputError(f"{path.name} is truncated: {reason}")
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return InputError(f"cannot decode audio in {path.name}: {detail}")


# -- declared lengths ----------------------------------------------------------------------


def _declared_by_ffmpeg(container: object, stream: object, fmt: str) -> tuple[float, str] | None:
    """The lengths FFmpeg reads from a header rather than estimates: an MP4 track's mdhd
    duration, a WebM/MKV Segment duration (audio-only files: a video track may outlast
    the audio). Elsewhere FFmpeg clamps to the file (WAV) or guesses from the bitrate."""
    if fmt == _MP4_FORMAT:
        duration, time_base = stream.duration, stream.time_base  # type: ignore[attr-defined]
        if duration and time_base is not None:
            return float(duration * time_base), "MP4 header (mdhd)"
    if fmt == _MATROSKA_FORMAT and len(container.streams) == 1:  # type: ignore[attr-defined]
        duration = container.duration  # type: ignore[attr-defined]
        if duration:
            return duration / 1_000_000, "Matroska header (Segment duration)"
    return None


def _declared_by_header(path: Path, fmt: str) -> tuple[float, str] | None:
    """The lengths mutagen reads from WAV, FLAC and MP3 headers; None where the header
    declares none (a streaming writer's placeholder, a CBR MP3 without a Xing header)."""
    import mutagen

    try:
        if fmt == "wav":
            from mutagen.wave import WAVE

            wav = WAVE(path).info
            if wav is not None and wav.audio_format in _PCM_WAV:
                size = wav.length * wav.sample_rate * wav.channels * wav.bits_per_sample / 8
                if 0 < size < _WAV_PLACEHOLDER_BYTES:
                    return wav.length, "WAV header (data chunk size)"
        elif fmt == "flac":
            from mutagen.flac import FLAC

            flac = FLAC(path).info
            if flac and flac.total_samples and flac.sample_rate:
                return flac.total_samples / flac.sample_rate, "FLAC header (STREAMINFO)"
        elif fmt == "mp3":
            from mutagen.mp3 import MP3, BitrateMode

            mp3 = MP3(path).info
            # mutagen sets a bitrate mode only when it found a Xing/Info/VBRI header; without
            # one its length is an estimate from the file's size, which a cut file shares
            if mp3 and mp3.bitrate_mode != BitrateMode.UNKNOWN and mp3.length > 0:
                return mp3.length, "MP3 header (Xing/Info/VBRI frame count)"
    except (mutagen.MutagenError, OSError, ValueError, struct.error) as exc:
        logger.debug("no declared length in %s: %s", path.name, exc)
    return None


# -- the last frame ------------------------------------------------------------------------


def _last_frame_cut(container: object, stream: object, short_read_counts: bool) -> str | None:
    """How the audio track's last packet is cut short, or None if it is whole. Only
    packets are read, not decoded: 0.1-0.2 s for 30 minutes of WAV, FLAC, MP3 or M4A,
    a tenth to a third of decoding it (bench/check_complete.py), and nothing next to
    transcribing it."""
    import av

    last = None
    for packet in container.demux(stream):  # type: ignore[attr-defined]
        if packet.size:
            last = packet
    if last is None:
        return None
    if last.is_corrupt and short_read_counts:
        # FFmpeg read fewer bytes than the container said the last frame (MP4, Matroska)
        # or the WAV data chunk holds
        if container.format.name == "wav":  # type: ignore[attr-defined]
            return "its data chunk declares more bytes than the file holds"
        return "it ends inside its last audio frame"
    codec = stream.codec_context.name  # type: ignore[attr-defined]
    if codec in ("mp3", "mp3float", "mp2", "mp2float", "mp1", "mp1float"):
        length = _mpeg_frame_length(bytes(last)[:4])
        if length is not None and last.size < length:
            return f"its last MPEG audio frame has {last.size} of its {length} bytes"
    if codec == "flac":  # FLAC frames stand alone: a cut one fails its own checks
        try:
            stream.codec_context.decode(last)  # type: ignore[attr-defined]
        except av.error.InvalidDataError:
            return "it ends inside its last FLAC frame"
    return None


# kbit/s by bitrate index 1..14, for (MPEG-1?, layer); ISO/IEC 11172-3 and 13818-3
_MPEG_KBPS = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame_length(header: bytes) -> int | None:
    """Bytes in the MPEG audio frame that starts with ``header`` (4 bytes), or None if
    they are not a frame header (trailing junk or a tag: FFmpeg hands those on as a
    last packet too). No library exposes this: mutagen computes it but keeps it private."""
    if len(header) < 4:
        return None
    word = int.from_bytes(header, "big")
    version = (word >> 19) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    layer = 4 - ((word >> 17) & 3)  # 1, 2, 3 (4: reserved)
    bitrate_index = (word >> 12) & 15
    rate_index = (word >> 10) & 3
    padding = (word >> 9) & 1
    if (word >> 21) != 0x7FF or version == 1 or layer == 4 or rate_index == 3:
        return None
    if bitrate_index in (0, 15):  # free format or invalid: no length in the header
        return None
    bitrate = _MPEG_KBPS[(version == 3, layer)][bitrate_index - 1] * 1000
    rate = _MPEG_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    per_frame = 144 if layer == 2 or version == 3 else 72
    return per_frame * bitrate // rate + padding


def _check_ogg_end(path: Path) -> None:
    """An Ogg stream ends with a page flagged end-of-stream (RFC 3533); a file cut short has
    none, or ends inside its last page, though it decodes without an error. The last page
    is found as mutagen's ``OggPage.find_last`` does, and read with mutagen."""
    from mutagen.ogg import OggPage, error

    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 2 * 65_536))  # a page is at most 65,307 bytes
        tail = fh.read()
    start = tail.rfind(b"OggS")
    if start < 0:
        raise InputError(f"{path.name} is truncated: its Ogg stream has no final page")
    try:
        page = OggPage(io.BytesIO(tail[start:]))
    except (error, EOFError):
        raise InputError(f"{path.name} is truncated: it ends inside its last Ogg page") from None
    if not page.last:
        raise InputError(f"{path.name} is truncated: its Ogg stream has no final page")


# -- files FFmpeg cannot open --------------------------------------------------------------


def _mp4_cut_short(path: Path) -> str | None:
    """Why an MP4/M4A file is cut short, read from its top-level boxes (ISO/IEC 14496-12
    4.2: a 32-bit size, or 1 and a 64-bit size, or 0 for "to the end", then the type): a
    box that runs past the end of the file, or no moov (the index phones write last). A
    file FFmpeg opens may still have lost the end of its index. The walk stops at the
    first box type it does not know: a tag or junk appended after the last box."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            if fh.read(8)[4:8] != b"ftyp":
                return None
            offset, kinds = 0, set()
            while offset + 8 <= size:
                fh.seek(offset)
                header = fh.read(16)
                box, kind = struct.unpack(">I4s", header[:8])
                if kind not in _MP4_TOP_LEVEL:
                    break
                if box == 1 and len(header) == 16:
                    box, head = struct.unpack(">Q", header[8:])[0], 16
                else:
                    box, head = (size - offset if box == 0 else box), 8
                if box < head:
                    return None  # not boxes after all: FFmpeg's reason stands
                name = kind.decode("ascii")
                kinds.add(name)
                if offset + box > size:
                    return (
                        f"its '{name}' box declares {box} bytes but the file ends "
                        f"{size - offset} bytes into it"
                    )
                offset += box
    except OSError:
        return None
    if "moov" not in kinds:
        return "it has no 'moov' index (the recording was not finished, or the copy was cut short)"
    return None


#: Top-level box types of ISO/IEC 14496-12 and QuickTime files.
_MP4_TOP_LEVEL = frozenset(
    b"ftyp moov mdat free skip wide udta meta moof mfra sidx ssix styp pdin uuid emsg prft".split()
)
