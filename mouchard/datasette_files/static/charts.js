/* mouchard's charts: draw every chart of the page from the JSON in <script type="application/json"
   id="mouchard-charts"> with vega-embed (served by datasette-dashboards from this site: no CDN).
   The JSON is data read with JSON.parse: nothing in it runs. Tooltips go through vega-tooltip, which escapes
   HTML. A chart that cannot be drawn leaves its data table (in the page already) and a sentence, not an error. */
(function () {
  "use strict";
  var source = document.getElementById("mouchard-charts");
  if (!source) { return; }
  var charts;
  try { charts = JSON.parse(source.textContent); } catch (e) { return; }
  var french = document.documentElement.lang === "fr";
  var options = { actions: false, renderer: "svg" };
  if (french) {
    // Numbers as a French reader writes them: 12 345,5.
    options.formatLocale = { decimal: ",", thousands: "\u202f", grouping: [3], currency: ["", "\u00a0\u20ac"] };
  }
  charts.forEach(function (chart) {
    var target = document.getElementById(chart.id);
    if (!target) { return; }
    if (typeof window.vegaEmbed !== "function") {
      target.setAttribute("data-chart-state", "unavailable");
      return;
    }
    window.vegaEmbed(target, chart.spec, options).then(function () {
      target.setAttribute("data-chart-state", "drawn");
    }, function () {
      target.setAttribute("data-chart-state", "failed");
      target.textContent = french ? "Ce graphique n\u2019a pas pu \u00eatre dessin\u00e9 : ses donn\u00e9es sont dans le tableau ci-dessous."
                                  : "This chart could not be drawn: its data is in the table below.";
    });
  });
}());
