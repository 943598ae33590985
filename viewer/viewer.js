/* cella viewer page: draws what cella computed (robots, obstacles, a trajectory, its clearance
 * and joint plots, a refused plan, or the cell live) with three.js. The robots are posed from
 * their link tree (joint origins and axes), so the TCP read back from the scene graph
 * (window.cellaViewer.tcpAt) checks the page against cella's forward kinematics. The page
 * makes no request, except a live page's state feed from the server that served it. */
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('cella-data').textContent);
  var hook = window.cellaViewer = { ready: false, mode: data.mode, format: data.format };

  // ---------------------------------------------------------------- small helpers
  function $(id) { return document.getElementById(id); }
  function el(tag, props, children) {
    var e = document.createElement(tag);
    if (props) Object.keys(props).forEach(function (k) {
      if (k === 'text') e.textContent = props[k];
      else if (k === 'class') e.className = props[k];
      else if (k === 'style') e.setAttribute('style', props[k]);
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), props[k]);
      else e.setAttribute(k, props[k]);
    });
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function bytes(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function floats(b64) {
    var b = bytes(b64);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  }
  function mm(d) { return (d * 1000).toFixed(1) + ' mm'; }
  function sec(t) { return t.toFixed(3) + ' s'; }
  function pairText(p) { return p[0] + ' \u2194 ' + p[1]; }

  $('title').textContent = data.title;
  $('subtitle').textContent = data.subtitle || '';
  var badge = $('badge');
  badge.textContent = { motion: 'trajectory', refused: 'refused plan', scene: 'cell', live: 'live' }[data.mode] || data.mode;
  badge.className = data.mode;

  // ---------------------------------------------------------------- meshes
  /* The mesh encoding of crates/view/src/meshcode.rs. */
  var meshCache = {};
  function meshGeometry(index) {
    if (meshCache[index]) return meshCache[index];
    var b = bytes(data.scene.meshes[index]);
    var dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    var n = dv.getUint32(0, true), m = dv.getUint32(4, true);
    var lo = [dv.getFloat32(8, true), dv.getFloat32(12, true), dv.getFloat32(16, true)];
    var st = [dv.getFloat32(20, true), dv.getFloat32(24, true), dv.getFloat32(28, true)];
    var pos = new Float32Array(3 * n), o = 32;
    for (var i = 0; i < 3 * n; i++, o += 2) pos[i] = lo[i % 3] + st[i % 3] * dv.getUint16(o, true);
    var wide = n > 65536, idx = wide ? new Uint32Array(3 * m) : new Uint16Array(3 * m);
    for (var k = 0; k < 3 * m; k++) {
      if (wide) { idx[k] = dv.getUint32(o, true); o += 4; } else { idx[k] = dv.getUint16(o, true); o += 2; }
    }
    var g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(pos, 3));
    g.setIndex(new THREE.BufferAttribute(idx, 1));
    g.computeBoundingBox();
    g.computeBoundingSphere();
    meshCache[index] = g;
    return g;
  }

  function shapeGeometry(shape) {
    var g;
    switch (shape.type) {
      case 'box':
        return new THREE.BoxGeometry(2 * shape.half_extents[0], 2 * shape.half_extents[1], 2 * shape.half_extents[2]);
      case 'sphere':
        return new THREE.SphereGeometry(shape.radius, 32, 16);
      case 'cylinder':
        g = new THREE.CylinderGeometry(shape.radius, shape.radius, shape.length, 40);
        g.rotateX(Math.PI / 2); // three's cylinders stand on y; ours on z
        return g;
      case 'capsule':
        g = new THREE.CapsuleGeometry(shape.radius, shape.length, 8, 24);
        g.rotateX(Math.PI / 2);
        return g;
    }
    return new THREE.SphereGeometry(0.01, 4, 4);
  }

  function setPose(obj, pose) {
    obj.position.set(pose.p[0], pose.p[1], pose.p[2]);
    obj.quaternion.set(pose.q[0], pose.q[1], pose.q[2], pose.q[3]);
  }

  // ---------------------------------------------------------------- three.js scene
  var view = $('view');
  var renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(window.devicePixelRatio || 1);
  renderer.setClearColor(0xeef0f3, 1);
  view.appendChild(renderer.domElement);
  var scene = new THREE.Scene();
  var camera = new THREE.PerspectiveCamera(40, 1, 0.01, 200);
  camera.up.set(0, 0, 1);
  var controls = new THREE.OrbitControls(camera, renderer.domElement);
  controls.enableDamping = false;
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8d8f94, 1.6));
  var sun = new THREE.DirectionalLight(0xffffff, 1.6);
  sun.position.set(2, -3, 5);
  scene.add(sun);
  var fill = new THREE.DirectionalLight(0xffffff, 0.6);
  fill.position.set(-3, 2, 1);
  scene.add(fill);

  var dirty = true;
  function requestRender() { dirty = true; }
  controls.addEventListener('change', requestRender);

  // ---------------------------------------------------------------- robots
  var HULL = '#2f9e44', CAPSULE = '#e8590c', HOT = '#d1242f', NEAR = '#f08c00';

  var GHOST = '#6f9fe6';
  function standard(color, ghost) {
    return new THREE.MeshStandardMaterial({
      color: ghost ? GHOST : color, flatShading: true, metalness: 0.05, roughness: 0.65,
      transparent: !!ghost, opacity: ghost ? 0.28 : 1, depthWrite: !ghost
    });
  }

  /* A robot: its link tree as Object3Ds (joint frame, then the joint's motion, then the child
   * link), visual meshes (or its hulls when it has none), hulls and capsules. */
  function buildRobot(rd, ghost) {
    var group = new THREE.Group();
    setPose(group, rd.base);
    var links = rd.links.map(function (name) { var o = new THREE.Object3D(); o.name = name; return o; });
    group.add(links[rd.root]);
    var motions = rd.joints.map(function (j) {
      var frame = new THREE.Object3D();
      setPose(frame, j.origin);
      var motion = new THREE.Object3D();
      frame.add(motion);
      motion.add(links[j.child]);
      links[j.parent].add(frame);
      return motion;
    });
    var tcp = new THREE.Object3D();
    setPose(tcp, rd.tcp.offset);
    links[rd.tcp.link].add(tcp);
    var robot = {
      data: rd, group: group, links: links, motions: motions, tcp: tcp, q: rd.q.slice(),
      visual: new THREE.Group(), hulls: new THREE.Group(), capsules: new THREE.Group(),
      byLink: {}, materials: []
    };
    function attach(link, mesh, kind) {
      links[link].add(mesh);
      (robot.byLink[link] = robot.byLink[link] || []).push(mesh);
      mesh.userData.kind = kind;
      if (kind === 'visual') robot.materials.push(mesh.material);
    }
    var parts = rd.visuals.length ? rd.visuals : rd.hulls.map(function (h) { return { link: h.link, mesh: h.mesh, color: '#a5adba' }; });
    parts.forEach(function (p) {
      var m = new THREE.Mesh(meshGeometry(p.mesh), standard(p.color, ghost));
      m.userData.baseColor = ghost ? GHOST : p.color;
      attach(p.link, m, 'visual');
    });
    if (!ghost) {
      rd.hulls.forEach(function (h) {
        var m = new THREE.Mesh(meshGeometry(h.mesh), new THREE.MeshStandardMaterial({
          color: HULL, transparent: true, opacity: 0.38, depthWrite: false, flatShading: true }));
        m.visible = false;
        attach(h.link, m, 'hull');
      });
      rd.capsules.forEach(function (c) {
        var a = new THREE.Vector3().fromArray(c.a), b = new THREE.Vector3().fromArray(c.b);
        var len = a.distanceTo(b);
        var g = len > 1e-9 ? new THREE.CapsuleGeometry(c.r, len, 6, 16) : new THREE.SphereGeometry(c.r, 16, 12);
        var m = new THREE.Mesh(g, new THREE.MeshStandardMaterial({
          color: CAPSULE, transparent: true, opacity: 0.3, depthWrite: false }));
        m.position.copy(a).add(b).multiplyScalar(0.5);
        if (len > 1e-9) m.quaternion.setFromUnitVectors(new THREE.Vector3(0, 1, 0), b.clone().sub(a).normalize());
        m.visible = false;
        attach(c.link, m, 'capsule');
      });
    }
    robot.setQ = function (q) {
      robot.q = Array.prototype.slice.call(q);
      rd.joints.forEach(function (j, i) {
        var v = j.var != null ? j.mult * q[j.var] + j.offset : j.value;
        var mo = motions[i];
        if (j.kind === 'revolute') mo.quaternion.setFromAxisAngle(new THREE.Vector3().fromArray(j.axis), v);
        else if (j.kind === 'prismatic') mo.position.set(j.axis[0] * v, j.axis[1] * v, j.axis[2] * v);
      });
      group.updateMatrixWorld(true);
    };
    robot.setQ(rd.q);
    scene.add(group);
    return robot;
  }

  var robots = data.scene.robots.map(function (rd) { return buildRobot(rd, false); });
  hook.robots = data.scene.robots.map(function (r) { return r.id; });

  function eachMesh(robot, kind, f) {
    Object.keys(robot.byLink).forEach(function (l) {
      robot.byLink[l].forEach(function (m) { if (m.userData.kind === kind) f(m, +l); });
    });
  }

  // ---------------------------------------------------------------- world objects
  var objectGroup = new THREE.Group();
  scene.add(objectGroup);
  var objects = {};
  function buildWorld(world) {
    Object.keys(objects).forEach(function (k) { objects[k].parent.remove(objects[k]); });
    objects = {};
    world.objects.forEach(function (o) {
      var m = new THREE.Mesh(shapeGeometry(o.shape), new THREE.MeshStandardMaterial({
        color: o.link ? '#ae3ec9' : '#8a94a6', transparent: true, opacity: o.link ? 0.8 : 0.55,
        roughness: 0.8, depthWrite: !!o.link }));
      m.userData.baseColor = o.link ? '#ae3ec9' : '#8a94a6';
      setPose(m, o.pose);
      m.name = o.name;
      if (o.link) {
        var owner = robots.filter(function (r) { return !o.robot || r.data.id === o.robot; })[0];
        var li = owner ? owner.data.links.indexOf(o.link) : -1;
        if (li < 0) return;
        owner.links[li].add(m);
      } else {
        objectGroup.add(m);
      }
      objects[o.name] = m;
    });
    requestRender();
  }
  buildWorld(data.scene.world);

  // ---------------------------------------------------------------- highlighting
  /* The meshes a checker name denotes: '<robot>/<link>', an object, or a link of `robot`. */
  function meshesNamed(name, robot) {
    var slash = name.indexOf('/');
    var target = robot, link = name;
    if (slash > 0) {
      var id = name.slice(0, slash);
      target = robots.filter(function (r) { return r.data.id === id; })[0];
      link = name.slice(slash + 1);
    }
    if (objects[name] && slash < 0) return [objects[name]];
    if (!target) return [];
    var li = target.data.links.indexOf(link);
    return li < 0 ? [] : (target.byLink[li] || []).filter(function (m) { return m.userData.kind === 'visual'; });
  }
  var highlighted = [];
  function clearHighlights() {
    highlighted.forEach(function (h) { h.mesh.material.emissive.set(0x000000); h.mesh.material.color.set(h.mesh.userData.baseColor); });
    highlighted = [];
  }
  function highlight(name, robot, color) {
    meshesNamed(name, robot).forEach(function (m) {
      m.material.color.set(color);
      m.material.emissive.set(color).multiplyScalar(0.35);
      highlighted.push({ name: name, mesh: m });
    });
  }
  hook.highlighted = function () {
    return highlighted.map(function (h) { return h.name; }).filter(function (n, i, a) { return a.indexOf(n) === i; });
  };

  // 3D label anchored at a mesh
  var label = $('label3d'), labelAnchor = null;
  function placeLabel() {
    if (!labelAnchor) { label.hidden = true; return; }
    var box = new THREE.Box3().setFromObject(labelAnchor.obj);
    if (box.isEmpty()) { label.hidden = true; return; }
    var c = box.getCenter(new THREE.Vector3()).project(camera);
    if (c.z > 1) { label.hidden = true; return; }
    label.hidden = false;
    label.textContent = labelAnchor.text;
    label.style.left = ((c.x + 1) / 2 * view.clientWidth) + 'px';
    label.style.top = ((1 - c.y) / 2 * view.clientHeight) + 'px';
  }

  // ---------------------------------------------------------------- toggles
  var toggles = $('toggles');
  function toggle(text, on, f) {
    var box = el('input', { type: 'checkbox' });
    box.checked = on;
    box.addEventListener('change', function () { f(box.checked); requestRender(); });
    toggles.appendChild(el('label', {}, [box, ' ' + text]));
    f(on);
    return box;
  }
  toggle('visual meshes', true, function (on) { robots.forEach(function (r) { eachMesh(r, 'visual', function (m) { m.visible = on; }); }); });
  toggle('collision hulls (exact)', false, function (on) { robots.forEach(function (r) { eachMesh(r, 'hull', function (m) { m.visible = on; }); }); });
  toggle('collision capsules (fast)', false, function (on) { robots.forEach(function (r) { eachMesh(r, 'capsule', function (m) { m.visible = on; }); }); });
  toggle('obstacles', true, function (on) { objectGroup.visible = on; });

  // ---------------------------------------------------------------- camera fit, floor
  function fitCamera() {
    var box = new THREE.Box3();
    robots.forEach(function (r) { box.expandByObject(r.group); });
    var objBox = new THREE.Box3().setFromObject(objectGroup);
    if (!objBox.isEmpty()) box.union(objBox);
    if (box.isEmpty()) box.set(new THREE.Vector3(-1, -1, 0), new THREE.Vector3(1, 1, 1));
    var center = box.getCenter(new THREE.Vector3());
    var radius = Math.max(0.3, box.getSize(new THREE.Vector3()).length() / 2);
    var dist = radius / Math.sin(camera.fov * Math.PI / 360) * 0.95;
    var dir = new THREE.Vector3(1.0, -1.35, 0.8).normalize();
    camera.position.copy(center).addScaledVector(dir, dist);
    camera.near = dist / 100; camera.far = dist * 20;
    camera.updateProjectionMatrix();
    controls.target.copy(center);
    controls.update();
    var floor = Math.min(0, box.min.z);
    var size = Math.max(2, Math.ceil(radius * 4));
    var grid = new THREE.GridHelper(size, size * 4, 0xb8bec9, 0xd5d9e0);
    grid.rotateX(Math.PI / 2);
    grid.position.set(Math.round(center.x), Math.round(center.y), floor - 0.001);
    scene.add(grid);
  }

  function resize() {
    var w = Math.max(50, view.clientWidth), h = Math.max(50, view.clientHeight);
    renderer.setSize(w, h, false);
    renderer.domElement.style.width = w + 'px';
    renderer.domElement.style.height = h + 'px';
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
    requestRender();
  }

  function renderNow() {
    renderer.render(scene, camera);
    placeLabel();
    dirty = false;
  }

  // ---------------------------------------------------------------- side panel
  var side = $('side');
  function heading(text) { side.appendChild(el('h2', { text: text })); }
  function fact(name, value, cls) {
    var b = el('b', { text: value });
    if (cls) b.className = cls;
    var p = el('div', { class: 'fact' }, [name + ': ', b]);
    side.appendChild(p);
    return b;
  }

  var plots = [];
  hook.plots = function () {
    return plots.map(function (p) {
      return { id: p.canvas.id, quantity: p.quantity, joint: p.joint, limits: p.plot.limitRows(), width: p.canvas.width, height: p.canvas.height };
    });
  };

  // ---------------------------------------------------------------- motion mode
  var traj = data.trajectory, clear = data.clearance, time = 0, playing = false, speed = 1;
  var moving = traj ? robots[traj.robot] : null;
  var series = null;
  var t0 = 0, t1 = 0;

  function sampleAt(arr, t, out) {
    var ts = traj.t, n = ts.length, dof = traj.dof;
    if (t <= ts[0] || n === 1) { for (var j = 0; j < dof; j++) out[j] = arr[j]; return out; }
    if (t >= ts[n - 1]) { for (j = 0; j < dof; j++) out[j] = arr[(n - 1) * dof + j]; return out; }
    var lo = 0, hi = n - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (ts[mid] <= t) lo = mid; else hi = mid; }
    var u = (t - ts[lo]) / (ts[hi] - ts[lo]);
    for (j = 0; j < dof; j++) out[j] = arr[lo * dof + j] * (1 - u) + arr[hi * dof + j] * u;
    return out;
  }

  var slider, timeText, playButton;
  function setTime(t) {
    time = Math.min(t1, Math.max(t0, t));
    if (traj) {
      moving.setQ(sampleAt(series.q, time, new Array(traj.dof)));
      if (slider) slider.value = String(time);
      if (timeText) timeText.textContent = time.toFixed(3) + ' / ' + t1.toFixed(3) + ' s';
      plots.forEach(function (p) { p.plot.draw(time); });
      if (clearHover) clearHover(time);
    }
    requestRender();
    return time;
  }

  function tcpWorld(robot) {
    robot.group.updateMatrixWorld(true);
    var v = new THREE.Vector3();
    robot.tcp.getWorldPosition(v);
    return [v.x, v.y, v.z];
  }

  var clearHover = null;

  if (traj) {
    series = { q: floats(traj.q), qd: floats(traj.qd), qdd: floats(traj.qdd), jerk: floats(traj.jerk) };
    t0 = traj.t[0]; t1 = traj.t[traj.t.length - 1];
    hook.duration = t1 - t0;
    // TCP path, read from the scene graph
    var pathPoints = [], N = Math.min(600, Math.max(2, traj.t.length));
    for (var i = 0; i < N; i++) {
      var tt = t0 + (t1 - t0) * i / (N - 1);
      moving.setQ(sampleAt(series.q, tt, new Array(traj.dof)));
      pathPoints.push(new THREE.Vector3().fromArray(tcpWorld(moving)));
    }
    var path = new THREE.Line(new THREE.BufferGeometry().setFromPoints(pathPoints), new THREE.LineBasicMaterial({ color: 0x1f6feb }));
    scene.add(path);
    toggle('TCP path', true, function (on) { path.visible = on; });

    // closest state: a ghost of the robot there, the pair highlighted, a marker at its TCP
    if (clear && clear.min != null) {
      var tmin = clear.t[clear.min], dmin = clear.d[clear.min], pmin = clear.pairs[clear.pair[clear.min]];
      hook.closest = { t: tmin, d: dmin, a: pmin[0], b: pmin[1] };
      var ghost = buildRobot(moving.data, true);
      ghost.setQ(sampleAt(series.q, tmin, new Array(traj.dof)));
      var ghostHighlights = [];
      var pairColor = dmin < 0 ? HOT : NEAR;
      var markPair = function (on) {
        clearHighlights();
        [pmin[0], pmin[1]].forEach(function (name) {
          if (name.indexOf('/') < 0 && !objects[name]) {
            meshesNamed(name, ghost).forEach(function (m) {
              m.material.color.set(on ? pairColor : m.userData.baseColor);
              m.material.opacity = on ? 0.7 : 0.28;
              if (ghostHighlights.indexOf(m) < 0) ghostHighlights.push(m);
            });
          } else if (on) {
            highlight(name, moving, pairColor);
          }
        });
      };
      markPair(true);
      var marker = new THREE.Mesh(new THREE.SphereGeometry(0.012, 16, 12), new THREE.MeshBasicMaterial({ color: dmin < 0 ? 0xd1242f : 0xf08c00 }));
      marker.position.fromArray(tcpWorld(ghost));
      scene.add(marker);
      var anchor = ghostHighlights[0] || marker;
      toggle('closest state (' + mm(dmin) + ')', true, function (on) {
        ghost.group.visible = on; marker.visible = on;
        markPair(on);
        labelAnchor = on ? { obj: anchor, text: 'closest: ' + pairText(pmin) + ', ' + mm(dmin) + ' at ' + sec(tmin) } : null;
      });
    }

    // transport
    var transport = $('transport');
    playButton = el('button', { text: '\u25b6 play', id: 'play' });
    playButton.addEventListener('click', function () { hook.playing() ? hook.pause() : hook.play(); });
    slider = el('input', { type: 'range', id: 'timeline', min: String(t0), max: String(t1), step: 'any', value: String(t0) });
    slider.addEventListener('input', function () { hook.pause(); setTime(+slider.value); });
    timeText = el('span', { class: 'time', id: 'time' });
    var speedSel = el('select', { id: 'speed', title: 'playback speed' });
    [0.1, 0.25, 0.5, 1, 2, 4].forEach(function (s) {
      var o = el('option', { value: String(s), text: s + '\u00d7' });
      if (s === 1) o.selected = true;
      speedSel.appendChild(o);
    });
    speedSel.addEventListener('change', function () { speed = +speedSel.value; });
    transport.appendChild(playButton);
    transport.appendChild(slider);
    transport.appendChild(timeText);
    transport.appendChild(speedSel);
    document.addEventListener('keydown', function (e) {
      if (e.target && e.target.tagName === 'INPUT' && e.target.type !== 'range') return;
      if (e.key === ' ') { e.preventDefault(); playButton.click(); }
    });

    // side: summary, clearance, joint plots
    var rd = moving.data;
    heading('Motion');
    fact('robot', rd.id + (rd.model !== rd.id ? ' (' + rd.model + ')' : ''));
    fact('duration', sec(t1 - t0));
    fact('samples', traj.t.length + ' (' + traj.dof + ' joints)');
    if (clear && clear.min != null) {
      var dm = clear.d[clear.min];
      var b = fact('closest approach', mm(dm) + ' at ' + sec(clear.t[clear.min]), dm < 0 ? 'bad' : (dm < 0.005 ? 'warn' : 'good'));
      b.id = 'closest';
      side.appendChild(el('div', { class: 'fact' }, [
        'between ', el('b', { text: pairText(clear.pairs[clear.pair[clear.min]]), id: 'closest-pair' }), ' ',
        el('button', { text: 'go there', id: 'goto-closest', onclick: function () { hook.pause(); setTime(clear.t[clear.min]); } })
      ]));
    }
    if (clear) {
      heading('Clearance');
      var cc = el('canvas', { class: 'plot', id: 'plot-clearance' });
      side.appendChild(cc);
      var hover = el('div', { class: 'note', id: 'clearance-now' });
      side.appendChild(hover);
      side.appendChild(el('div', { class: 'note', text: 'Smallest distance between the robot and anything it is checked against (mm), measured by cella on the geometry it decides on; shaded: in collision. Click to scrub.' }));
      var dmm = clear.d.map(function (d) { return d == null ? null : d * 1000; });
      var cplot = CellaPlot.series(cc, {
        x: clear.t, ys: [dmm], height: 110, band: { lo: 0, hi: null }, zero: true, unit: 'mm', xAxis: true,
        xRange: [t0, t1], colors: ['#1d2330'], lineWidth: 1.5,
        markers: clear.min != null ? [{ x: clear.t[clear.min], y: dmm[clear.min], color: '#f08c00' }] : []
      });
      plots.push({ canvas: cc, plot: cplot, quantity: 'clearance', joint: null });
      cc.addEventListener('click', function (e) { hook.pause(); setTime(cplot.xOf(e.clientX)); });
      clearHover = function (t) {
        var lo = 0, hi = clear.t.length - 1;
        while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (clear.t[mid] <= t) lo = mid; else hi = mid; }
        var k = Math.abs(clear.t[hi] - t) < Math.abs(clear.t[lo] - t) ? hi : lo;
        var d = clear.d[k];
        hover.textContent = 't = ' + sec(clear.t[k]) + ': ' + (d == null ? 'nothing checked' : mm(d) + ', ' + pairText(clear.pairs[clear.pair[k]]));
      };
    }

    heading('Joints');
    var legend = el('div', { class: 'note', text: 'Position, velocity, acceleration and jerk of each joint against its limits (shaded beyond, red line at the limit)' + (traj.derived.length ? '; differentiated by the viewer: ' + traj.derived.join(', ') : '') + '. Click to scrub.' });
    side.appendChild(legend);
    var table = el('table', { class: 'joints' });
    var quantities = [
      { key: 'q', label: 'position', unit: 'rad', lim: function (k) { return { lo: rd.group.lower[k], hi: rd.group.upper[k] }; } },
      { key: 'qd', label: 'velocity', unit: '/s', lim: function (k) { var v = rd.group.velocity[k]; return { lo: v == null ? null : -v, hi: v }; } },
      { key: 'qdd', label: 'acceleration', unit: '/s\u00b2', lim: function (k) { var v = rd.group.acceleration[k]; return { lo: v == null ? null : -v, hi: v }; } },
      { key: 'jerk', label: 'jerk', unit: '/s\u00b3', lim: function (k) { var v = rd.group.jerk[k]; return { lo: v == null ? null : -v, hi: v }; } }
    ];
    var head = el('tr', {}, [el('th', { text: '' })].concat(quantities.map(function (q) { return el('th', { text: q.label + ' (' + q.unit + ')' }); })));
    table.appendChild(head);
    side.appendChild(table);
    var pending = [];
    for (var k = 0; k < traj.dof; k++) {
      var tr = el('tr', {}, [el('td', { class: 'name', text: rd.group.names[k], title: rd.group.names[k] })]);
      quantities.forEach(function (q) {
        var c = el('canvas', { class: 'plot', id: 'plot-' + q.key + '-' + k });
        tr.appendChild(el('td', {}, [c]));
        pending.push({ canvas: c, q: q, k: k });
      });
      table.appendChild(tr);
    }
    // drawn once the table has its width
    pending.forEach(function (p) {
      var arr = series[p.q.key], n = traj.t.length, ys = new Array(n);
      for (var i = 0; i < n; i++) ys[i] = arr[i * traj.dof + p.k];
      var plot = CellaPlot.series(p.canvas, { x: traj.t, ys: [ys], height: 46, band: p.q.lim(p.k), labels: true, xRange: [t0, t1], colors: [CellaPlot.palette[p.k % CellaPlot.palette.length]] });
      plots.push({ canvas: p.canvas, plot: plot, quantity: p.q.key, joint: p.k });
      p.canvas.addEventListener('click', function (e) { hook.pause(); setTime(plot.xOf(e.clientX)); });
    });
    setTime(t0);
  }

  // ---------------------------------------------------------------- refused mode
  if (data.refusal) {
    var rf = data.refusal, rrobot = robots[rf.robot];
    rrobot.setQ(rf.state);
    var same = function (a, b) { return a.length === b.length && a.every(function (v, i) { return v === b[i]; }); };
    var ghosts = rf.goals.filter(function (g) { return !same(g, rf.state); }).slice(0, 8)
      .map(function (g) { var gr = buildRobot(rrobot.data, true); gr.setQ(g); return gr; });
    if (ghosts.length) toggle(rf.kind === 'goal' || rf.kind === 'limits' ? 'other goals (ghosts)' : 'goals (ghosts)', rf.kind !== 'goal', function (on) { ghosts.forEach(function (g) { g.group.visible = on; }); });
    rf.pairs.forEach(function (p) { highlight(p[0], rrobot, HOT); highlight(p[1], rrobot, HOT); });
    if (rf.pairs.length) {
      var first = meshesNamed(rf.pairs[0][0], rrobot)[0] || meshesNamed(rf.pairs[0][1], rrobot)[0];
      if (first) labelAnchor = { obj: first, text: 'in collision: ' + pairText(rf.pairs[0]) };
    }
    heading('Refused');
    var box = el('div', { class: 'box refused', id: 'refusal' }, [el('div', { text: rf.reason })]);
    side.appendChild(box);
    fact('shown', { start: 'the start state', goal: 'the goal state in collision', limits: 'the state outside the limits', no_path: 'the start, goals as ghosts' }[rf.kind] || rf.kind);
    if (rf.clearance != null) fact('clearance there', mm(rf.clearance), rf.clearance < 0 ? 'bad' : '');
    if (rf.pairs.length) {
      heading('Colliding pairs');
      var ul = el('ul', { id: 'colliding' });
      rf.pairs.forEach(function (p) { ul.appendChild(el('li', { text: pairText(p) })); });
      side.appendChild(ul);
    }
    heading('State');
    var st = el('table', { class: 'stats' });
    rf.state.forEach(function (v, k) {
      var lo = rrobot.data.group.lower[k], hi = rrobot.data.group.upper[k];
      var out = (lo != null && v < lo) || (hi != null && v > hi);
      st.appendChild(el('tr', {}, [el('td', { text: rrobot.data.group.names[k] }), el('td', { text: v.toFixed(4), class: out ? 'bad' : '' }),
        el('td', { class: 'note', text: '[' + (lo == null ? '-\u221e' : lo.toFixed(3)) + ', ' + (hi == null ? '\u221e' : hi.toFixed(3)) + ']' })]));
    });
    side.appendChild(st);
  }

  // ---------------------------------------------------------------- scene / live panels
  if (data.mode === 'scene' || data.mode === 'live') {
    heading('Robots');
  }
  var cards = {};
  if (data.mode === 'scene' || data.mode === 'live') {
    robots.forEach(function (r) {
      var status = el('span', { text: data.mode === 'live' ? 'connecting' : 'at rest' });
      var bar = el('div');
      var exec = el('div', { class: 'note', text: '' });
      var joints = el('table', { class: 'stats' });
      var valueCells = r.data.group.names.map(function (n, k) {
        var v = el('td', { text: '' });
        joints.appendChild(el('tr', {}, [el('td', { text: n }), v]));
        return v;
      });
      var card = el('div', { class: 'card', id: 'robot-' + r.data.id }, [
        el('div', { class: 'head' }, [el('span', { text: r.data.id + ' (' + r.data.model + ')' }), status]),
        el('div', { class: 'progress' }, [bar]), exec, joints
      ]);
      side.appendChild(card);
      cards[r.data.id] = { status: status, bar: bar, exec: exec, values: valueCells };
      r.data.q.forEach(function (v, k) { valueCells[k].textContent = v.toFixed(4); });
    });
    heading('World');
    var worldList = el('ul', { id: 'objects' });
    side.appendChild(worldList);
    var listWorld = function (world) {
      worldList.textContent = '';
      world.objects.forEach(function (o) {
        worldList.appendChild(el('li', { text: o.name + ' (' + o.shape.type + (o.link ? ', on ' + (o.robot ? o.robot + '/' : '') + o.link : '') + ')' }));
      });
    };
    listWorld(data.scene.world);
    hook.listWorld = listWorld;
  }

  var notes = [];
  robots.forEach(function (r) { r.data.notes.forEach(function (n) { notes.push(r.data.id + ': ' + n); }); });
  if (notes.length) {
    heading('Notes');
    notes.forEach(function (n) { side.appendChild(el('div', { class: 'note', text: n })); });
  }
  side.appendChild(el('div', { class: 'note', style: 'margin-top:16px', text: data.generator + ' \u00b7 three.js (MIT) \u00b7 drag to orbit, right-drag to pan, wheel to zoom' }));

  // ---------------------------------------------------------------- live feed
  hook.liveUpdates = 0;
  var liveLog = {};
  /* Every state the page applied to robot `id` (wall-clock ms, the executor's time, joints),
   * the last 5000. */
  hook.liveLog = function (id) { return (liveLog[id] || []).slice(); };
  if (data.live) {
    var version = data.live.version;
    var byId = {};
    robots.forEach(function (r) { byId[r.data.id] = r; });
    var source = new EventSource(data.live.events);
    source.onmessage = function (e) {
      var msg = JSON.parse(e.data);
      msg.robots.forEach(function (s) {
        var r = byId[s.id], c = cards[s.id];
        if (!r) return;
        r.setQ(s.q);
        var log = liveLog[s.id] = liveLog[s.id] || [];
        log.push({ ms: Date.now(), time: s.time, q: s.q });
        if (log.length > 5000) log.splice(0, log.length - 5000);
        if (c) {
          c.status.textContent = s.status + (s.outcome && s.status === 'idle' && s.execution ? ' (' + s.outcome + ')' : '');
          c.status.className = 'status-' + s.status;
          c.bar.style.width = (100 * s.progress).toFixed(1) + '%';
          c.exec.textContent = s.execution ? 'execution ' + s.execution + ': ' + s.trajectory_time.toFixed(2) + ' / ' + s.duration.toFixed(2) + ' s, speed ' + (100 * s.speed).toFixed(0) + ' %' : 'no execution yet';
          s.q.forEach(function (v, k) { if (c.values[k]) c.values[k].textContent = v.toFixed(4); });
        }
      });
      hook.liveUpdates++;
      badge.textContent = 'live';
      if (msg.version !== version) {
        version = msg.version;
        fetch(data.live.world).then(function (r) { return r.json(); }).then(function (w) { buildWorld(w); hook.listWorld(w); });
      }
      requestRender();
    };
    source.onerror = function () { badge.textContent = 'reconnecting'; };
  }
  hook.liveJoints = function (id) {
    var r = robots.filter(function (x) { return x.data.id === id; })[0];
    return r ? r.q.slice() : null;
  };

  // ---------------------------------------------------------------- test hooks, loop
  hook.setTime = function (t) { var v = setTime(t); renderNow(); return v; };
  hook.time = function () { return time; };
  hook.timeline = function () { return slider ? { min: +slider.min, max: +slider.max } : null; };
  hook.play = function () {
    if (!traj) return;
    if (time >= t1) setTime(t0);
    playing = true; last = performance.now();
    playButton.textContent = '\u23f8 pause';
  };
  hook.pause = function () { playing = false; if (playButton) playButton.textContent = '\u25b6 play'; };
  hook.playing = function () { return playing; };
  hook.setSpeed = function (s) { speed = s; };
  /* The TCP (world frame, m) at time t, read from the scene graph of the rendered robot. */
  hook.tcpAt = function (t) { setTime(t); renderNow(); return tcpWorld(moving || robots[0]); };
  hook.tcp = function (i) { return tcpWorld(robots[i || 0]); };
  /* The robot's visual meshes projected on the canvas: {x0, y0, x1, y1} in CSS pixels. */
  hook.robotScreenBox = function (i) {
    var r = robots[i || 0], box = new THREE.Box3();
    eachMesh(r, 'visual', function (m) { box.expandByObject(m); });
    var xs = [], ys = [];
    for (var c = 0; c < 8; c++) {
      var p = new THREE.Vector3(c & 1 ? box.max.x : box.min.x, c & 2 ? box.max.y : box.min.y, c & 4 ? box.max.z : box.min.z).project(camera);
      xs.push((p.x + 1) / 2 * view.clientWidth); ys.push((1 - p.y) / 2 * view.clientHeight);
    }
    return { x0: Math.max(0, Math.min.apply(null, xs)), y0: Math.max(0, Math.min.apply(null, ys)),
      x1: Math.min(view.clientWidth, Math.max.apply(null, xs)), y1: Math.min(view.clientHeight, Math.max.apply(null, ys)) };
  };
  /* Fraction of the pixels in a CSS-pixel rectangle of the canvas that differ from the clear
   * colour. */
  hook.inkIn = function (rect) {
    renderNow();
    var r = window.devicePixelRatio || 1, src = renderer.domElement;
    var x = Math.floor(rect.x0 * r), y = Math.floor(rect.y0 * r);
    var w = Math.max(1, Math.floor((rect.x1 - rect.x0) * r)), h = Math.max(1, Math.floor((rect.y1 - rect.y0) * r));
    var c = document.createElement('canvas'); c.width = w; c.height = h;
    var g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(src, x, y, w, h, 0, 0, w, h);
    var px = g.getImageData(0, 0, w, h).data, ink = 0;
    for (var i = 0; i < px.length; i += 4) {
      if (Math.abs(px[i] - 0xee) + Math.abs(px[i + 1] - 0xf0) + Math.abs(px[i + 2] - 0xf3) > 24) ink++;
    }
    return ink / (w * h);
  };

  var last = performance.now();
  function frame(now) {
    if (playing && traj) {
      var dt = Math.min(0.1, (now - last) / 1000);
      var t = time + dt * speed;
      if (t >= t1) { t = t1; hook.pause(); }
      setTime(t);
    }
    last = now;
    if (dirty) renderNow();
    requestAnimationFrame(frame);
  }

  window.addEventListener('resize', resize);
  resize();
  fitCamera();
  resize();
  if (traj) setTime(t0);
  renderNow();
  requestAnimationFrame(frame);
  hook.ready = true;
})();
