// Segment builder: live count and a preview page as the analyst types (debounced calls to the API).
(function () {
  "use strict";
  var form = document.getElementById("segment-form");
  if (!form) { return; }
  var box = document.getElementById("expression");
  var count = document.getElementById("segment-count");
  var error = document.getElementById("segment-error");
  var body = document.querySelector("#segment-preview tbody");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var timer = null;
  var seq = 0;
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function show(data) {
    count.textContent = data.count.toLocaleString() + " 户";
    error.textContent = "";
    body.textContent = "";
    data.customers.forEach(function (c) {
      var tr = document.createElement("tr");
      var a = document.createElement("a");
      a.href = "/customers/" + encodeURIComponent(c.account_no) + "/";
      a.textContent = c.account_no;
      var first = document.createElement("td");
      first.appendChild(a);
      tr.appendChild(first);
      tr.appendChild(cell(c.name));
      tr.appendChild(cell(c.customer_type));
      body.appendChild(tr);
    });
  }
  function evaluate() {
    var text = box.value.trim();
    if (!text) { count.textContent = "—"; error.textContent = ""; body.textContent = ""; return; }
    var mine = ++seq;
    fetch(form.dataset.evaluateUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      credentials: "same-origin",
      body: JSON.stringify({ expression: text, page: 1, page_size: 10 })
    }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        if (mine !== seq) { return; }  // an older answer arriving late must not overwrite a newer one
        if (res.ok) { show(res.data); } else { count.textContent = "—"; error.textContent = res.data.detail || ""; }
      });
  }
  box.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(evaluate, 150); });
  evaluate();
})();
