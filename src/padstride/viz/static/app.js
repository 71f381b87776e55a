// padstride explorer: the page draws what /api/geometry returns; it computes no arithmetic itself.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const AXES = [0, 1];
let pending = 0;

function setPending(delta) {
  pending += delta;
  document.body.dataset.pending = String(pending);
}

function ndim() { return Number($("#ndim").value); }

function axisValues(name) {
  return AXES.slice(0, ndim()).map((a) => $(`#${name}${a}`).value).join(",");
}

function panelPadding(panel) {
  const conv = $(".conv", panel).value;
  if (conv !== "explicit") return conv;
  return AXES.slice(0, ndim()).map((a) => `${$(`.b${a}`, panel).value}:${$(`.a${a}`, panel).value}`).join(",");
}

function query(panel) {
  const op = $("#op").value;
  const q = new URLSearchParams({
    op, input: axisValues("input"), kernel: axisValues("kernel"), dilation: axisValues("dilation"),
    stride: axisValues("stride"), padding: panelPadding(panel),
  });
  if (op === "convtranspose") q.set("output_padding", axisValues("output_padding"));
  if ($("#ceil_mode").checked && (op === "maxpool" || op === "avgpool")) q.set("ceil_mode", "1");
  return q.toString();
}

function cell(kind) {
  const el = document.createElement("div");
  el.className = `cell ${kind}`;
  return el;
}

function render(panel, data) {
  const source = $(".grid.source", panel), output = $(".grid.output", panel);
  source.replaceChildren(); output.replaceChildren();
  $(".snippets", panel).replaceChildren();
  if (data.error) {
    $(".error", panel).textContent = data.error;
    $(".out-size", panel).textContent = "—";
    $(".pads", panel).textContent = "—";
    $(".dropped-note", panel).textContent = "";
    return;
  }
  $(".error", panel).textContent = "";
  $(".out-size", panel).textContent = data.output.join("×");
  $(".pads", panel).textContent = data.pads.map((p) => `(${p[0]}, ${p[1]})`).join(" ");
  const dropped = data.geometry.axes.map((a) => a.dropped_count ?? a.dropped.length);
  $(".dropped-note", panel).textContent = dropped.some((d) => d) ? `· never read per axis: ${dropped.join(", ")}` : "";
  if (!data.scene) {
    $(".error", panel).textContent = "too large to draw; the numbers above are exact";
    return;
  }
  const axes = data.scene.axes;
  const rows = axes.length === 2 ? axes[0] : { lo: 0, hi: 1, kinds: ["input"], windows: [[0]] };
  const cols = axes.length === 2 ? axes[1] : axes[0];
  source.style.gridTemplateColumns = `repeat(${cols.kinds.length}, 18px)`;
  const rank = { cropped: 5, overhang: 4, pad: 3, zero: 2, dropped: 1, input: 0 };
  const index = new Map();
  for (let r = rows.lo; r < rows.hi; r++) {
    for (let c = cols.lo; c < cols.hi; c++) {
      const kr = rows.kinds[r - rows.lo], kc = cols.kinds[c - cols.lo];
      const el = cell(rank[kr] >= rank[kc] ? kr : kc);
      el.dataset.r = r; el.dataset.c = c;
      index.set(`${r},${c}`, el);
      source.appendChild(el);
    }
  }
  const outRows = rows.windows.length, outCols = cols.windows.length;
  output.style.gridTemplateColumns = `repeat(${outCols}, 18px)`;
  for (let i = 0; i < outRows; i++) {
    for (let j = 0; j < outCols; j++) {
      const el = cell("out");
      el.dataset.i = i; el.dataset.j = j;
      el.addEventListener("mouseenter", () => {
        el.classList.add("now");
        for (const r of rows.windows[i]) for (const c of cols.windows[j]) {
          const src = index.get(`${r},${c}`);
          if (src) src.classList.add("tap");
        }
      });
      el.addEventListener("mouseleave", () => {
        el.classList.remove("now");
        $$(".tap", source).forEach((s) => s.classList.remove("tap"));
      });
      output.appendChild(el);
    }
  }
  for (const [name, snip] of Object.entries(data.snippets || {})) {
    const h = document.createElement("h4");
    h.textContent = name + (snip.exact ? "" : " (not exact)");
    const pre = document.createElement("pre");
    pre.textContent = `${snip.imports}\n${snip.code}` + (snip.notes.length ? `\n# ${snip.notes.join("\n# ")}` : "");
    $(".snippets", panel).append(h, pre);
  }
}

async function update(panel) {
  const q = query(panel);
  setPending(1);
  try {
    const res = await fetch(`api/geometry?${q}`);
    const data = await res.json();
    if (q === query(panel)) { panel.dataset.query = q; render(panel, data); }
  } catch (err) {
    $(".error", panel).textContent = String(err);
  } finally {
    setPending(-1);
  }
}

function updateAll() {
  document.body.classList.toggle("one-d", ndim() === 1);
  const op = $("#op").value;
  document.body.classList.toggle("transposed", op === "convtranspose");
  document.body.classList.toggle("pooling", op === "maxpool" || op === "avgpool");
  $$("output[for]").forEach((o) => { o.textContent = $(`#${o.htmlFor}`).value; });
  $$(".panel").forEach((panel) => {
    $(".explicit", panel).style.display = $(".conv", panel).value === "explicit" ? "" : "none";
    update(panel);
  });
}

function init() {
  const tpl = $("#panel-template");
  $$(".panel").forEach((panel) => {
    panel.appendChild(tpl.content.cloneNode(true));
    $(".conv", panel).value = panel.dataset.default;
  });
  $$("input, select").forEach((el) => el.addEventListener("input", updateAll));
  updateAll();
}

init();
