// The agent's intake screen: find the customer, keep their panel beside the form, submit from the keyboard.
(function () {
  "use strict";
  var q = document.getElementById("customer-q");
  var results = document.getElementById("customer-results");
  var panel = document.getElementById("customer-panel");
  var form = document.getElementById("intake-form");
  var account = document.getElementById("id_account_no");
  var category = document.getElementById("id_category");
  var priority = document.getElementById("id_priority");
  if (!q || !form) { return; }

  // What to promise the caller: the deadlines an order of this category accepted now would get, from the
  // same computation as intake (GET /api/v1/workorders/deadline-preview), under the category field.
  var hint = document.createElement("p");
  hint.id = "deadline-hint";
  hint.className = "hint";
  hint.setAttribute("aria-live", "polite");
  category.parentNode.insertBefore(hint, category.nextSibling);

  function clock(iso) { return iso.slice(0, 16).replace("T", " "); }  // answered in Beijing time

  function showDeadlines() {
    hint.textContent = "";
    if (!category.value) { return; }
    var query = "category=" + encodeURIComponent(category.value) +
      "&accepted_at=" + encodeURIComponent(new Date().toISOString());
    if (account.value) { query += "&account_no=" + encodeURIComponent(account.value); }
    if (priority && priority.value) { query += "&priority=" + encodeURIComponent(priority.value); }
    fetch("/api/v1/workorders/deadline-preview?" + query, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.deadlines.length) { return; }
        hint.textContent = "承诺时限：" + body.deadlines.map(function (d) {
          return d.milestone_label + " " + clock(d.due_at);
        }).join(" · ");
        if (body.calendar_warning) {
          var warn = document.createElement("span");
          warn.className = "badge sensitive";
          warn.textContent = "注意：" + body.calendar_warning;
          hint.appendChild(document.createTextNode(" "));
          hint.appendChild(warn);
        }
      });
  }
  category.addEventListener("change", showDeadlines);
  if (priority) { priority.addEventListener("change", showDeadlines); }

  function loadPanel(accountNo) {
    var url = panel.getAttribute("data-panel-url").replace("ACCOUNT", encodeURIComponent(accountNo));
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.text();
    }).then(function (html) {
      panel.innerHTML = html;
      account.value = accountNo;
      results.innerHTML = "";
      showDeadlines();  // the customer's area and supply class can change them
      // Storm mode: a caller of a known outage is taken in one line; the full form stays below.
      var quick = panel.querySelector("[data-quick-call]");
      (quick || category).focus();
    }).catch(function () {
      panel.innerHTML = '<p class="error">未能打开该客户</p>';
    });
  }

  function show(list) {
    results.innerHTML = "";
    list.forEach(function (c) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "link-dark";
      b.textContent = c.account_no + " " + c.name + " · " + c.address;
      b.addEventListener("click", function () { loadPanel(c.account_no); });
      li.appendChild(b);
      results.appendChild(li);
    });
    if (!list.length) { results.innerHTML = '<li class="muted">没有找到客户</li>'; }
  }

  q.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") { return; }
    ev.preventDefault();
    var term = q.value.trim();
    if (!term) { return; }
    fetch("/api/v1/customers?q=" + encodeURIComponent(term), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        // One match opens at once: the agent is on the phone.
        if (body.results.length === 1) { loadPanel(body.results[0].account_no); } else { show(body.results); }
      });
  });

  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target && ev.target.tagName) || "";
    var typing = tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") {
      ev.preventDefault();
      form.requestSubmit();
    } else if (!typing && (ev.key === "n" || ev.key === "N")) {
      ev.preventDefault();
      category.focus();
    }
  });

  if (account && account.value) { loadPanel(account.value); } else { showDeadlines(); }
})();
