"""Output of external tools as users see it: Debian's rpm nags on every call that it "should not
be used directly" (ENVIRONMENT pitfall 11); that line is noise in logs and error messages."""

from __future__ import annotations

RPM_NOISE = ("should not be used directly", "use Alien", "ALIEN")


def is_noise(line: str) -> bool:
    return any(noise in line for noise in RPM_NOISE)


def clean_lines(text: str) -> list[str]:
    """The non-blank, non-noise lines of a tool's output."""
    return [line for line in text.splitlines() if line.strip() and not is_noise(line)]


def last_line(text: str, default: str = "no message") -> str:
    """The line of a tool's stderr worth quoting in a one-line error: usually its last."""
    lines = clean_lines(text)
    return lines[-1].strip() if lines else default
