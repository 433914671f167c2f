/* My Account charts: draw every [data-plotly] element from its JSON data block.
   The figure is built on the server (plotly.graph_objects); CSP forbids inline script, so
   the JSON sits in <script type="application/json" id="..."> and this file draws it. */
(function () {
  "use strict";

  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-plotly]").forEach(function (el) {
      var source = document.getElementById(el.dataset.plotly);
      if (!source) return;
      var figure;
      try {
        figure = JSON.parse(source.textContent);
      } catch (err) {
        el.textContent = "The chart could not be drawn; the data table below has the same numbers.";
        return;
      }
      window.Plotly.newPlot(el, figure.data || [], figure.layout || {}, CONFIG).then(function () {
        el.dataset.drawn = "true";
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
