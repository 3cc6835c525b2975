/* OneDesk dashboard charts, drawn with the vendored Chart.js.
 *
 * Each <canvas data-chart="ID"> reads its numbers from <script type="application/json" id="ID">,
 * written by the server: {type: "line" | "bar" | "hbar", labels, datasets: [{label, data}], aspect,
 * stacked, max}. The same numbers are always in a table next to the chart, so nothing depends on this
 * file. Also wires [data-print] buttons to the browser's print dialog (no inline handlers under CSP).
 */
(function () {
  "use strict";

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var spec = JSON.parse(source.textContent);
    var horizontal = spec.type === "hbar";
    var phone = window.matchMedia("(max-width: 575.98px)").matches;
    var valueAxis = { beginAtZero: true, stacked: !!spec.stacked, ticks: { precision: 0 } };
    if (spec.max) {
      valueAxis.suggestedMax = spec.max;
    }
    var labelAxis = { stacked: !!spec.stacked, ticks: { autoSkip: !horizontal } };
    var options = {
      responsive: true,
      animation: false,
      indexAxis: horizontal ? "y" : "x",
      plugins: { legend: { display: spec.datasets.length > 1, position: "bottom" } },
      scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis }
    };
    if (horizontal) {
      // One row per label, whatever the screen width (CSSOM styles are allowed by the CSP).
      var box = canvas.parentNode;
      box.style.position = "relative";
      box.style.height = Math.max(140, spec.labels.length * 30 * spec.datasets.length + 70) + "px";
      options.maintainAspectRatio = false;
    } else {
      options.aspectRatio = phone ? Math.min(spec.aspect || 2, 1.4) : spec.aspect || 2;
    }
    var chart = new window.Chart(canvas, {
      type: horizontal ? "bar" : spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (dataset) {
          return { label: dataset.label, data: dataset.data, cubicInterpolationMode: "monotone" };
        })
      },
      options: options
    });
    canvas.setAttribute("data-drawn", "true");
    return chart;
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
