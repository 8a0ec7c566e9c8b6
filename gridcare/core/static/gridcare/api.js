// Small helpers for pages that talk to /api/v1 with the session cookie (CSRF token from the cookie).
window.GC = (function () {
  "use strict";
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function call(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(data.detail || ("HTTP " + r.status)); e.status = r.status; throw e; }
        return data;
      });
    });
  }
  // Build DOM from data, never from HTML strings: text goes in through textContent, so whatever a caller typed
  // into an address or a name is shown as typed and never parsed as markup. el("td", {className: "x"}, ["a", node])
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === "dataset") { Object.assign(node.dataset, props[k]); } else { node[k] = props[k]; }
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "object" && c !== null ? c : document.createTextNode(c === null || c === undefined ? "" : String(c)));
    });
    return node;
  }
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  return { get: function (u) { return call("GET", u); }, post: function (u, b) { return call("POST", u, b || {}); }, esc: esc, el: el };
})();
