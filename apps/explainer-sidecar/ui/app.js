// Genome explainer page: talks to this sidecar's REST API (GET /v1/models, GET /v2/models/{name},
// POST /v1/models/{name}:explain and :visualize) with the token typed in the header, if any.
const $ = (id) => document.getElementById(id);
const state = { model: null, meta: null, explanation: null };

function headers(json = true) {
  const h = { accept: 'application/json' };
  if (json) h['content-type'] = 'application/json';
  const token = $('token').value.trim() || sessionStorage.getItem('genome-token') || '';
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

async function api(path, body) {
  const res = await fetch(path, body === undefined ? { headers: headers(false) } : { method: 'POST', headers: headers(), body: JSON.stringify(body) });
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text };
  }
  if (!res.ok) throw new Error(data.error || `${res.status} ${res.statusText}`);
  return data;
}

function setStatus(id, message, isError = false) {
  const el = $(id);
  el.textContent = message;
  el.classList.toggle('error', isError);
}

/** Minimal RFC 4180 CSV: quoted fields, doubled quotes, commas and newlines inside quotes. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

function cellValue(s) {
  const t = s.trim();
  if (t === '' || t.toLowerCase() === 'nan' || t.toLowerCase() === 'null') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** CSV text -> KServe instances: objects keyed by feature name when the first line is a header, arrays otherwise. */
export function instancesFromCsv(text, featureNames) {
  const rows = parseCsv(text);
  if (rows.length === 0) throw new Error('paste or upload at least one row');
  const first = rows[0].map((s) => s.trim());
  const isHeader = first.length > 0 && first.every((name) => featureNames.includes(name));
  if (!isHeader) return rows.map((r) => r.map(cellValue));
  return rows.slice(1).map((r) => Object.fromEntries(first.map((name, i) => [name, cellValue(r[i] ?? '')])));
}

/** One explanation document from the per-row documents of an :explain answer. */
function mergeRows(docs) {
  const out = { ...docs[0], values: [], baseValues: [] };
  for (const key of ['predictions', 'data', 'interactions']) if (docs[0][key]) out[key] = [];
  for (const d of docs) {
    out.values.push(...d.values);
    out.baseValues.push(...d.baseValues);
    for (const key of ['predictions', 'data', 'interactions']) if (out[key]) out[key].push(...d[key]);
  }
  if (docs[0].details) {
    out.details = { ...docs[0].details };
    for (const [k, v] of Object.entries(docs[0].details)) {
      if (Array.isArray(v) && v.length === 1) out.details[k] = docs.flatMap((d) => d.details[k]);
    }
  }
  return out;
}

async function draw(figureId, kind, explanation, options = {}) {
  const fig = $(figureId);
  fig.textContent = '';
  const chart = await api(`/v1/models/${encodeURIComponent(state.model)}:visualize`, { kind, explanation, options });
  show(fig, chart);
}

function show(fig, chart) {
  fig.dataset.kind = chart.kind;
  if (chart.content_type === 'image/png') {
    const img = document.createElement('img');
    img.src = `data:image/png;base64,${chart.content}`;
    fig.replaceChildren(img);
  } else {
    // SVG and HTML from this server: every text in them is escaped by @genome/viz.
    fig.innerHTML = chart.content;
  }
}

