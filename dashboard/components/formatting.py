"""Plain-text formatting shared by the pages: sizes, durations, progress lines."""

from __future__ import annotations

from datetime import UTC, datetime

_BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_bytes(size_bytes: int | float | None) -> str:
    if size_bytes is None:
        return "–"
    size = float(size_bytes)
    for unit in _BYTE_UNITS:
        if abs(size) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the services store UTC, so say so explicitly."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def human_time(moment: datetime | None) -> str:
    moment = as_utc(moment)
    return "–" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def time_ago(moment: datetime | None, *, now: datetime | None = None) -> str:
    moment = as_utc(moment)
    if moment is None:
        return "never"
    now = as_utc(now) or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 2:  # includes clocks a little apart between worker and dashboard
        return "just now"
    return f"{human_duration(seconds)} ago"


def progress_line(
    *,
    frames_done: int | None,
    frames_total: int | None,
    fps: float | None,
    eta_s: float | None,
) -> str:
    """E.g. "1,200 / 3,000 frames · 14.2 fps · about 2 min 07 s left"; unknown parts left out."""
    parts = []
    if frames_total:
        parts.append(f"{frames_done or 0:,} / {frames_total:,} frames")
    elif frames_done:
        parts.append(f"{frames_done:,} frames")
    if fps:
        parts.append(f"{fps:.1f} fps")
    if eta_s is not None and eta_s >= 0 and frames_total:
        parts.append(f"about {human_duration(eta_s)} left")
    return " · ".join(parts) if parts else "waiting for the first frames"
