// Draws every chart of an insight page from the options the server embedded (canvas, so "PNG" can save it).
// A data item that carries a "url" opens it when clicked: the feedback or cases behind that number.
(function () {
  "use strict";
  var charts = {};
  // Improvement actions at their intervention dates: a dashed line on the time bucket that holds each date.
  function markAnnotations(chart, el, spec) {
    var url = spec.url + "?first=" + encodeURIComponent(spec.first) + "&last=" + encodeURIComponent(spec.last);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (body) {
        var data = [];
        (body.items || []).forEach(function (item) {
          var bucket = spec.buckets.find(function (b) { return b[1] <= item.day && item.day <= b[2]; });
          if (bucket) {
            data.push({ xAxis: bucket[0], name: item.label, url: item.url,
                        label: { formatter: item.label, position: "insideEndTop", fontSize: 10 } });
          }
        });
        if (data.length) {
          chart.setOption({ series: [{ markLine: { symbol: "none", lineStyle: { type: "dashed", color: "#c0392b" },
                                                   data: data } }] });
        }
        el.setAttribute("data-annotations", String(data.length));
      })
      .catch(function () { el.setAttribute("data-annotations", "0"); });
  }
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
      if (option.voxloopAnnotations) markAnnotations(chart, el, option.voxloopAnnotations);
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
