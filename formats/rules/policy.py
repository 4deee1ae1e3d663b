"""Which rules run and how hard they bite: defaults from the catalog, overrides from a file.

`AXIS_RULES` names a TOML, YAML or JSON file of overrides, `{"RULE_X": "error"|"warning"|"off"}`
(at the top level or under a `rules` table), or is the word `off` to turn every rule off.
A bad file fails loudly at start-up rather than silently checking less.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from formats.rules.catalog import RULES, Level

Setting = Literal["error", "warning", "info", "off"]
_SETTINGS = ("error", "warning", "info", "off")


class PolicyError(ValueError):
    """The overrides file is unreadable, names an unknown rule or an unknown severity."""


@dataclass(frozen=True)
class RulePolicy:
    overrides: dict[str, Setting] = field(default_factory=dict)
    all_off: bool = False

    def __post_init__(self) -> None:
        for code, setting in self.overrides.items():
            if code not in RULES:
                raise PolicyError(f"unknown rule {code!r} in the rules policy")
            if setting not in _SETTINGS:
                raise PolicyError(f"{code}: {setting!r} is not one of {', '.join(_SETTINGS)}")

    @classmethod
    def off(cls) -> RulePolicy:
        return cls(all_off=True)

    def enabled(self, code: str) -> bool:
        return not self.all_off and self.overrides.get(code) != "off"

    def severity(self, code: str, proposed: Level) -> Level | None:
        """The severity a finding gets, or None when its rule is off.

        `proposed` is what the rule chose (usually the catalog default; a rule may soften one
        case, e.g. a công văn whose symbol merely looks like a type abbreviation); an override
        replaces it for every finding of that code.
        """
        if self.all_off:
            return None
        setting = self.overrides.get(code)
        if setting is None:
            return proposed
        return None if setting == "off" else setting

    def needs_pdf_text(self) -> bool:
        """False when no rule reads the PDF: the hub can skip `extract_pdf_text` then."""
        from formats.rules.pdf_checks import ALL_PDF_RULES

        return any(self.enabled(code) for code in (*ALL_PDF_RULES, "RULE_PDF_UNREADABLE"))

    def effective(self) -> dict[str, Setting]:
        """The severity of every rule after overrides: for `axis check --rules` and the docs."""
        if self.all_off:
            return dict.fromkeys(RULES, "off")
        return {code: self.overrides.get(code, rule.severity) for code, rule in RULES.items()}


def load_policy(value: str | None) -> RulePolicy:
    """The policy for an `AXIS_RULES` value: None/"" → defaults, "off" → nothing, else a file."""
    if value is None or not value.strip():
        return RulePolicy()
    if value.strip().lower() == "off":
        return RulePolicy.off()
    data = parse_file(Path(value))
    if isinstance(data, dict) and isinstance(data.get("rules"), dict):
        data = data["rules"]
    if not isinstance(data, dict):
        raise PolicyError(f"{value}: expected a table of RULE_CODE = severity")
    overrides = {str(k).strip(): str(v).strip().lower() for k, v in data.items()}
    return RulePolicy(overrides=overrides)  # type: ignore[arg-type]


def parse_file(path: Path) -> object:
    """A TOML (.toml), JSON (.json) or YAML (anything else) configuration file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read {str(path)!r}: {exc}") from exc
    return _parse(path.suffix.lower(), raw, str(path))


def _parse(suffix: str, raw: bytes, name: str) -> object:
    try:
        if suffix == ".toml":
            return tomllib.loads(raw.decode("utf-8"))
        if suffix == ".json":
            return json.loads(raw)
        import yaml  # YAML (and JSON, a subset of it) for any other name

        return yaml.safe_load(raw)
    except Exception as exc:  # noqa: BLE001 - any parser error is the same problem to the operator
        raise PolicyError(f"cannot parse {name}: {exc}") from exc
