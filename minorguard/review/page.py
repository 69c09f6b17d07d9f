"""The review page: one HTML document with its style and script inline (nonce-locked).

Everything shown comes from ``/api/state`` and is put in the page with
``textContent`` (never as markup), so a file or child name cannot inject code.
"""

from __future__ import annotations

import html

from minorguard.locale import t
from minorguard.report.html import KIND_COLOURS

__all__ = ["render_page"]

_CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f4f2;color:#1b1b1b}
header{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid #ccc;padding:10px 20px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0}
header input{font:inherit;padding:4px 8px;width:220px}
#todo{font-weight:600}
.keys{color:#555;font-size:12px;flex-basis:100%}
main{padding:10px 20px 80px}
.photo{background:#fff;border:1px solid #ddd;border-left:8px solid #999;border-radius:6px;margin:16px 0;padding:10px 14px}
.photo h2{font-size:15px;margin:0 0 8px;word-break:break-all}
.badge{color:#fff;border-radius:4px;padding:1px 8px;margin-right:8px;font-size:13px}
.badge.v-BLOCK{background:#d7191c}.badge.v-REVIEW{background:#f59e0b}.badge.v-PASS{background:#1a9641}.badge.v-ERROR{background:#7b3294}
.photo.v-BLOCK{border-left-color:#d7191c}.photo.v-REVIEW{border-left-color:#f59e0b}.photo.v-PASS{border-left-color:#1a9641}
.warn{background:#fff3cd;border:1px solid #e0c36b;padding:6px 10px;border-radius:4px;margin:6px 0}
.pbody{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
.frame{position:relative;line-height:0;flex:0 1 640px;max-width:100%}
.frame img{width:100%;height:auto}
.box{position:absolute;border:3px solid;border-radius:2px}
.box.review{border-style:dashed}
.box.focus{outline:3px solid #000;outline-offset:2px}
.box span{position:absolute;left:-3px;top:-17px;font:bold 11px/15px sans-serif;color:#fff;padding:0 4px}
.cards{flex:1 1 380px;display:flex;flex-direction:column;gap:10px}
.card{display:flex;gap:10px;border:2px solid #ddd;border-radius:6px;padding:8px;background:#fafafa}
.card:focus,.card.focus{border-color:#111;outline:none;background:#fff}
.card img{width:96px;height:auto;align-self:flex-start;border-radius:3px}
.card .kind{font-weight:600}
.card .state{font-size:13px;color:#333}
.card .pending{color:#a15c00;font-weight:600}
.card .buttons{display:flex;gap:6px;flex-wrap:wrap;margin-top:6px}
.card button{font:inherit;font-size:13px;padding:3px 9px;cursor:pointer}
.card input.reason{font:inherit;font-size:13px;width:100%;margin-top:6px;padding:3px 6px}
.card details{font-size:12px;color:#444}
.sw{display:inline-block;width:12px;height:12px;border:3px solid;margin-right:5px;vertical-align:-1px}
#toast{position:fixed;bottom:16px;left:50%;transform:translateX(-50%);background:#222;color:#fff;padding:8px 16px;border-radius:6px;display:none;z-index:20}
#toast.error{background:#b00020}
dialog{width:min(680px,94vw);border:1px solid #888;border-radius:8px}
dialog input{font:inherit;width:100%;padding:6px}
.child{border-top:1px solid #ddd;padding:6px 0}
.consent{margin:4px 0 4px 14px;font-size:13px}
.consent.no{color:#8a1c1c}
.empty{color:#555;padding:30px}
#errors{background:#fff;border:1px solid #ddd;border-left:8px solid #7b3294;border-radius:6px;margin:16px 0;padding:10px 14px}
#errors h2{font-size:15px;margin:0 0 8px}
#people h2{font-size:16px;margin:14px 0 4px}
.person{background:#fff;border:1px solid #ddd;border-left:8px solid #f59e0b;border-radius:6px;margin:10px 0;padding:8px 14px}
.person.done{border-left-color:#1a9641}
.person h3{font-size:14px;margin:0 0 4px}
.person .side{font-size:13px;color:#333}
.strip{display:flex;gap:6px;flex-wrap:wrap;margin:6px 0}
.strip a{display:block;border:3px solid #999;border-radius:3px;line-height:0}
.strip img{width:64px;height:64px;object-fit:cover}
.person .buttons{display:flex;gap:6px;flex-wrap:wrap;margin-top:6px}
.person button{font:inherit;font-size:13px;padding:3px 9px;cursor:pointer}
.person input.reason{font:inherit;font-size:13px;width:100%;max-width:520px;margin-top:6px;padding:3px 6px}
.inperson{font-size:12px;color:#444}
#remember label{display:block;margin:8px 0 2px;font-size:13px}
"""

_SCRIPT = r"""
"use strict";
const TOKEN = new URLSearchParams(location.search).get("token") || "";
const COLOURS = __COLOURS__;
let STATE = null, M = {}, cursor = 0, dialogFor = null, dialogGroup = null, rememberFor = null, searchTimer = null;
const $ = (sel, root) => (root || document).querySelector(sel);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
const fmt = (key, vals) => (M[key] || key).replace(/\{(\w+)\}/g, (_, k) => (vals && k in vals) ? vals[k] : "{" + k + "}");
function url(path) { return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN); }
async function api(path, body) {
  const opts = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  opts.headers = Object.assign({"X-Minorguard-Token": TOKEN}, opts.headers || {});
  const res = await fetch(path, opts);
  const data = await res.json().catch(() => ({error: res.statusText}));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}
function toast(text, error) {
  const t = $("#toast"); t.textContent = text; t.className = error ? "error" : ""; t.style.display = "block";
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.style.display = "none"; }, error ? 6000 : 1800);
}
function cards() { return Array.from(document.querySelectorAll(".card")); }
function focusCard(i, scroll) {
  const all = cards(); if (!all.length) return;
  cursor = Math.max(0, Math.min(i, all.length - 1));
  all.forEach((c, j) => c.classList.toggle("focus", j === cursor));
  document.querySelectorAll(".box.focus").forEach(b => b.classList.remove("focus"));
  const c = all[cursor];
  const box = document.getElementById("box-" + c.dataset.photo + "-" + c.dataset.face);
  if (box) box.classList.add("focus");
  if (scroll !== false) c.scrollIntoView({block: "center", behavior: "instant"});
}
function current() { const c = cards()[cursor]; return c ? {photo: +c.dataset.photo, face: +c.dataset.face, card: c} : null; }
function reviewer() { return $("#reviewer").value.trim(); }
function swatch(kind) { const s = el("span", "sw"); s.style.borderColor = COLOURS[kind]; if (kind === "review") s.style.borderStyle = "dashed"; return s; }

function renderFace(p, f) {
  const card = el("div", "card"); card.tabIndex = 0;
  card.dataset.photo = p.id; card.dataset.face = f.index; card.dataset.kind = f.kind;
  card.id = "card-" + p.id + "-" + f.index;
  const img = el("img"); img.alt = fmt("face", {n: f.index + 1}); img.src = url("/face/" + p.id + "/" + f.index + ".jpg?v=" + p.version); img.loading = "lazy";
  card.append(img);
  const body = el("div"); body.style.flex = "1";
  const title = el("div"); title.append(swatch(f.kind), el("span", "kind", fmt("face", {n: f.index + 1}) + " · " + M["kind." + f.kind]));
  body.append(title, el("div", "text", f.text));
  if (f.person !== null && f.person !== undefined) {
    const a = el("a", "inperson", fmt("review.in_person", {id: f.person})); a.href = "#person-" + f.person; body.append(a);
  }
  if (f.current) {
    body.append(el("div", "state", M["review.model"] + ": " + f.model_text));
    if (f.pending_second) body.append(el("div", "pending", M["review.pending"] + " (" + f.current.reviewer + ")"));
  }
  if (f.history.length) {
    const d = el("details"); d.append(el("summary", "", M["review.history"] + " (" + f.history.length + ")"));
    for (const h of f.history) d.append(el("div", "", h.at + " · " + h.reviewer + " · " + (M["review.did." + h.kind] || h.kind) + (h.consent_id ? " " + h.consent_id : "") + (h.reason ? " · " + h.reason : "")));
    body.append(d);
  }
  if (f.decidable && !p.changed && !p.missing) {
    const reason = el("input", "reason"); reason.placeholder = M["review.reason"]; reason.maxLength = 2000;
    const buttons = el("div", "buttons");
    const add = (label, key, fn, name) => { const b = el("button", "", label + " (" + key + ")"); b.type = "button"; b.name = name; b.addEventListener("click", () => { focusCard(cards().indexOf(card), false); fn(); }); buttons.append(b); };
    add(M["review.adult"], "A", () => decide("adult"), "adult");
    add(M["review.consent"], "C", () => openConsent(), "consent");
    add(M["review.hide"], "H", () => decide("hide"), "hide");
    if (f.pending_second) add(M["review.confirm"], "Y", () => decide("confirm"), "confirm");
    if (f.current) add(M["review.clear"], "U", () => decide("clear"), "clear");
    body.append(reason, buttons);
  }
  card.append(body);
  card.addEventListener("focus", () => focusCard(cards().indexOf(card), false));
  return card;
}

function renderPhoto(p) {
  const sec = el("section", "photo"); sec.id = "photo-" + p.id; sec.dataset.verdict = p.verdict;
  sec.classList.add("v-" + p.verdict);
  const h = el("h2"); h.append(el("span", "badge v-" + p.verdict, M["verdict." + p.verdict]), document.createTextNode(p.source));
  sec.append(h);
  if (p.changed) { const w = el("div", "warn", M["review.changed"]); w.dataset.changed = "1"; sec.append(w); }
  if (p.missing) { const w = el("div", "warn", M["html.no_preview"]); w.dataset.missing = "1"; sec.append(w); }
  for (const note of p.notes || []) { const w = el("div", "warn", note); w.dataset.note = "1"; sec.append(w); }
  const bodyEl = el("div", "pbody");
  const frame = el("div", "frame");
  const img = el("img"); img.alt = p.name; img.src = url("/photo/" + p.id + ".jpg?v=" + p.version); img.loading = "lazy";
  if (p.width && p.height) { img.width = p.width; img.height = p.height; }  // keeps the layout still while it loads
  frame.append(img);
  if (!p.changed) for (const f of p.faces) {
    if (!f.flagged && p.faces.length > 10) continue;
    const b = el("div", "box " + f.kind); b.id = "box-" + p.id + "-" + f.index;
    b.style.left = f.box[0] + "%"; b.style.top = f.box[1] + "%"; b.style.width = f.box[2] + "%"; b.style.height = f.box[3] + "%";
    b.style.borderColor = COLOURS[f.kind];
    if (f.flagged) { const s = el("span", "", String(f.index + 1)); s.style.background = COLOURS[f.kind]; b.append(s); }
    frame.append(b);
  }
  const list = el("div", "cards");
  for (const f of p.faces) if (f.flagged) list.append(renderFace(p, f));
  bodyEl.append(frame, list); sec.append(bodyEl);
  return sec;
}

function renderPerson(person) {
  const sec = el("div", "person" + (person.todo ? "" : " done")); sec.id = "person-" + person.id; sec.dataset.person = person.id;
  sec.dataset.todo = person.todo;
  const title = fmt("review.person", {id: person.id, n: person.faces.length, photos: person.photos}) + (person.todo ? " · " + fmt("review.person_todo", {n: person.todo}) : "");
  sec.append(el("h3", "", title));
  if (person.side_text) sec.append(el("div", "side", person.side_text));
  if (person.mixed_ages && person.paired_with !== null) { const w = el("div", "warn", fmt("review.person_mixed", {other: person.paired_with})); w.dataset.mixed = "1"; sec.append(w); }
  const strip = el("div", "strip");
  for (const f of person.faces) {
    const a = el("a"); a.href = "#card-" + f.photo + "-" + f.index; a.style.borderColor = COLOURS[f.kind]; a.title = f.name + " · " + fmt("face", {n: f.face}) + " · " + M["kind." + f.kind];
    a.dataset.kind = f.kind;
    const img = el("img"); img.alt = a.title; img.loading = "lazy"; img.src = url("/face/" + f.photo + "/" + f.index + ".jpg?v=" + f.version);
    a.append(img);
    if (person.side !== "adult" && person.faces.length > 1) {
      // a row that may hold a child: an adult or consent decision covers only the faces ticked here
      const tick = el("label", "tick"); const box = el("input"); box.type = "checkbox"; box.className = "tick-face";
      box.dataset.photo = f.photo; box.dataset.face = f.face; tick.append(box, " " + M["review.tick_face"]);
      const cell = el("span", "cell"); cell.append(a, tick); strip.append(cell);
    } else strip.append(a);
  }
  sec.append(strip);
  const decidable = person.faces.filter(f => f.decidable).length;
  if (decidable) {
    const reason = el("input", "reason"); reason.placeholder = M["review.reason"]; reason.maxLength = 2000;
    const buttons = el("div", "buttons");
    const all = " " + fmt("review.person_all", {n: decidable});
    const add = (label, fn, name) => { const b = el("button", "", label); b.type = "button"; b.name = name; b.addEventListener("click", fn); buttons.append(b); };
    add(M["review.adult"] + all, () => decideGroup(person.id, "adult"), "adult");
    if (person.rememberable) add(M["review.remember"], () => openRemember(person.id), "remember");
    add(M["review.consent"] + all, () => openConsent(person.id), "consent");
    add(M["review.hide"] + all, () => decideGroup(person.id, "hide"), "hide");
    if (person.faces.some(f => f.pending_second)) add(M["review.confirm"], () => decideGroup(person.id, "confirm"), "confirm");
    if (person.faces.some(f => f.current)) add(M["review.clear"], () => decideGroup(person.id, "clear"), "clear");
    sec.append(reason, buttons);
  }
  return sec;
}

function renderPeople() {
  const box = $("#people"); box.replaceChildren();
  if (!(STATE.people || []).length) return;
  box.append(el("h2", "", M["review.people"]));
  for (const person of STATE.people) box.append(renderPerson(person));
}

async function decideGroup(id, kind, extra) {
  if (!reviewer()) { toast(M["review.reviewer_needed"], true); $("#reviewer").focus(); return; }
  const row = $("#person-" + id);
  const body = Object.assign({group: id, kind, reviewer: reviewer(), reason: row ? $("input.reason", row).value : ""}, extra || {});
  if (row) body.faces = Array.from(row.querySelectorAll("input.tick-face:checked")).map(b => [+b.dataset.photo, +b.dataset.face]);  // face numbers
  try {
    const res = await api("/api/decide", body);
    lastState = ""; await load();  // every photo of the person changed: draw the page again
    toast(res.known_adult ? fmt("review.remembered", res.known_adult) : M["review.saved"]);
    document.body.dataset.saved = (+document.body.dataset.saved || 0) + 1;
  } catch (e) { toast(e.message, true); }
}

function openRemember(id) {
  if (!reviewer()) { toast(M["review.reviewer_needed"], true); $("#reviewer").focus(); return; }
  rememberFor = id;
  for (const k of ["name", "role", "expires"]) $("#r-" + k).value = "";
  $("#remember").showModal(); $("#r-name").focus();
}

function todo() {
  let n = 0;
  for (const p of STATE.photos) for (const f of p.faces) if (f.flagged && f.decidable && !p.changed && (!f.current || f.pending_second)) n++;
  $("#todo").textContent = fmt("review.todo", {n});
  $("#todo").dataset.count = n;
}

function render() {
  renderPeople();
  const main = $("#photos"); main.replaceChildren();
  const errors = STATE.errors || [];
  if (errors.length) {
    // fail closed: a photo nobody could judge is named with its reason, never only counted
    const box = el("section"); box.id = "errors"; box.append(el("h2", "", M["review.errors"]));
    for (const e of errors) { const w = el("div", "warn", e.reason); w.dataset.error = e.id; box.append(w); }
    main.append(box);
  }
  if (!STATE.photos.length && !errors.length) main.append(el("p", "empty", M["review.nothing"]));
  for (const p of STATE.photos) main.append(renderPhoto(p));
  const others = Object.entries(STATE.others || {}).filter(([, n]) => n).map(([v, n]) => M["verdict." + v] + " " + n).join(" · ");
  if (others) main.append(el("p", "empty", M["review.other_photos"] + ": " + others));
  todo(); focusCard(cursor, false);
}

let lastState = "";
async function load() {
  const fresh = await api("/api/state");
  const text = JSON.stringify(fresh);
  if (text === lastState) return;  // nothing new (e.g. back to this tab): keep the page and what was typed
  lastState = text; STATE = fresh; M = STATE.messages;
  document.title = M["review.title"];
  $("h1").textContent = M["review.title"];
  $("#reviewer").placeholder = M["review.reviewer"];
  $("#keys").textContent = M["review.keys"];
  $("#search").placeholder = M["review.search"];
  $("#cancel").textContent = M["review.cancel"]; $("#r-cancel").textContent = M["review.cancel"];
  $("#r-save").textContent = M["review.remember_save"];
  for (const k of ["name", "role", "expires"]) $("#l-" + k).textContent = M["review.remember_" + k];
  render();
}

async function decide(kind, extra) {
  const cur = current(); if (!cur) return;
  if (!reviewer()) { toast(M["review.reviewer_needed"], true); $("#reviewer").focus(); return; }
  const p = STATE.photos.find(x => x.id === cur.photo); const f = p.faces.find(x => x.index === cur.face);
  const body = Object.assign({photo: cur.photo, face: cur.face + 1, kind, reviewer: reviewer(), reason: $("input.reason", cur.card).value}, extra || {});
  if (kind === "confirm") body.confirms = f.current && f.current.seq;
  try {
    const res = await api("/api/decide", body);
    const i = STATE.photos.findIndex(x => x.id === res.photo.id); STATE.photos[i] = res.photo;
    // only this photo is drawn again: the rest of the page (and its loaded images) stays
    const keep = cursor; $("#photo-" + res.photo.id).replaceWith(renderPhoto(res.photo)); todo(); toast(M["review.saved"]);
    document.body.dataset.saved = (+document.body.dataset.saved || 0) + 1;  // decisions saved by this tab
    focusCard(kind === "clear" ? keep : keep + 1);
  } catch (e) { toast(e.message, true); }
}

function openConsent(group) {
  if (!reviewer()) { toast(M["review.reviewer_needed"], true); $("#reviewer").focus(); return; }
  dialogFor = cursor; dialogGroup = (typeof group === "number") ? group : null; $("#results").replaceChildren(); $("#search").value = "";
  $("#consent").showModal(); $("#search").focus();
  // the child the face matched (too young, or not closely enough, for the match alone): shown first, for a person to confirm
  const cur = current(); const p = cur && STATE.photos.find(x => x.id === cur.photo); const f = p && p.faces.find(x => x.index === cur.face);
  if (dialogGroup === null && f && f.suggested_child) { $("#search").value = f.suggested_child; search(); }
}
async function search() {
  const q = $("#search").value.trim(); const out = $("#results"); out.replaceChildren();
  if (!q) return;
  let data; try { data = await api("/api/children?q=" + encodeURIComponent(q)); } catch (e) { toast(e.message, true); return; }
  if (!data.children.length) { out.append(el("p", "", M["review.no_match"])); return; }
  for (const c of data.children) {
    const div = el("div", "child"); div.append(el("b", "", c.name + "  "), el("small", "", c.id));
    if (c.never_publish) div.append(el("div", "consent no", M["review.never"]));
    for (const r of c.consents) {
      const line = el("div", "consent" + (r.covers ? "" : " no"));
      const scope = M["review.channels"] + ": " + r.channels.join(", ") + (r.purposes.length ? " · " + r.purposes.join(", ") : "") + (r.events.length ? " · " + r.events.join(", ") : "");
      const valid = fmt("review.valid", {from: r.valid_from, until: r.valid_until || "…"});
      const status = r.status === "withdrawn" ? M["review.withdrawn"] + " " + (r.withdrawn_on || "") : (r.covers ? M["review.covers"] : M["review.not_covers"] + (r.why ? " (" + r.why + ")" : ""));
      line.append(el("span", "", r.id + " · " + scope + " · " + valid + " · " + status + " "));
      const b = el("button", "", M["review.link"]); b.type = "button"; b.dataset.consent = r.id;
      b.disabled = r.status !== "active" || c.never_publish;
      b.addEventListener("click", () => {
        $("#consent").close();
        if (dialogGroup !== null) { decideGroup(dialogGroup, "consent", {consent_id: r.id}); return; }
        focusCard(dialogFor, false); decide("consent", {consent_id: r.id});
      });
      line.append(b); div.append(line);
    }
    out.append(div);
  }
}

document.addEventListener("keydown", (ev) => {
  if ($("#consent").open || $("#remember").open) return;
  const typing = ev.target instanceof HTMLInputElement;
  if (typing) { if (ev.key === "Escape" || ev.key === "Enter") ev.target.blur(); return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const key = ev.key.toLowerCase();
  const map = {a: () => decide("adult"), h: () => decide("hide"), c: openConsent, u: () => decide("clear"),
               y: () => { const cur = current(); if (cur && cur.card.querySelector("button[name=confirm]")) decide("confirm"); },
               j: () => focusCard(cursor + 1), arrowdown: () => focusCard(cursor + 1), n: () => focusCard(cursor + 1),
               k: () => focusCard(cursor - 1), arrowup: () => focusCard(cursor - 1), p: () => focusCard(cursor - 1),
               r: () => { const cur = current(); const i = cur && $("input.reason", cur.card); if (i) i.focus(); }};
  if (map[key]) { ev.preventDefault(); map[key](); }
});
window.addEventListener("DOMContentLoaded", () => {
  const r = $("#reviewer"); r.value = localStorage.getItem("minorguard.reviewer") || "";
  r.addEventListener("change", () => localStorage.setItem("minorguard.reviewer", r.value.trim()));
  $("#search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 200); });
  $("#cancel").addEventListener("click", () => $("#consent").close());
  $("#r-cancel").addEventListener("click", () => $("#remember").close());
  $("#r-save").addEventListener("click", () => {
    const remember = {name: $("#r-name").value.trim(), role: $("#r-role").value.trim(), expires: $("#r-expires").value.trim()};
    if (!remember.name) { $("#r-name").focus(); return; }
    $("#remember").close(); decideGroup(rememberFor, "adult", {remember});
  });
  load().catch(e => toast(e.message, true));
});
window.addEventListener("focus", () => { if (STATE) load().catch(() => {}); });
"""


def render_page(nonce: str, lang: str = "sq") -> str:
    """The page's HTML; ``nonce`` must match the response's Content-Security-Policy."""
    import json

    script = _SCRIPT.replace("__COLOURS__", json.dumps(KIND_COLOURS))
    n = html.escape(nonce, quote=True)
    return (
        f'<!DOCTYPE html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(t('review.title', lang))}</title><style nonce=\"{n}\">{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(t('review.title', lang))}</h1>"
        f'<input id="reviewer" autocomplete="name" aria-label="{html.escape(t("review.reviewer", lang))}">'
        '<span id="todo"></span><span class="keys" id="keys"></span></header>'
        '<main><div id="people"></div><div id="photos"></div></main><div id="toast" role="status"></div>'
        '<dialog id="consent"><input id="search" autocomplete="off"><div id="results"></div>'
        '<p><button type="button" id="cancel"></button></p></dialog>'
        '<dialog id="remember"><label id="l-name" for="r-name"></label><input id="r-name" maxlength="200" autocomplete="off">'
        '<label id="l-role" for="r-role"></label><input id="r-role" maxlength="200" autocomplete="off">'
        '<label id="l-expires" for="r-expires"></label><input id="r-expires" placeholder="YYYY-MM-DD" maxlength="10" autocomplete="off">'
        '<p><button type="button" id="r-save"></button> <button type="button" id="r-cancel"></button></p></dialog>'
        f'<script nonce="{n}">{script}</script></body></html>'
    )

