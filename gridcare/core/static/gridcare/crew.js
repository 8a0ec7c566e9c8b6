// The crew's phone page: my vehicle's queue in order; each button stamps the time and the phone's position.
(function () {
  "use strict";
  var list = document.getElementById("crew-orders");
  var status = document.getElementById("crew-status");
  var tpl = document.getElementById("order-template");

  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve({}); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ lat: p.coords.latitude, lon: p.coords.longitude });
      }, function () { resolve({}); }, { timeout: 3000, maximumAge: 60000 });
    });
  }

  function act(id, action, extra) {
    return position().then(function (pos) {
      return GC.post("/api/v1/repair/crew/assignments/" + id + "/" + action, Object.assign({}, pos, extra || {}));
    }).then(load).catch(function (e) { status.textContent = e.message; });
  }

  function render(items) {
    list.innerHTML = "";
    status.textContent = items.length ? "共 " + items.length + " 个任务（按调度排定的顺序）" : "暂无任务";
    items.forEach(function (a) {
      var node = tpl.content.firstElementChild.cloneNode(true);
      var t = a.ticket;
      node.querySelector(".num").textContent = a.position + ". " + t.number;
      node.querySelector(".addr").textContent = t.address + (t.outage ? "（" + t.outage.call_count + " 户来电）" : "");
      node.querySelector(".state").textContent = t.state_label;
      node.setAttribute("data-state", t.state);
      var show = {
        on_device: ["accept", "decline"], dispatched: ["accept", "decline"], accepted: ["depart"],
        departed: ["arrive"], arrived: ["done"], repaired: ["restore"]
      }[t.state] || [];
      node.querySelectorAll("button[data-do]").forEach(function (b) {
        var what = b.getAttribute("data-do");
        b.hidden = show.indexOf(what) < 0;
        b.addEventListener("click", function () {
          if (what === "decline") {
            var reason = window.prompt("不能出发的原因");
            if (!reason) { return; }
            act(a.id, "decline", { reason: reason });
          } else { act(a.id, what); }
        });
      });
      var form = node.querySelector("form.fault");
      form.hidden = t.state !== "arrived";
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var data = Object.fromEntries(new FormData(form).entries());
        GC.post("/api/v1/repair/crew/assignments/" + a.id + "/fault", data)
          .then(function () { status.textContent = "故障记录已保存"; return act(a.id, "done"); })
          .catch(function (e) { status.textContent = e.message; });
      });
      list.appendChild(node);
    });
  }

  function load() {
    return GC.get("/api/v1/repair/crew/assignments").then(render).catch(function (e) { status.textContent = e.message; });
  }
  load();
  setInterval(load, 20000);
})();
