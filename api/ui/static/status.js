// The status page follows the event stream: any change of state re-fetches the panels.
(function () {
  "use strict";
  var panels = document.getElementById("status-panels");
  var state = document.getElementById("live-state");
  var TYPES = [
    "node.status_changed", "device.status_changed", "link.status_changed", "node.drift",
    "incident.opened", "incident.updated", "incident.resolved", "node.flapping",
    "node.created", "node.updated", "node.deleted", "device.created", "device.updated",
    "device.deleted"
  ];
  var pending = null;

  function refresh() {
    pending = null;
    fetch("/ui/status/fragment", { credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.text();
      })
      .then(function (html) {
        panels.innerHTML = html;
        state.textContent = "Live: updated " + new Date().toLocaleTimeString() + ".";
      })
      .catch(function () { state.textContent = "Live updates paused; reload the page."; });
  }

  function changed() {
    // Events come in bursts (a hub takes its neighbours down): one refresh per burst.
    if (pending === null) { pending = setTimeout(refresh, 300); }
  }

  if (!window.EventSource) { state.textContent = "This browser cannot follow events; reload to update."; return; }
  var source = new EventSource("/api/v1/events/stream/");
  TYPES.forEach(function (type) { source.addEventListener(type, changed); });
  source.onopen = function () { state.textContent = "Live: updates as events arrive."; };
  source.onerror = function () { state.textContent = "Live updates reconnecting…"; };
})();
