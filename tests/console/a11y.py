"""A small accessibility check run in the page (our own, not axe-core: vendoring axe's 500 KB
was not worth it for pages this plain). It checks what WCAG's automated rules catch most
often on server-rendered forms: the page's language, one h1, a title, every form control
named (a <label for>, a wrapping label or aria-label), images with alt text, buttons and
links with text, tables with header cells, no duplicate ids."""

from __future__ import annotations

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


def check(page) -> list[str]:  # noqa: ANN001 - a Playwright page
    return page.evaluate(CHECK)
