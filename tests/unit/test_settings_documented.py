"""The README's settings tables and the example config file stay true to the code: every
variable the product reads is documented and every documented one is read; every config file
key is in the table, and the example file is valid and names them all."""

from __future__ import annotations

import ast
import base64
import re
from pathlib import Path

from infra.settings import CONFIG_VARIABLE, ENVIRONMENT, Settings, load_settings
from infra.settings_fields import declarations

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("domain", "wire", "infra", "agents", "projections", "gateways", "app")
README = (REPO / "README.md").read_text(encoding="utf-8")
EXAMPLE = REPO / "docs" / "alertfold.example.yaml"
KEYS = {one.key: one.variable for one in declarations(Settings)}


def readme_section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def variables_read_directly() -> set[str]:
    """Names passed as constants to `os.environ.get`/`[…]`, `os.getenv` or an `environ`
    mapping anywhere in the product (a module-level constant counts as its text)."""
    trees = [ast.parse(path.read_text()) for p in PRODUCT for path in (REPO / p).rglob("*.py")]
    constants = {
        target.id: node.value.value
        for tree in trees
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }

    def text(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return constants.get(node.id) if isinstance(node, ast.Name) else None

    def is_environ(node: ast.expr) -> bool:
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        return name in ("environ", "environment")

    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            argument: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
                reads = node.func.attr == "getenv" or (
                    node.func.attr == "get" and is_environ(node.func.value)
                )
                argument = node.args[0] if reads else None
            elif isinstance(node, ast.Subscript) and is_environ(node.value):
                argument = node.slice
            name = text(argument) if argument is not None else None
            if name is not None:
                found.add(name)
    return found


def documented_variables() -> set[str]:
    table = readme_section("## Settings")
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, re.MULTILINE))


def test_the_scan_finds_variables_read_outside_the_settings_model() -> None:
    assert {"JAVA_HOME", CONFIG_VARIABLE, "ALERTFOLD_DATA_DIR"} <= variables_read_directly()


def test_every_variable_the_product_reads_is_in_the_settings_table() -> None:
    read = set(ENVIRONMENT) | variables_read_directly()
    missing = sorted(read - documented_variables())
    assert not missing, f"read but not in the README's settings table: {missing}"


def test_every_variable_in_the_settings_table_is_read() -> None:
    read = set(ENVIRONMENT) | variables_read_directly()
    unread = sorted(documented_variables() - read)
    assert not unread, f"in the README's settings table but never read: {unread}"


def test_the_config_file_table_names_every_key_with_its_variable() -> None:
    table = readme_section("## Configuration file")
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", table, re.MULTILINE)
    documented = {
        f"{section}.{key}": variable
        for section, keys in rows
        for key, variable in re.findall(r"`([a-z0-9_]+)` \(`([A-Z0-9_]+)`\)", keys)
    }
    assert documented == KEYS


def test_the_alert_bridge_table_maps_only_to_keys_that_exist() -> None:
    table = readme_section("### From Alert Bridge")
    rows = re.findall(r"^\| (.+) \| (.+) \|$", table, re.MULTILINE)[2:]
    sections = {key.partition(".")[0] for key in KEYS}
    named = {
        key.split(":")[0]
        for _, ours in rows
        for key in re.findall(r"`([a-z_]+\.[a-z0-9_]+)[^`]*`", ours)
        if key.partition(".")[0] in sections
    }
    assert named and named <= set(KEYS), sorted(named - set(KEYS))
    for key in ("resend_interval", "silence_durations", "deduplication_window"):
        assert f"| `alerting.{key}` | `alerting.{key}`" in table


def test_the_example_config_file_is_valid_as_it_stands() -> None:
    assert load_settings({"ALERTFOLD_CONFIG": str(EXAMPLE)}) == load_settings({})


def test_every_key_of_the_example_is_valid_once_uncommented(tmp_path: Path) -> None:
    """The commented-out keys are examples too: uncommented, with the secrets they name set
    and the files they name present, the file still starts, and it names every setting."""
    text = re.sub(
        r"^(\s+)# ([a-z][a-z0-9_]*): ", r"\1\2: ", EXAMPLE.read_text(), flags=re.MULTILINE
    )
    example = tmp_path / "alertfold.yaml"
    example.write_text(text)
    for name in (
        "slack-permissions.json",
        "routes.json",
        "notification-channels.json",
        "kafka-ca.pem",
        "kafka-client.pem",
        "kafka-client.key",
    ):
        (tmp_path / name).write_text("{}")
    secrets = {name: f"{name.lower()}-0123456789" for name in re.findall(r"\$\{(\w+)\}", text)}
    secrets["WEBHOOK_ENCRYPTION_KEY"] = "A" * 32
    secrets["NOTIFICATION_SECRETS_KEY"] = base64.b64encode(bytes(32)).decode()
    settings = load_settings({"ALERTFOLD_CONFIG": str(example), **secrets})
    assert settings.slack_bot_token == secrets["SLACK_BOT_TOKEN"]
    assert settings.routes_file == tmp_path / "routes.json"
    set_in_file = re.findall(r"^  (\w+):", text, re.MULTILINE)
    sections = re.findall(r"^(\w+):", text, re.MULTILINE)
    assert sorted(set_in_file) == sorted(key.partition(".")[2] for key in KEYS)
    assert sections == list(dict.fromkeys(key.partition(".")[0] for key in KEYS))
