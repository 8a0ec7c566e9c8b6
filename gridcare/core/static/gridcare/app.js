// GridCare's little bit of JavaScript: keyboard-first for agents on the phone.
(function () {
  "use strict";
  var search = document.getElementById("global-search");
  // Focus the search box on pages that have no other focused field, so an agent can type at once.
  if (search && !document.querySelector("[autofocus]") && document.activeElement === document.body) {
    search.focus();
  }
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
        // Fragments may carry their own scripts (charts); run them in order.
        body.querySelectorAll("script").forEach(function (old) {
          var type = (old.getAttribute("type") || "").toLowerCase();
          if (type && type !== "text/javascript" && type !== "module") { return; }  // data, not code
          var s = document.createElement("script");
          Array.prototype.forEach.call(old.attributes, function (a) { s.setAttribute(a.name, a.value); });
          if (!old.src) { s.textContent = old.textContent; }
          old.replaceWith(s);
        });
      })
      .catch(function () { body.innerHTML = '<p class="muted">暂时无法加载</p>'; });
  });
})();
