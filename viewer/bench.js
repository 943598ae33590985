/* cella bench report: per-scene tables and the distributions of planning time, path length and
 * trajectory duration, from the JSON `cella bench` writes (embedded in the page). */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('cella-data').textContent);
  var report = data.report;
  document.body.className = 'bench';
  document.getElementById('title').textContent = data.title;
  var problems = report.problems || [];
  var solved = problems.filter(function (p) { return p.solved; });
  document.getElementById('subtitle').textContent = problems.length + ' problems, ' + solved.length + ' solved \u00b7 ' + data.generator;
  var badge = document.getElementById('badge');
  badge.textContent = 'benchmark';
  var side = document.getElementById('side');
  window.cellaViewer = { ready: false, mode: 'bench' };

  function el(tag, props, children) {
    var e = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === 'text') e.textContent = props[k]; else if (k === 'class') e.className = props[k]; else e.setAttribute(k, props[k]);
    });
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function num(v, digits) { return v == null || !isFinite(v) ? '\u2013' : v.toFixed(digits); }

  side.appendChild(el('h2', { text: 'Per scene' }));
  var table = el('table', { class: 'stats', id: 'scenes' });
  var cols = [['scene', null], ['problems', 0], ['solved', 0], ['invalid', 0], ['failed', 0], ['median ms', 3], ['mean ms', 3],
    ['p95 ms', 3], ['p99 ms', 3], ['max ms', 3], ['mean length (rad)', 3], ['mean duration (s)', 3]];
  table.appendChild(el('tr', {}, cols.map(function (c) { return el('th', { text: c[0] }); })));
  var scenes = report.scenes || {};
  Object.keys(scenes).forEach(function (name) {
    var s = scenes[name];
    var cells = [name, s.problems, s.solved, s.invalid, s.failed, s.median_us / 1000, s.mean_us / 1000, s.p95_us / 1000,
      s.p99_us / 1000, s.max_us / 1000, s.mean_path_length, s.mean_duration_s];
    table.appendChild(el('tr', {}, cells.map(function (v, i) {
      return el('td', { text: i === 0 ? String(v) : num(v, cols[i][1]) });
    })));
  });
  side.appendChild(table);

  var names = Object.keys(scenes).filter(function (n) { return n !== 'all'; });
  function groups(key, scale) {
    return names.map(function (n) {
      return { label: n, values: solved.filter(function (p) { return p.scene === n; }).map(function (p) { return p[key] * scale; }) };
    });
  }
  var figures = [
    ['Planning time', 'planning_time_us', 0.001, 'ms', true],
    ['Path length', 'path_length', 1, 'rad', false],
    ['Trajectory duration', 'duration_s', 1, 's', false]
  ];
  figures.forEach(function (f) {
    side.appendChild(el('h2', { text: f[0] + ' (' + f[3] + (f[4] ? ', log scale' : '') + ')' }));
    var c = el('canvas', { class: 'plot', id: 'dist-' + f[1] });
    side.appendChild(c);
    CellaPlot.boxes(c, { groups: groups(f[1], f[2]), log: f[4], unit: f[3] });
  });
  side.appendChild(el('div', { class: 'note', text: 'Solved problems only. Box: quartiles; line: 5th to 95th percentile; tick: median; dots: each problem.' }));

  var unsolved = problems.filter(function (p) { return !p.solved; });
  if (unsolved.length) {
    side.appendChild(el('h2', { text: 'Not solved (' + unsolved.length + ')' }));
    var ut = el('table', { class: 'stats', id: 'unsolved' });
    ut.appendChild(el('tr', {}, [el('th', { text: 'problem' }), el('th', { text: 'reason' })]));
    unsolved.forEach(function (p) {
      var reason = el('td', { text: p.reason });
      reason.style.textAlign = 'left';
      reason.style.whiteSpace = 'normal';
      ut.appendChild(el('tr', {}, [el('td', { text: p.name }), reason]));
    });
    side.appendChild(ut);
  }
  window.cellaViewer.ready = true;
})();
