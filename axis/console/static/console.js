// The only script of the console: the agency directory searched as you type (compose page).
// Everything else works without it; the field accepts codes typed by hand.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-directory]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var timer = null;
    var lastTerm = function () {
      var parts = input.value.split(",");
      return parts[parts.length - 1].trim();
    };
    var pick = function (code) {
      var parts = input.value.split(",").map(function (s) { return s.trim(); });
      parts[parts.length - 1] = code;
      input.value = parts.filter(Boolean).join(", ") + ", ";
      list.replaceChildren();
      input.setAttribute("aria-expanded", "false");
      input.focus();
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var term = lastTerm();
        if (term.length < 2) { list.replaceChildren(); return; }
        fetch("/directory?q=" + encodeURIComponent(term), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            list.replaceChildren();
            items.forEach(function (a) {
              var li = document.createElement("li");
              li.setAttribute("role", "option");
              li.tabIndex = 0;
              li.dataset.code = a.code;
              li.textContent = a.code + " — " + a.name;  // text, never HTML
              li.addEventListener("click", function () { pick(a.code); });
              li.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); pick(a.code); } });
              list.appendChild(li);
            });
            input.setAttribute("aria-expanded", items.length ? "true" : "false");
          });
      }, 150);
    });
  });
});
