// Tributary status page: plain JS, no build step, no CDN. Reads /api/events (server-sent
// events) and falls back to polling /api/status. Text only goes in through textContent.
'use strict';

(function () {
  const token = new URLSearchParams(location.search).get('token');
  const withToken = (path) => (token ? `${path}?token=${encodeURIComponent(token)}` : path);
  const $ = (id) => document.getElementById(id);
  let last;
  let receivedAt = Date.now();

  $('metrics-link').href = withToken('metrics');
  $('status-link').href = withToken('api/status');

  const fmt = new Intl.NumberFormat();
  const num = (n) => (n === undefined || n === null ? '–' : fmt.format(n));
  function bytes(n) {
    if (n === undefined || n === null) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
  }
  function duration(ms) {
    if (ms === undefined || ms === null) return '–';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }
  const time = (t) => new Date(t).toLocaleTimeString();
  // a task's event time: a date when it looks like one, else the number (event time is whatever
  // the job's timestamps are); the end of input; none yet; idle inputs
  function watermark(task) {
    const idle = task.idle ? 'idle' : '';
    const w = task.watermark;
    if (w === undefined || w === null) return idle || '–';
    let text;
    if (w >= Number.MAX_SAFE_INTEGER) text = 'end of input';
    else if (w >= 946684800000 && w < 4102444800000) text = new Date(w).toISOString();
    else text = fmt.format(w);
    return idle ? `${text} (idle)` : text;
  }

  function cell(row, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }
  function fillTable(id, rows, build, empty) {
    const body = $(id).querySelector('tbody');
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = cell(tr, empty, 'hint');
      td.colSpan = $(id).querySelectorAll('th').length;
      body.appendChild(tr);
      return;
    }
    for (const r of rows) {
      const tr = document.createElement('tr');
      build(tr, r);
      body.appendChild(tr);
    }
  }

  function renderGraph(graph) {
    const box = $('graph');
    const key = JSON.stringify(graph);
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren();
    graph.vertices.forEach((v, i) => {
      if (i > 0) {
        const edge = graph.edges.find((e) => e.to === v.id);
        const arrow = document.createElement('span');
        arrow.className = 'edge';
        arrow.textContent = edge ? `→ ${edge.partitioning} →` : '·';
        box.appendChild(arrow);
      }
      const div = document.createElement('div');
      div.className = 'vertex';
      div.dataset.vertex = String(v.id);
      const name = document.createElement('div');
      name.textContent = v.name;
      const p = document.createElement('div');
      p.className = 'p';
      p.textContent = `parallelism ${v.parallelism}`;
      div.append(name, p);
      box.appendChild(div);
    });
  }

  // only for a worker of a job run in several processes
  function renderWorkers(cl) {
    $('workers-section').hidden = !cl;
    if (!cl) return;
    const alive = cl.members.filter((m) => m.state === 'alive').length;
    const parts = [
      `this page: worker ${cl.workerId}`,
      `${alive} alive of ${cl.members.length} recorded`,
      `leader ${cl.leader ? `${cl.leader.workerId} (term ${cl.leader.term})` : 'none'}`,
      `completed checkpoint ${cl.completedCheckpoint === undefined ? '–' : cl.completedCheckpoint}`,
    ];
    if (cl.pendingCheckpoint !== undefined)
      parts.push(`checkpoint ${cl.pendingCheckpoint} pending`);
    if (cl.measuredAt) parts.push(`read at ${time(cl.measuredAt)}`);
    if (cl.error) parts.push(`last read failed: ${cl.error}`);
    $('workers-summary').textContent = parts.join(' · ');
    fillTable(
      'workers',
      cl.members,
      (tr, m) => {
        tr.dataset.worker = m.workerId;
        const marks = `${m.leader ? ' ★ leader' : ''}${m.workerId === cl.workerId ? ' (this one)' : ''}`;
        cell(tr, `${m.workerId}${marks}`);
        cell(tr, m.deadBy ? `dead (declared by ${m.deadBy})` : m.state, m.state);
        cell(tr, String(m.epoch), 'num');
        cell(tr, m.host);
        cell(tr, String(m.pid), 'num');
        cell(tr, num(m.beat), 'num');
        cell(tr, time(m.joinedAt));
      },
      'no worker record read yet',
    );
  }

  function render(s) {
    last = s;
    receivedAt = Date.now();
    const job = s.job;
    document.title = `${job.name} · ${job.status} · Tributary`;
    $('job-name').textContent = job.name;
    const badge = $('job-status');
    badge.textContent = job.status;
    badge.className = `badge ${job.status}`;
    $('job-attempt').textContent = String(job.attempt);
    $('job-restarts').textContent = String(job.restarts);
    $('resumed').textContent =
      job.resumedFrom === undefined ? 'start' : `checkpoint ${job.resumedFrom}`;
    const err = $('last-error');
    err.hidden = !job.lastError;
    err.textContent = job.lastError ? `last error: ${job.lastError}` : '';
    const sources = new Set(s.graph.vertices.filter((v) => v.source).map((v) => v.source.uid));
    const read = s.operators
      .filter((o) => sources.has(o.uid))
      .reduce((a, o) => a + o.recordsOut, 0);
    $('records-read').textContent = num(read);
    const c = s.checkpoints;
    $('checkpoint-count').textContent =
      `${num(c.completed)}${c.failed ? ` (${c.failed} failed)` : ''}`;
    const t = s.transactions;
    $('transactions').textContent =
      `${t.open} open · ${num(t.committed)} committed${t.aborted ? ` · ${t.aborted} aborted` : ''}`;
    renderWorkers(s.cluster);
    renderGraph(s.graph);
    fillTable(
      'operators',
      s.operators,
      (tr, o) => {
        tr.dataset.uid = o.uid;
        cell(tr, o.name);
        cell(tr, String(o.parallelism), 'num');
        cell(tr, num(o.recordsIn), 'num records-in');
        cell(tr, num(o.recordsOut), 'num records-out');
        cell(tr, num(o.inPerSecond), 'num');
        cell(tr, num(o.outPerSecond), 'num');
        cell(tr, num(o.recordsInReplayed + o.recordsOutReplayed), 'num');
      },
      'no metrics yet',
    );
    fillTable(
      'lag',
      s.lag.sources,
      (tr, l) => {
        cell(tr, l.sourceName);
        cell(tr, l.stream);
        cell(tr, bytes(l.bytes), 'num lag-bytes');
        cell(tr, l.events === undefined ? '–' : num(l.events), 'num');
      },
      'no source reports lag',
    );
    $('lag-measured').textContent = s.lag.measuredAt ? `measured at ${time(s.lag.measuredAt)}` : '';
    fillTable(
      'checkpoints',
      c.recent,
      (tr, r) => {
        tr.dataset.checkpoint = String(r.id);
        cell(tr, `${r.id}${r.final ? ' (final)' : ''}`, 'num');
        cell(tr, r.reason ? `${r.state}: ${r.reason}` : r.state, r.state);
        cell(tr, duration(r.durationMs), 'num');
        cell(tr, bytes(r.bytes), 'num');
        cell(tr, time(r.triggeredAt));
      },
      'no checkpoint yet',
    );
    fillTable(
      'tasks',
      s.tasks,
      (tr, k) => {
        cell(tr, k.name);
        cell(tr, String(k.subtask), 'num');
        cell(tr, `${Math.round(k.backpressureRatio * 100)} %`, 'num');
        cell(tr, duration(k.backpressuredMs), 'num');
        cell(tr, watermark(k), 'num watermark');
      },
      'no tasks running',
    );
    const ul = $('warnings');
    ul.replaceChildren();
    for (const w of s.warnings) {
      const li = document.createElement('li');
      li.textContent = `${time(w.time)} ${w.message}`;
      ul.appendChild(li);
    }
    if (s.warnings.length === 0) {
      const li = document.createElement('li');
      li.className = 'hint';
      li.textContent = 'none';
      ul.appendChild(li);
    }
    tick();
  }

  // clocks move between updates
  function tick() {
    if (!last) return;
    const now = Date.now();
    const ended = ['finished', 'cancelled', 'failed'].includes(last.job.status);
    $('job-uptime').textContent = duration((ended ? last.job.updatedAt : now) - last.job.startedAt);
    const lc = last.checkpoints.lastCompleted;
    $('checkpoint-age').textContent = lc
      ? `#${lc.id}, ${duration(now - lc.triggeredAt - (lc.durationMs || 0))} ago`
      : '–';
  }
  setInterval(tick, 1000);

  function setLive(on, text) {
    const live = $('live');
    live.className = on ? 'live on' : 'live';
    live.textContent = text;
  }

  let pollTimer;
  function poll() {
    fetch(withToken('api/status'), { cache: 'no-store' })
      .then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.json();
      })
      .then((s) => {
        render(s);
        setLive(true, '● polling');
      })
      .catch((e) => setLive(false, `○ ${e.message}`))
      .finally(() => {
        pollTimer = setTimeout(poll, 2000);
      });
  }

  function connect() {
    if (!('EventSource' in window)) {
      poll();
      return;
    }
    const es = new EventSource(withToken('api/events'));
    es.addEventListener('status', (e) => {
      render(JSON.parse(e.data));
      setLive(true, '● live');
    });
    es.onerror = () => {
      // the job ended (server closed) or the network dropped: the browser retries on its own
      setLive(false, Date.now() - receivedAt > 5000 ? '○ offline' : '○ reconnecting');
    };
  }
  void pollTimer;
  connect();
})();
