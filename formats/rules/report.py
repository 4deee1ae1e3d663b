"""Collects findings while the rules run, applying the policy as each one is raised."""

from __future__ import annotations

from formats.findings import Finding
from formats.rules.catalog import RULES, Level
from formats.rules.policy import RulePolicy


def rules_of(finding: Finding) -> list[str]:
    """The rule codes a finding is about, for counting per rule: its own code, or for a
    RULE_NOT_CHECKED the codes its message names ("RULE_A, RULE_B not checked: …")."""
    if finding.code != "RULE_NOT_CHECKED":
        return [finding.code]
    head, sep, _ = finding.message.partition(" not checked:")
    codes = [c.strip() for c in head.split(",")] if sep else []
    return [c for c in codes if c in RULES] or [finding.code]


class FindingList:
    def __init__(self, policy: RulePolicy) -> None:
        self.policy = policy
        self.items: list[Finding] = []

    def enabled(self, *codes: str) -> bool:
        return any(self.policy.enabled(code) for code in codes)

    def add(self, code: str, path: str, message: str, severity: Level | None = None) -> None:
        level = self.policy.severity(code, severity or RULES[code].severity)
        if level is not None:
            self.items.append(Finding(code, level, path, message))

    def not_checked(self, rules: str | tuple[str, ...], path: str, why: str) -> None:
        """Rules that could not be applied: said once, in the clerk's words, never a pass.

        The message starts with the codes of the rules concerned, so that reports can count
        "not checked" per rule; nothing is said about rules the policy turned off.
        """
        wanted = [r for r in ((rules,) if isinstance(rules, str) else rules) if self.enabled(r)]
        if wanted:
            self.add("RULE_NOT_CHECKED", path, f"{', '.join(wanted)} not checked: {why}")
