// Draws every chart of an insight page from the options the server embedded (canvas, so "PNG" can save it).
// A data item that carries a "url" opens it when clicked: the feedback or cases behind that number.
(function () {
  "use strict";
  var charts = {};
  function start() {
    var source = document.getElementById("insight-charts");
    if (!source || typeof echarts === "undefined") return;
    var options = JSON.parse(source.textContent);
    document.querySelectorAll("[data-insight-chart]").forEach(function (el) {
      var key = el.getAttribute("data-insight-chart");
      if (!options[key]) return;
      var chart = echarts.init(el, null, { renderer: "canvas" });
      var option = options[key];
      if (option.animation === undefined) option.animation = false;
      chart.setOption(option);
      chart.on("click", function (params) {
        var url = params.data && params.data.url;
        if (url) window.location.href = url;
      });
      charts[key] = chart;
      el.setAttribute("data-rendered", "true");
    });
    document.querySelectorAll("[data-png]").forEach(function (button) {
      button.addEventListener("click", function () {
        var key = button.getAttribute("data-png");
        var chart = charts[key];
        if (!chart) return;
        var link = document.createElement("a");
        link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
        link.download = "voxloop-" + key + ".png";
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
    });
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (key) { charts[key].resize(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
