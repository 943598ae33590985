/* cella plots: time series with limit bands and distributions, drawn on canvas (no library).
 * A series plot draws its data once into an off-screen canvas; moving the cursor only copies
 * it back and draws the cursor line. */
var CellaPlot = (function () {
  'use strict';

  var BAND = 'rgba(209, 36, 47, 0.13)';
  var LIMIT = 'rgb(209, 36, 47)';
  var GRID = '#e3e6ec';
  var TEXT = '#697386';
  var PALETTE = ['#1f6feb', '#e8590c', '#2f9e44', '#ae3ec9', '#0c8599', '#f08c00', '#c2255c', '#5c7cfa'];

  function dpr() { return window.devicePixelRatio || 1; }

  function fmt(v) {
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 1000) return v.toExponential(1).replace('e+', 'e');
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    if (a >= 0.01) return v.toFixed(3);
    return v.toExponential(1);
  }

  /* Sizes the canvas to its CSS width and the given CSS height, in device pixels. */
  function size(canvas, height) {
    var w = Math.max(40, canvas.clientWidth || canvas.parentNode.clientWidth || 200);
    var r = dpr();
    canvas.style.height = height + 'px';
    canvas.width = Math.round(w * r);
    canvas.height = Math.round(height * r);
    return { w: w, h: height, r: r };
  }

  /* A time series plot.
   * opts: x (times), ys (arrays of values, one per series), colors, height, band {lo, hi}
   * (limits, either may be null: the region beyond is shaded and the limit drawn), zero (draw
   * y = 0), yRange [a, b] (forced), unit (label), markers [{x, y, color}], labels (bool: y axis
   * labels), xRange [a, b]. Returns the plot: draw(cursor), xOf(px), limitRows(). */
  function series(canvas, opts) {
    var dims = size(canvas, opts.height || 60);
    var left = opts.labels === false ? 2 : 38, right = 4, top = 4, bottom = opts.xAxis ? 16 : 4;
    var x = opts.x, ys = opts.ys;
    var x0 = opts.xRange ? opts.xRange[0] : x[0], x1 = opts.xRange ? opts.xRange[1] : x[x.length - 1];
    if (!(x1 > x0)) x1 = x0 + 1;
    var lo = Infinity, hi = -Infinity;
    ys.forEach(function (s) {
      for (var i = 0; i < s.length; i++) {
        var v = s[i];
        if (v === null || !isFinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    });
    var band = opts.band || {};
    if (band.lo != null) lo = Math.min(lo, band.lo);
    if (band.hi != null) hi = Math.max(hi, band.hi);
    if (opts.zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (opts.yRange) { lo = opts.yRange[0]; hi = opts.yRange[1]; }
    if (!isFinite(lo) || !isFinite(hi)) { lo = -1; hi = 1; }
    if (hi - lo < 1e-12) { lo -= 1; hi += 1; }
    var pad = (hi - lo) * 0.08;
    lo -= pad; hi += pad;
    var W = dims.w, H = dims.h, r = dims.r;
    function px(t) { return left + (t - x0) / (x1 - x0) * (W - left - right); }
    function py(v) { return top + (hi - v) / (hi - lo) * (H - top - bottom); }
    // device row of a horizontal 1-px line at value v (drawn on that row exactly)
    function row(v) { return Math.round(py(v) * r - 0.5); }

    var off = document.createElement('canvas');
    off.width = canvas.width; off.height = canvas.height;
    var g = off.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, off.width, off.height);
    g.save();
    g.scale(r, r);
    // shaded beyond the limits
    g.fillStyle = BAND;
    if (band.hi != null) g.fillRect(left, top, W - left - right, Math.max(0, py(band.hi) - top));
    if (band.lo != null) g.fillRect(left, py(band.lo), W - left - right, Math.max(0, H - bottom - py(band.lo)));
    // grid: zero line
    g.strokeStyle = GRID; g.lineWidth = 1;
    if (lo < 0 && hi > 0) { g.beginPath(); g.moveTo(left, py(0)); g.lineTo(W - right, py(0)); g.stroke(); }
    g.restore();
    // limit lines on exact device rows (what limitRows() reports)
    g.fillStyle = LIMIT;
    var limits = [];
    [band.lo, band.hi].forEach(function (v) {
      if (v == null) return;
      var rr = row(v);
      g.fillRect(Math.round(left * r), rr, Math.round((W - left - right) * r), Math.max(1, Math.round(r)));
      limits.push({ value: v, row: rr });
    });
    g.save();
    g.scale(r, r);
    // the series
    ys.forEach(function (s, k) {
      g.strokeStyle = (opts.colors && opts.colors[k]) || PALETTE[k % PALETTE.length];
      g.lineWidth = opts.lineWidth || 1.25;
      g.beginPath();
      var pen = false;
      for (var i = 0; i < s.length; i++) {
        var v = s[i];
        if (v === null || !isFinite(v)) { pen = false; continue; }
        var X = px(x[i]), Y = py(v);
        if (pen) g.lineTo(X, Y); else { g.moveTo(X, Y); pen = true; }
      }
      g.stroke();
    });
    (opts.markers || []).forEach(function (m) {
      g.fillStyle = m.color || LIMIT;
      g.beginPath(); g.arc(px(m.x), py(m.y), 3.5, 0, 2 * Math.PI); g.fill();
    });
    // axes text
    g.fillStyle = TEXT;
    g.font = '9px system-ui, sans-serif';
    if (opts.labels !== false) {
      g.textAlign = 'right'; g.textBaseline = 'top';
      g.fillText(fmt(hi - pad), left - 3, top);
      g.textBaseline = 'bottom';
      g.fillText(fmt(lo + pad), left - 3, H - bottom);
      if (opts.unit) { g.textBaseline = 'middle'; g.fillText(opts.unit, left - 3, (top + H - bottom) / 2); }
    }
    if (opts.xAxis) {
      g.textBaseline = 'top'; g.textAlign = 'left';
      g.fillText(fmt(x0) + ' s', left, H - bottom + 3);
      g.textAlign = 'right';
      g.fillText(fmt(x1) + ' s', W - right, H - bottom + 3);
    }
    g.restore();

    var ctx = canvas.getContext('2d');
    var plot = {
      canvas: canvas,
      draw: function (cursor) {
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.drawImage(off, 0, 0);
        if (cursor != null && isFinite(cursor)) {
          ctx.fillStyle = 'rgba(29,35,48,0.55)';
          ctx.fillRect(Math.round(px(cursor) * r), 0, Math.max(1, Math.round(r)), canvas.height);
        }
      },
      xOf: function (clientX) {
        var rect = canvas.getBoundingClientRect();
        var t = x0 + (clientX - rect.left - left) / (W - left - right) * (x1 - x0);
        return Math.min(x1, Math.max(x0, t));
      },
      limitRows: function () { return limits.slice(); },
      yRange: [lo + pad, hi - pad]
    };
    plot.draw(null);
    return plot;
  }

  /* Distributions: one row per group, a box (quartiles), whiskers (5th-95th percentile), the
   * median and every value as a dot. opts: groups [{label, values}], log, unit, height. */
  function boxes(canvas, opts) {
    var groups = opts.groups;
    var rowH = 26;
    var dims = size(canvas, Math.max(60, groups.length * rowH + 30));
    var W = dims.w, H = dims.h, r = dims.r;
    var left = 130, right = 16, top = 8, bottom = 22;
    var all = [];
    groups.forEach(function (g) { g.values.forEach(function (v) { if (isFinite(v) && (!opts.log || v > 0)) all.push(v); }); });
    var ctx = canvas.getContext('2d');
    ctx.setTransform(r, 0, 0, r, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    if (!all.length) { ctx.fillStyle = TEXT; ctx.fillText('no values', left, top + 12); return; }
    var lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    var f = opts.log ? Math.log10 : function (v) { return v; };
    var a = f(lo), b = f(hi);
    if (!(b > a)) { a -= 0.5; b += 0.5; }
    var padd = (b - a) * 0.04; a -= padd; b += padd;
    function px(v) { return left + (f(v) - a) / (b - a) * (W - left - right); }
    function pct(s, p) { return s[Math.min(s.length - 1, Math.max(0, Math.round((s.length - 1) * p)))]; }
    // ticks
    ctx.strokeStyle = GRID; ctx.fillStyle = TEXT; ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    var ticks = [];
    if (opts.log) {
      var steps = b - a > 3 ? [1] : [1, 2, 5];
      for (var e = Math.floor(a); e <= Math.ceil(b); e++) steps.forEach(function (m) { ticks.push(m * Math.pow(10, e)); });
    } else {
      for (var k = 0; k <= 5; k++) ticks.push(lo + (hi - lo) * k / 5);
    }
    ticks.forEach(function (t) {
      var X = px(t);
      if (X < left - 1 || X > W - right + 1) return;
      ctx.beginPath(); ctx.moveTo(X, top); ctx.lineTo(X, H - bottom); ctx.stroke();
      ctx.fillText(fmt(t) + (opts.unit ? ' ' + opts.unit : ''), X, H - bottom + 4);
    });
    groups.forEach(function (g, i) {
      var yc = top + i * rowH + rowH / 2;
      ctx.fillStyle = TEXT; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      ctx.fillText(g.label + ' (' + g.values.length + ')', left - 8, yc);
      var s = g.values.filter(function (v) { return isFinite(v) && (!opts.log || v > 0); }).sort(function (p, q) { return p - q; });
      if (!s.length) return;
      var color = PALETTE[i % PALETTE.length];
      ctx.strokeStyle = color; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(px(pct(s, 0.05)), yc); ctx.lineTo(px(pct(s, 0.95)), yc); ctx.stroke();
      ctx.fillStyle = 'rgba(31,111,235,0.12)';
      var q1 = px(pct(s, 0.25)), q3 = px(pct(s, 0.75));
      ctx.fillRect(q1, yc - 7, Math.max(1, q3 - q1), 14);
      ctx.strokeRect(q1, yc - 7, Math.max(1, q3 - q1), 14);
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(px(pct(s, 0.5)), yc - 8); ctx.lineTo(px(pct(s, 0.5)), yc + 8); ctx.stroke();
      ctx.fillStyle = color;
      s.forEach(function (v, j) {
        var jitter = ((j * 7919) % 13 - 6) * 0.8;
        ctx.globalAlpha = 0.55;
        ctx.beginPath(); ctx.arc(px(v), yc + jitter, 2.2, 0, 2 * Math.PI); ctx.fill();
      });
      ctx.globalAlpha = 1;
    });
  }

  return { series: series, boxes: boxes, palette: PALETTE, fmt: fmt, LIMIT: LIMIT };
})();
