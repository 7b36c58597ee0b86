"""What the Slack stand-in refuses in a message, as Slack does: its Block Kit limits and sizes.

A renderer that passes a stand-in which accepts anything learns about Slack's limits in
production, one refused message at a time. So `chat.postMessage` and `chat.update` check
the message the way Slack's reference states it (docs.slack.dev, Block Kit "blocks" and
"composition objects" pages, and the methods' error lists):

- `msg_too_long`: the top-level `text` is over 40,000 characters ("Slack will truncate
  messages containing more than 40,000 characters"; the API refuses longer ones).
- `invalid_blocks`, with Slack's detail in `errors` and `response_metadata.messages`
  (`[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]`): at most
  50 blocks; a header's text plain_text, at most 150 characters; a section's text at most
  3,000 and at most 10 fields of at most 2,000; a context at most 10 elements; an actions
  block at most 25 elements; a button's text plain_text, at most 75 characters, its value at
  most 2,000; a confirm dialog's title 100, text 300, buttons 30; a select's placeholder 150,
  at most 100 options of at most 75 characters (value 150); ids at most 255 characters and
  block ids unique; no empty text.
- `msg_blocks_too_long`: all text of the blocks together over `SlackLimits.blocks_text_max`
  (see `slack_server_workspace.BLOCKS_TEXT_MAX`).

Blocks are checked both at the top level (`/blocks`) and in each attachment
(`/attachments/N/blocks`), where alertfold puts them for the colour bar.
"""

from __future__ import annotations

from typing import Any

TEXT_MAX = 40_000
BLOCKS_MAX = 50
HEADER_TEXT_MAX = 150
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
PLACEHOLDER_MAX = 150
ID_MAX = 255
CONFIRM_MAX = {"title": 100, "text": 300, "confirm": 30, "deny": 30}

TEXT_TYPES = ("plain_text", "mrkdwn")


def refusal(args: dict[str, Any], blocks_text_max: int) -> dict[str, Any] | None:
    """Slack's answer to a message it will not take, or None when it takes it.

    `args` holds the call's arguments with `blocks` and `attachments` already decoded.
    """
    if len(str(args.get("text", ""))) > TEXT_MAX:
        return {"ok": False, "error": "msg_too_long"}
    lists = [("/blocks", args.get("blocks") or [])] + [
        (f"/attachments/{n}/blocks", attachment.get("blocks") or [])
        for n, attachment in enumerate(args.get("attachments") or [])
        if isinstance(attachment, dict)
    ]
    problems: list[str] = []
    for at, blocks in lists:
        _check_blocks(blocks, at, problems)
    if problems:
        return {
            "ok": False,
            "error": "invalid_blocks",
            "errors": problems,
            "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]},
        }
    if sum(text_length(blocks) for _, blocks in lists) > blocks_text_max:
        return {"ok": False, "error": "msg_blocks_too_long"}
    return None


def text_length(value: Any) -> int:
    """All text of the text objects in `value` (blocks, elements, …), counted together."""
    if isinstance(value, list):
        return sum(text_length(item) for item in value)
    if not isinstance(value, dict):
        return 0
    is_text = value.get("type") in TEXT_TYPES and isinstance(value.get("text"), str)
    own = len(value["text"]) if is_text else 0
    return own + sum(text_length(item) for item in value.values())


