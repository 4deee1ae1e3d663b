"""Accessibility checks run in the page: axe-core (Deque's engine, the one browsers' audit
tools use; bundled by the `axe-playwright-python` test dependency) with its WCAG 2.x A and AA
rules and its best practices, colour contrast included; and our own small check of what
axe treats as best practice only or not at all (exactly one h1, the page's language among
ours)."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

_AXE = Axe()
# Every rule axe has on by default (WCAG 2.0-2.2 A/AA and best practices). The PDF frame is
# not entered: it holds Chromium's PDF viewer, not our page.
AXE_OPTIONS = {"resultTypes": ["violations"], "iframes": False}


def axe(page) -> list[str]:  # noqa: ANN001 - a Playwright page
    """axe-core's violations, one line each: rule, impact, the elements."""
    found = _AXE.run(page, options=AXE_OPTIONS).response["violations"]
    return [
        f"axe {v['id']} ({v['impact']}): "
        + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5])
        for v in found
    ]


CHECK = """
() => {
  const problems = [];
  const lang = document.documentElement.getAttribute("lang");
  if (!lang || !["vi", "en"].includes(lang)) problems.push("html lang missing");
  if (!document.title.trim()) problems.push("no title");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`h1 count ${h1}`);
  const controls = document.querySelectorAll(
    "input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea");
  for (const el of controls) {
    const named = el.getAttribute("aria-label") || el.closest("label") ||
      (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`));
    if (!named) problems.push(`unlabelled ${el.tagName} ${el.name || el.id}`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`img without alt ${img.src}`);
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    const text = el.textContent.trim() || el.getAttribute("aria-label");
    if (!text) problems.push(`empty ${el.tagName}`);
  }
  for (const t of document.querySelectorAll("table")) {
    if (!t.querySelector("th") && t.rows.length > 1) problems.push(`table without th ${t.id}`);
  }
  const ids = {};
  for (const el of document.querySelectorAll("[id]")) {
    if (ids[el.id]) problems.push(`duplicate id ${el.id}`);
    ids[el.id] = true;
  }
  for (const f of document.querySelectorAll("iframe")) {
    if (!f.getAttribute("title")) problems.push("iframe without title");
  }
  return problems;
}
"""


def own(page) -> list[str]:  # noqa: ANN001 - a Playwright page
    return page.evaluate(CHECK)


def check(page) -> list[str]:  # noqa: ANN001 - a Playwright page
    """Both checks; an empty list when the page passes."""
    return own(page) + axe(page)
