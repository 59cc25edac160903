// Draws one small ECharts line per KPI from the JSON the server embedded; the tables under each chart hold
// the same numbers, so the page is complete without JavaScript.
(function () {
  "use strict";
  function start() {
    var source = document.getElementById("metrics-chart-data");
    if (!source || typeof echarts === "undefined") return;
    var data = JSON.parse(source.textContent);
    var percentUnits = { rate: true };
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var series = data.series[el.getAttribute("data-chart")];
      if (!series) return;
      var scale = percentUnits[series.unit] ? 100 : series.unit === "duration" ? 1 / 3600 : 1;
      var values = series.values.map(function (v) { return v === null ? null : Math.round(v * scale * 100) / 100; });
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        animation: false,
        grid: { left: 40, right: 8, top: 8, bottom: 24 },
        tooltip: {
          trigger: "axis",
          formatter: function (items) {
            var i = items[0].dataIndex;
            var v = values[i] === null ? "–" : values[i] + (series.unit === "rate" ? "%" : series.unit === "duration" ? " h" : "");
            return data.days[i] + "<br>" + v + " (n = " + series.n[i] + ")";
          }
        },
        xAxis: { type: "category", data: data.days, axisLabel: { fontSize: 10 } },
        yAxis: { type: "value", axisLabel: { fontSize: 10 }, scale: true },
        series: [{ type: "line", data: values, connectNulls: false, showSymbol: true, symbolSize: 4 }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