def _check_blocks(blocks: Any, at: str, problems: list[str]) -> None:
    if not isinstance(blocks, list):
        problems.append(f"must be an array [json-pointer:{at}]")
        return
    if len(blocks) > BLOCKS_MAX:
        problems.append(f"no more than {BLOCKS_MAX} items allowed [json-pointer:{at}]")
    seen: set[str] = set()
    for n, block in enumerate(blocks):
        where = f"{at}/{n}"
        if not isinstance(block, dict):
            problems.append(f"must be an object [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            _length(block_id, ID_MAX, f"{where}/block_id", problems)
            if block_id in seen:
                problems.append(f"duplicate block_id [json-pointer:{where}/block_id]")
            seen.add(block_id)
        check = _BLOCK_CHECKS.get(str(block.get("type")))
        if check is None:
            problems.append(f"failed to match all allowed schemas [json-pointer:{where}]")
        else:
            check(block, where, problems)


def _header(block: dict[str, Any], at: str, problems: list[str]) -> None:
    _text(block.get("text"), HEADER_TEXT_MAX, f"{at}/text", problems, plain_only=True)


def _section(block: dict[str, Any], at: str, problems: list[str]) -> None:
    fields = block.get("fields")
    if "text" not in block and not fields:
        problems.append(f"must provide text or fields [json-pointer:{at}]")
    if "text" in block:
        _text(block["text"], SECTION_TEXT_MAX, f"{at}/text", problems)
    if fields is not None:
        _items(fields, SECTION_FIELDS_MAX, f"{at}/fields", problems)
        for n, field in enumerate(fields if isinstance(fields, list) else []):
            _text(field, FIELD_TEXT_MAX, f"{at}/fields/{n}", problems)


def _context(block: dict[str, Any], at: str, problems: list[str]) -> None:
    elements = block.get("elements")
    _items(elements, CONTEXT_ELEMENTS_MAX, f"{at}/elements", problems)
    for n, element in enumerate(elements if isinstance(elements, list) else []):
        if not isinstance(element, dict) or element.get("type") != "image":
            _text(element, SECTION_TEXT_MAX, f"{at}/elements/{n}", problems)


def _actions(block: dict[str, Any], at: str, problems: list[str]) -> None:
    elements = block.get("elements")
    _items(elements, ACTIONS_ELEMENTS_MAX, f"{at}/elements", problems)
    for n, element in enumerate(elements if isinstance(elements, list) else []):
        where = f"{at}/elements/{n}"
        if not isinstance(element, dict):
            problems.append(f"must be an object [json-pointer:{where}]")
            continue
        if "action_id" in element:
            _length(str(element["action_id"]), ID_MAX, f"{where}/action_id", problems)
        if element.get("type") == "button":
            _button(element, where, problems)
        elif element.get("type") == "static_select":
            _select(element, where, problems)
        else:
            problems.append(f"failed to match all allowed schemas [json-pointer:{where}]")
        if "confirm" in element:
            _confirm(element["confirm"], f"{where}/confirm", problems)


def _button(button: dict[str, Any], at: str, problems: list[str]) -> None:
    _text(button.get("text"), BUTTON_TEXT_MAX, f"{at}/text", problems, plain_only=True)
    if "value" in button:
        _length(str(button["value"]), BUTTON_VALUE_MAX, f"{at}/value", problems)


def _select(select: dict[str, Any], at: str, problems: list[str]) -> None:
    _text(select.get("placeholder"), PLACEHOLDER_MAX, f"{at}/placeholder", problems, True)
    options = select.get("options")
    _items(options, OPTIONS_MAX, f"{at}/options", problems)
    for n, option in enumerate(options if isinstance(options, list) else []):
        where = f"{at}/options/{n}"
        if not isinstance(option, dict):
            problems.append(f"must be an object [json-pointer:{where}]")
            continue
        _text(option.get("text"), OPTION_TEXT_MAX, f"{where}/text", problems, plain_only=True)
        _length(str(option.get("value", "")), OPTION_VALUE_MAX, f"{where}/value", problems)


def _confirm(confirm: Any, at: str, problems: list[str]) -> None:
    if not isinstance(confirm, dict):
        problems.append(f"must be an object [json-pointer:{at}]")
        return
    for name, limit in CONFIRM_MAX.items():
        _text(confirm.get(name), limit, f"{at}/{name}", problems, plain_only=name != "text")


def _items(items: Any, limit: int, at: str, problems: list[str]) -> None:
    if not isinstance(items, list) or not items:
        problems.append(f"must provide at least 1 item [json-pointer:{at}]")
    elif len(items) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:{at}]")


def _text(value: Any, limit: int, at: str, problems: list[str], plain_only: bool = False) -> None:
    allowed = ("plain_text",) if plain_only else TEXT_TYPES
    if not isinstance(value, dict) or value.get("type") not in allowed:
        problems.append(f"must be a {' or '.join(allowed)} text object [json-pointer:{at}]")
        return
    _length(str(value.get("text", "")), limit, f"{at}/text", problems)


def _length(text: str, limit: int, at: str, problems: list[str]) -> None:
    if not text:
        problems.append(f"must be more than 0 characters [json-pointer:{at}]")
    elif len(text) > limit:
        problems.append(f"must be less than {limit + 1} characters [json-pointer:{at}]")


def _divider(block: dict[str, Any], at: str, problems: list[str]) -> None:
    """A divider has nothing to check."""


_BLOCK_CHECKS = {
    "header": _header,
    "section": _section,
    "context": _context,
    "actions": _actions,
    "divider": _divider,
}
