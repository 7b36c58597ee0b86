"""Long alert text in Slack sections: split where a reader expects it, cut where it must be.

An alert may carry 10,000 characters (more once escaped), a section takes 3,000, and a whole
message only so much text (`blocks.BLOCKS_TEXT_BUDGET`). So the text is cut to what the
message has room for, then split into sections at line breaks. A ``` code block split in
two is closed at the end of one section and opened again at the start of the next, as Slack
Manager does, so both halves still render as code; a line longer than a section is split
inside, never in the middle of an escaped character (`&amp;`, `&lt;`, `&gt;`).
"""

from __future__ import annotations

from collections.abc import Iterator

FENCE = "```"
_OPEN = FENCE + "\n"
_CLOSE = "\n" + FENCE
_ENTITY_MAX = len("&amp;")


def cut(text: str, room: int) -> tuple[str, int]:
    """`text` cut at a line break to fit `room` characters (a code block it leaves open is
    closed), and how many characters were left out."""
    if len(text) <= room:
        return text, 0
    room = max(room - len(_CLOSE), 0)
    end = text.rfind("\n", 0, room + 1)
    if end < room // 2:  # no line break in the second half: cut inside the line
        end = cut_point(text, room)
    kept = text[:end].rstrip("\n")
    if _opens_fence(kept):
        kept += _CLOSE
    return kept, len(text) - end


def sections(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, split at line breaks, each a whole
    mrkdwn text: a code block open at a split is closed there and opened again after it."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    fenced = False  # whether `current`, as it stands, ends inside a code block
    starts_fenced = False
    for line in _lines(text, limit - len(_OPEN) - len(_CLOSE)):
        closing = len(_CLOSE) if fenced != _opens_fence(line) else 0
        if current and size + 1 + len(line) + closing > limit:
            chunks.append(_chunk(current, starts_fenced, fenced))
            current, size, starts_fenced = [], len(_OPEN) if fenced else 0, fenced
        size += len(line) + (1 if current else 0)
        current.append(line)
        fenced = fenced != _opens_fence(line)
    if current:
        chunks.append(_chunk(current, starts_fenced, fenced))
    return chunks


def _chunk(lines: list[str], starts_fenced: bool, ends_fenced: bool) -> str:
    text = "\n".join(lines)
    return (_OPEN if starts_fenced else "") + text + (_CLOSE if ends_fenced else "")


def _lines(text: str, longest: int) -> Iterator[str]:
    """The text's lines, each longer than `longest` in several pieces."""
    for line in text.split("\n"):
        while len(line) > longest:
            end = cut_point(line, longest)
            yield line[:end]
            line = line[end:]
        yield line


def cut_point(text: str, end: int) -> int:
    """Where to cut `text` at or before `end` without splitting an escaped character or a
    code fence."""
    amp = text.rfind("&", max(end - _ENTITY_MAX + 1, 0), end)
    if amp != -1 and ";" in text[amp : end + _ENTITY_MAX] and ";" not in text[amp:end]:
        end = amp
    while end > 0 and text[end - 1] == "`" and text[end : end + 1] == "`":
        end -= 1
    return max(end, 1)


def _opens_fence(text: str) -> bool:
    """Whether `text` leaves a code block open (an odd number of fences)."""
    return text.count(FENCE) % 2 == 1
