// The mesh on a map: nodes coloured by observed state and sized by type, links as lines.
// With no tile URL (an air-gapped mesh) the nodes and links are drawn on a plain background.
(function () {
  "use strict";
  var box = document.getElementById("map");
  var summary = document.getElementById("map-summary");
  var COLOURS = { up: "#1a7f37", visible: "#d4a72c", duped: "#d4a72c", down: "#cf222e" };
  var BIG = { Hub: 7, Supernode: 9, POP: 10, AP: 6 };
  var list = document.getElementById("map-nodes");
  var filter = document.getElementById("map-filter");
  var shown = document.getElementById("map-count");
  var map = L.map(box, { preferCanvas: true });
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, {
      maxZoom: 19,
      attribution: "&copy; OpenStreetMap contributors"
    }).addTo(map);
  }
  fetch("/ui/map.json", { credentials: "same-origin" })
    .then(function (answer) { return answer.json(); })
    .then(function (data) {
      var points = [];
      var counts = { up: 0, down: 0, other: 0 };
      data.features.forEach(function (f) {
        if (f.geometry.type === "LineString") {
          var c = f.geometry.coordinates;
          L.polyline([[c[0][1], c[0][0]], [c[1][1], c[1][0]]], { color: "#57606a", weight: 1.5, opacity: 0.7 }).addTo(map);
        }
      });
      data.features.forEach(function (f) {
        if (f.geometry.type !== "Point") { return; }
        var p = f.properties;
        var state = p.observed_status || "pending";
        counts[state === "up" || state === "down" ? state : "other"] += 1;
        var lat = f.geometry.coordinates[1], lon = f.geometry.coordinates[0];
        points.push([lat, lon]);
        var marker = L.circleMarker([lat, lon], {
          radius: BIG[p.type] || 4, weight: 1, color: "#24292f",
          fillColor: COLOURS[state] || "#6e7781", fillOpacity: 0.9
        }).addTo(map);
        var label = (p.nn ? "NN " + p.nn : p.id) + (p.name ? ": " + p.name : "") + " (" + state + ")";
        marker.bindTooltip(label);
        if (p.nn) { marker.on("click", function () { window.location = "/ui/nodes/" + p.nn + "/"; }); }
        // The same node in the list: the way to it with a keyboard or a screen reader.
        if (p.nn) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = "/ui/nodes/" + p.nn + "/";
          link.textContent = label;
          item.appendChild(link);
          list.appendChild(item);
        }
      });
      var narrow = function () {
        var words = filter.value.trim().toLowerCase();
        var count = 0;
        Array.prototype.forEach.call(list.children, function (item) {
          var match = !words || item.textContent.toLowerCase().indexOf(words) !== -1;
          item.hidden = !match;
          count += match ? 1 : 0;
        });
        shown.textContent = count + " of " + list.children.length + " nodes listed.";
      };
      filter.addEventListener("input", narrow);
      narrow();
      if (points.length) { map.fitBounds(points, { padding: [20, 20] }); } else { map.setView([40.7, -73.95], 11); }
      summary.textContent = points.length + " nodes: " + counts.up + " up, " + counts.down + " down, " + counts.other + " not up or not polled.";
    })
    .catch(function () { summary.textContent = "The map's data could not be loaded."; });
})();
