// Partita Web dashboard: draws the last hour from /series with uPlot and keeps the figures and the
// charts current from the server-sent events of /events. No inline script: the CSP forbids it.
(function () {
  'use strict';
  var section = document.querySelector('.figures');
  if (!section || typeof uPlot === 'undefined') return;
  var width = function (el) { return Math.max(320, el.clientWidth - 10); };
  var throughputEl = document.getElementById('chart-throughput');
  var lagEl = document.getElementById('chart-lag');
  var data = { at: [], performed: [], failed: [], lag: [], running: [] };
  var charts = [];

  function plot(el, series, values, axes) {
    return new uPlot({ width: width(el), height: 220, series: [{}].concat(series), axes: [{}].concat(axes), legend: { live: false } }, [data.at].concat(values), el);
  }

  function redraw() {
    charts[0].setData([data.at, data.performed, data.failed]);
    charts[1].setData([data.at, data.lag, data.running]);
  }

  function setFigure(name, value) {
    var el = document.getElementById('figure-' + name);
    if (el) el.textContent = String(value);
  }

  fetch(section.dataset.series, { credentials: 'same-origin' })
    .then(function (response) { return response.json(); })
    .then(function (points) {
      points.forEach(function (p) {
        data.at.push(p.at / 1000);
        data.performed.push(p.performedPerSecond);
        data.failed.push(p.failedPerSecond);
        data.lag.push(p.lag);
        data.running.push(p.running);
      });
      charts.push(plot(throughputEl, [{ label: 'performed / s', stroke: '#3657c9', width: 2 }, { label: 'failed / s', stroke: '#b42318', width: 2 }], [data.performed, data.failed], [{ size: 60 }]));
      // Lag on the left axis, running jobs on their own axis on the right: they differ by orders of magnitude.
      charts.push(plot(lagEl, [{ label: 'lag', stroke: '#9b5de5', width: 2, spanGaps: true, scale: 'lag' }, { label: 'running jobs', stroke: '#137a3a', width: 2, scale: 'running' }], [data.lag, data.running], [{ scale: 'lag', size: 60 }, { scale: 'running', side: 1, size: 40, grid: { show: false } }]));
      document.body.dataset.chartsReady = 'true';
      var events = new EventSource(section.dataset.events);
      events.addEventListener('figures', function (event) {
        var f = JSON.parse(event.data);
        setFigure('performed', f.performedPerSecond.toFixed(1));
        setFigure('failed', f.failedPerSecond.toFixed(1));
        setFigure('lag', f.lag);
        setFigure('running', f.running);
        setFigure('processes', f.liveProcesses);
        setFigure('performed-hour', f.performedLastHour);
        setFigure('failed-hour', f.failedLastHour);
        var at = Math.floor(f.at / 10000) * 10;
        if (data.at[data.at.length - 1] !== at) {
          data.at.push(at); data.performed.push(f.performedPerSecond); data.failed.push(f.failedPerSecond); data.lag.push(f.lag); data.running.push(f.running);
          if (data.at.length > 360) { data.at.shift(); data.performed.shift(); data.failed.shift(); data.lag.shift(); data.running.shift(); }
        } else {
          var i = data.at.length - 1;
          data.performed[i] = f.performedPerSecond; data.failed[i] = f.failedPerSecond; data.lag[i] = f.lag; data.running[i] = f.running;
        }
        redraw();
        document.body.dataset.liveUpdates = String(Number(document.body.dataset.liveUpdates || 0) + 1);
      });
    });

  window.addEventListener('resize', function () {
    charts.forEach(function (chart, i) { chart.setSize({ width: width(i === 0 ? throughputEl : lagEl), height: 220 }); });
  });
})();