function fillValues(e, row) {
  const out = e.outputNames.length - 1;
  const body = $('values').tBodies[0];
  body.replaceChildren();
  e.featureNames.forEach((name, f) => {
    const tr = document.createElement('tr');
    const v = e.data?.[row]?.[f];
    for (const [text, cls] of [[name, ''], [v === undefined ? '' : v === null ? 'missing' : String(v), 'num'], [String(e.values[row][f][out]), 'num attribution']]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    tr.dataset.feature = name;
    body.append(tr);
  });
  const pred = e.predictions?.[row]?.[out];
  $('prediction').textContent = `${e.outputNames[out]}: base ${e.baseValues[row][out]}${pred === undefined ? '' : `, prediction ${pred}`}`;
  $('prediction').dataset.prediction = pred === undefined ? '' : String(pred);
}

async function showRow(row) {
  const e = state.explanation;
  const kind = state.meta.genome.kind;
  if (kind === 'tabular') {
    fillValues(e, row);
    const additive = /shap/.test(e.method);
    await Promise.all([
      draw('chart-main', additive ? 'waterfall' : e.method.startsWith('anchors') ? 'anchor_rule' : 'lime_bar', e, { row }),
      additive ? draw('chart-force', 'force', e, { row }) : Promise.resolve($('chart-force').replaceChildren()),
    ]);
  } else if (kind === 'text') {
    await draw('chart-main', e.method.startsWith('anchors') ? 'anchor_rule' : 'lime_text', e, { row });
  }
}

async function run() {
  const kind = state.meta.genome.kind;
  const method = $('method').value;
  $('run').disabled = true;
  setStatus('status', 'explaining…');
  try {
    $('results').hidden = true;
    for (const id of ['chart-main', 'chart-force', 'chart-all']) $(id).replaceChildren();
    if (kind === 'image') {
      const file = $('image-file').files[0];
      if (!file) throw new Error('choose an image file');
      const b64 = await new Promise((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
        r.onerror = () => reject(r.error);
        r.readAsDataURL(file);
      });
      // Explain and plot in one call: the overlay needs the image, which the server has.
      const chart = await api(`/v1/models/${encodeURIComponent(state.model)}:visualize`, { kind: 'cam_overlay', instances: [{ b64 }], method });
      state.explanation = chart.explanation;
      $('row').replaceChildren();
      $('results').hidden = false;
      show($('chart-main'), chart);
    } else {
      const instances = kind === 'text' ? $('texts').value.split('\n').filter((t) => t.trim() !== '') : instancesFromCsv($('rows').value, state.meta.genome.feature_names);
      const answer = await api(`/v1/models/${encodeURIComponent(state.model)}:explain`, { instances, method });
      state.explanation = mergeRows(answer.explanations);
      const n = state.explanation.values.length;
      $('row').replaceChildren(...Array.from({ length: n }, (_, i) => new Option(String(i), String(i))));
      $('results').hidden = false;
      await showRow(0);
      if (kind === 'tabular' && /shap/.test(state.explanation.method)) await draw('chart-all', n > 1 ? 'beeswarm' : 'bar', state.explanation);
    }
    setStatus('status', `${state.explanation.method}: ${state.explanation.values.length} row(s) in ${Math.round(state.explanation.timings.totalMs)} ms`);
  } catch (err) {
    setStatus('status', err.message, true);
  } finally {
    $('run').disabled = false;
  }
}

async function drawInternals() {
  const charts = state.meta.genome.charts.model;
  $('chart-summary').replaceChildren();
  $('chart-tree').replaceChildren();
  if (charts.length === 0) {
    setStatus('internals-status', `model "${state.model}" is not a tree ensemble or a linear model: no internals to draw`);
    return;
  }
  setStatus('internals-status', 'drawing…');
  try {
    const base = `/v1/models/${encodeURIComponent(state.model)}:visualize`;
    if (charts.includes('coefficients')) {
      show($('chart-summary'), await api(base, { kind: 'coefficients' }));
    } else {
      let row;
      try {
        row = $('rows').value.trim() ? instancesFromCsv($('rows').value, state.meta.genome.feature_names)[0] : undefined;
      } catch {
        row = undefined;
      }
      const options = { tree: Number($('tree-index').value), max_depth: Number($('tree-depth').value) };
      const [summary, tree] = await Promise.all([api(base, { kind: 'ensemble' }), api(base, { kind: 'tree', options, ...(row ? { row } : {}) })]);
      show($('chart-summary'), summary);
      show($('chart-tree'), tree);
    }
    setStatus('internals-status', '');
  } catch (err) {
    setStatus('internals-status', err.message, true);
  }
}

async function selectModel(name) {
  state.model = name;
  state.meta = await api(`/v2/models/${encodeURIComponent(name)}`);
  const g = state.meta.genome;
  $('model-info').textContent = `${g.kind}, ${g.feature_names.length} features, outputs: ${g.output_names.join(', ')}${state.meta.versions[0] ? `, version ${state.meta.versions[0]}` : ''}`;
  $('method').replaceChildren(...g.methods.map((m) => new Option(m, m)));
  $('tabular-input').hidden = g.kind !== 'tabular';
  $('text-input').hidden = g.kind !== 'text';
  $('image-input').hidden = g.kind !== 'image';
  if (g.kind === 'tabular' && !$('rows').value.trim()) $('rows').placeholder = `${g.feature_names.join(',')}\n…`;
  $('tab-internals').hidden = g.charts.model.length === 0;
  $('results').hidden = true;
}

async function start() {
  $('token').value = sessionStorage.getItem('genome-token') || '';
  $('token').addEventListener('change', () => {
    sessionStorage.setItem('genome-token', $('token').value.trim());
    start().catch((err) => setStatus('status', err.message, true));
  });
  for (const b of document.querySelectorAll('.tab')) {
    b.onclick = () => {
      for (const t of document.querySelectorAll('.tab')) t.classList.toggle('active', t === b);
      $('explain').hidden = b.dataset.tab !== 'explain';
      $('internals').hidden = b.dataset.tab !== 'internals';
      if (b.dataset.tab === 'internals' && !$('chart-summary').firstChild) drawInternals();
    };
  }
  $('run').onclick = run;
  $('draw-internals').onclick = drawInternals;
  $('row').onchange = () => showRow(Number($('row').value)).catch((err) => setStatus('status', err.message, true));
  $('csv-file').onchange = async () => {
    const file = $('csv-file').files[0];
    if (file) $('rows').value = await file.text();
  };
  $('model').onchange = () => selectModel($('model').value).catch((err) => setStatus('status', err.message, true));
  const { models } = await api('/v1/models');
  $('model').replaceChildren(...models.map((m) => new Option(m, m)));
  const wanted = new URLSearchParams(location.search).get('model');
  if (wanted && models.includes(wanted)) $('model').value = wanted;
  if (models.length) await selectModel($('model').value);
  document.body.dataset.ready = 'true';
}

start().catch((err) => {
  setStatus('status', err.message, true);
  document.body.dataset.ready = 'error';
});
