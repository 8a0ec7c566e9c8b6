// GridCare's little bit of JavaScript: keyboard-first for agents on the phone.
(function () {
  "use strict";
  var search = document.getElementById("global-search");
  // Focus the search box on pages that have no other focused field, so an agent can type at once.
  if (search && !document.querySelector("[autofocus]") && document.activeElement === document.body) {
    search.focus();
  }
  // <select data-autosubmit>: a filter that applies as soon as it is chosen (no inline onchange: the CSP
  // forbids inline handlers).
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.matches && t.matches("[data-autosubmit]") && t.form) { t.form.submit(); }
  });
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target && ev.target.tagName) || "";
    var typing = tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
    if (ev.key === "/" && !typing && search) {
      ev.preventDefault();
      search.focus();
      search.select();
    }
  });
})();

// Sections of a page that other apps fill in (customer 360): fetch each HTML fragment once.
(function () {
  "use strict";
  document.querySelectorAll("[data-fragment]").forEach(function (section) {
    var body = section.querySelector(".fragment-body") || section;
    fetch(section.getAttribute("data-fragment"), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.text();
      })
      .then(function (html) {
        body.innerHTML = html;
        // Fragments may carry their own scripts (charts): innerHTML does not run them, so re-create the ones
        // that load a file from this site. Inline code is never run (the CSP would refuse it anyway).
        body.querySelectorAll("script").forEach(function (old) {
          var src = old.getAttribute("src");
          if (!src || new URL(src, location.href).origin !== location.origin) { old.remove(); return; }
          var s = document.createElement("script");
          s.src = src;
          s.async = false;  // in document order: Plotly before the chart code that uses it
          old.replaceWith(s);
        });
      })
      .catch(function () { body.innerHTML = '<p class="muted">暂时无法加载</p>'; });
  });
})();
