// The storm board: its numbers are fetched again every 15 seconds as server-rendered HTML (escaped by Django's
// templates), and the shift lead's switch posts to the API with the session and CSRF header.
(function () {
  "use strict";
  var board = document.getElementById("storm-board");
  var form = document.getElementById("storm-switch");
  if (!board) { return; }

  function refresh() {
    return fetch(board.getAttribute("data-url"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) { board.innerHTML = html; })
      .catch(function () { /* a missed refresh is retried on the next tick */ });
  }
  setInterval(refresh, 15000);

  if (!form) { return; }
  var msg = document.getElementById("storm-msg");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var on = ev.submitter ? ev.submitter.value === "true" : true;
    var reason = form.elements.reason.value;
    GC.post("/api/v1/repair/storm", { on: on, reason: reason }).then(function (s) {
      msg.textContent = s.on ? "暴雨模式已开启" : "暴雨模式已关闭";
      form.elements.reason.value = "";
      return refresh();
    }).catch(function (e) { msg.textContent = e.message; });
  });
})();
