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
