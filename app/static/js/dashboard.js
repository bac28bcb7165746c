// The governance dashboard's charts: each <div class="chart" data-chart='{...}'> holds a small spec written by
// app/analytics/dashboard_views.py ({type, labels, series: [{name, values, axis?}], unit?}); the table under it
// shows the same numbers. Tooltips render in the canvas (renderMode richText): HTML tooltips would need inline
// styles, which the Content-Security-Policy forbids. ECharts' own aria description stays off: the container's
// aria-label points to the table, which screen readers read better than a generated sentence.
(function () {
  'use strict';
  if (typeof echarts === 'undefined') { return; }

  var COLORS = ['#2f6fb0', '#e08a2c', '#3a9a5b', '#c8453c', '#7b5ea7', '#3aa6b9', '#b9983a', '#6b7785'];
  var BASE = {
    color: COLORS,
    animation: false,
    textStyle: { fontFamily: 'system-ui, "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif' },
    tooltip: { renderMode: 'richText', confine: true }
  };

  function narrow(el) { return el.clientWidth < 520; }

  function wrapLabel(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  function legend(spec) {
    return spec.series.length > 1 ? { top: 0, type: 'scroll' } : { show: false };
  }

  var BUILDERS = {
    funnel: function (spec) {
      return {
        tooltip: { trigger: 'item', renderMode: 'richText', confine: true },
        series: [{
          type: 'funnel', name: spec.series[0].name, left: '5%', width: '90%', sort: 'none', minSize: '8%',
          label: { position: 'inside', formatter: '{b}：{c}' },
          data: spec.labels.map(function (l, i) { return { name: l, value: spec.series[0].values[i] }; })
        }]
      };
    },
    pie: function (spec) {
      return {
        tooltip: { trigger: 'item', renderMode: 'richText', confine: true },
        legend: { bottom: 0, type: 'scroll' },
        series: [{
          type: 'pie', name: spec.series[0].name, radius: ['35%', '65%'], label: { formatter: '{b}\n{c}（{d}%）' },
          data: spec.labels.map(function (l, i) { return { name: l, value: spec.series[0].values[i] }; })
        }]
      };
    },
    hbar: function (spec, el) {
      var max = narrow(el) ? 8 : 16;
      var labels = spec.labels.slice().reverse();
      return {
        tooltip: { trigger: 'axis', renderMode: 'richText', confine: true },
        grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: 'value', minInterval: 1 },
        yAxis: { type: 'category', data: labels, axisLabel: { formatter: function (v) { return wrapLabel(v, max); } } },
        series: spec.series.map(function (s) {
          return { type: 'bar', name: s.name, data: s.values.slice().reverse(), barMaxWidth: 28,
                   label: { show: true, position: 'right' } };
        })
      };
    },
    bar: function (spec, el) {
      return {
        tooltip: { trigger: 'axis', renderMode: 'richText', confine: true },
        legend: legend(spec),
        grid: { left: 8, right: 8, top: spec.series.length > 1 ? 32 : 12, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: spec.labels, axisLabel: { interval: 0, rotate: narrow(el) ? 30 : 0 } },
        yAxis: { type: 'value' },
        series: spec.series.map(function (s) { return { type: 'bar', name: s.name, data: s.values, barMaxWidth: 36 }; })
      };
    },
    line: function (spec) {
      return {
        tooltip: { trigger: 'axis', renderMode: 'richText', confine: true },
        grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: spec.labels, boundaryGap: false },
        yAxis: { type: 'value', minInterval: 1 },
        series: spec.series.map(function (s) {
          return { type: 'line', name: s.name, data: s.values, areaStyle: { opacity: 0.15 }, symbolSize: 6 };
        })
      };
    },
    // Load per mediator / organisation: open and closed cases as stacked bars, the settlement rate (%) as points.
    load: function (spec, el) {
      var max = narrow(el) ? 6 : 10;
      return {
        tooltip: { trigger: 'axis', renderMode: 'richText', confine: true },
        legend: { top: 0, type: 'scroll' },
        grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: spec.labels,
                 axisLabel: { interval: 0, rotate: 40, formatter: function (v) { return wrapLabel(v, max); } } },
        yAxis: [{ type: 'value', minInterval: 1 }, { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } }],
        series: spec.series.map(function (s) {
          if (s.axis === 'rate') {
            return { type: 'line', name: s.name, yAxisIndex: 1, data: s.values, lineStyle: { width: 0 },
                     symbolSize: 9, connectNulls: false };
          }
          return { type: 'bar', name: s.name, stack: 'load', data: s.values, barMaxWidth: 40 };
        })
      };
    }
  };

  var charts = [];
  document.querySelectorAll('.chart[data-chart]').forEach(function (el) {
    var spec;
    try { spec = JSON.parse(el.getAttribute('data-chart')); } catch (e) { return; }
    var build = BUILDERS[spec.type];
    if (!build || !spec.labels || spec.labels.length === 0) { el.classList.add('chart-empty'); return; }
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(Object.assign({}, BASE, build(spec, el)));
    charts.push(chart);
  });

  var pending = null;
  window.addEventListener('resize', function () {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
  });
})();
