/* My Account charts: draw every [data-plotly] element from its JSON data block.
   The figure is built on the server (plotly.graph_objects); CSP forbids inline script, so
   the JSON sits in <script type="application/json" id="..."> and this file draws it. */
(function () {
  "use strict";

  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  var LANG = (document.documentElement.lang || "en").slice(0, 2);
  var FAILED = {
    en: "The chart could not be drawn; the data table below has the same numbers.",
    es: "No se pudo dibujar la gráfica; la tabla de datos de abajo tiene las mismas cifras."
  };

  // Axis month names and hover dates in the page's language. Numbers keep the decimal point
  // that US Spanish speakers read on their bills (see opsadmin/formats/es).
  var SPANISH = {
    moduleType: "locale",
    name: "es",
    dictionary: {},
    format: {
      days: ["domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"],
      shortDays: ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"],
      months: ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
               "septiembre", "octubre", "noviembre", "diciembre"],
      shortMonths: ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct",
                    "nov", "dic"],
      date: "%d/%m/%Y",
      decimal: ".",
      thousands: ","
    }
  };

  function draw(root) {
    if (!window.Plotly) return;
    if (LANG === "es" && !CONFIG.locale) {
      window.Plotly.register(SPANISH);
      CONFIG.locale = "es";
    }
    root.querySelectorAll("[data-plotly]").forEach(function (el) {
      var source = document.getElementById(el.dataset.plotly);
      if (!source) return;
      var figure;
      try {
        figure = JSON.parse(source.textContent);
      } catch (err) {
        el.textContent = FAILED[LANG] || FAILED.en;
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
