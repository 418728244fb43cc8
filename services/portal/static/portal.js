// Draws every chart from the JSON next to its canvas; the table beside it holds the same numbers.
(function () {
  const palette = ["#0b5cad", "#b35900", "#116329", "#8250df", "#a40e26", "#1b7c83", "#6e7781", "#bf8700"];
  function draw() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[id]").forEach(function (canvas) {
      const source = document.getElementById(canvas.id + "-data");
      if (!source || canvas.dataset.drawn) return;
      const data = JSON.parse(source.textContent);
      data.datasets.forEach(function (d, i) {
        d.data = d.data.map(Number);
        d.backgroundColor = palette[i % palette.length];
      });
      canvas.dataset.drawn = "1";
      new Chart(canvas, {
        type: "bar", data: data,
        options: { animation: false, maintainAspectRatio: false, responsive: true,
                   scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
                   plugins: { legend: { position: "bottom" } } }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
