// must-gather-api web page. Plain JavaScript, no dependencies, no inline script.
// Every string from the API reaches the page through textContent or an attribute set
// by the DOM API, never as HTML. The token lives in this tab's sessionStorage only and
// travels in the Authorization header.
"use strict";

const TOKEN_KEY = "must-gather-api.token";
const PAGE_SIZE = 50;
const LIST_POLL_MS = 3000;
const DETAIL_POLL_MS = 2000;
const OUTPUT_MAX_CHARS = 4 * 1024 * 1024; // the oldest output is dropped beyond this
const FILE_PREVIEW_BYTES = 1024 * 1024;
// The API is beside /ui/, also behind a proxy that adds a path prefix.
const API = new URL("../must-gather", document.baseURI).pathname;
const PLANS = new URL("../forklift/plans", document.baseURI).pathname;

const $ = (selector, root = document) => root.querySelector(selector);
let view = null; // the current view's {abort: AbortController}; replaced on each route

class ApiError extends Error {
  constructor(status, detail, field, retryAfter) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.field = field || "";
    this.retryAfter = retryAfter || "";
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

async function api(path, options = {}) {
  return call(API + path, options);
}

async function call(url, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token()) headers.set("Authorization", "Bearer " + token());
  let response;
  try {
    response = await fetch(url, {
      ...options, headers, credentials: "same-origin", cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "the service cannot be reached; check the connection");
  }
  if (!response.ok) throw await problemOf(response);
  return response;
}

async function problemOf(response) {
  let detail = response.statusText || "request failed";
  let field = "";
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") detail = body.detail;
    if (body && typeof body.field === "string") field = body.field;
  } catch (_) { /* not a problem document */ }
  return new ApiError(response.status, detail, field, response.headers.get("Retry-After"));
}

function describe(error) {
  const detail = error.detail || String(error.message || error);
  switch (error.status) {
    case 401: return "Not signed in, or the token was refused (401): " + detail;
    case 403: return "Not allowed (403): " + detail;
    case 404: return "Not found (404): " + detail;
    case 429: return "Too many requests (429): " + detail +
      (error.retryAfter ? " Try again in " + error.retryAfter + " s." : "");
    case 503: return "The service is unavailable (503): " + detail;
    case 0: return detail;
    default: return (error.status ? "Error " + error.status + ": " : "Error: ") + detail;
  }
}

function showAlert(message, kind = "error") {
  const alert = $("#alert");
  alert.textContent = message;
  alert.className = kind === "info" ? "alert info" : "alert";
  alert.hidden = !message;
}

// One place for failures: a 401 asks for a token again; others are shown, never a blank page.
function fail(error) {
  if (error && error.name === "AbortError") return;
  if (error instanceof ApiError && error.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    signedIn = false;
    renderLogin();
  }
  showAlert(describe(error));
}

function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function mount(templateId) {
  const main = $("#main");
  main.replaceChildren($(templateId).content.cloneNode(true));
  const heading = $("h1", main);
  if (heading) heading.focus();
  return main;
}

function bytes(size) {
  if (!size) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
}

function when(stamp) {
  if (!stamp) return "";
  const date = new Date(stamp);
  return isNaN(date) ? stamp : date.toLocaleString();
}

function filePath(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

function setBadge(node, status) {
  node.textContent = status === "inprogress" ? "in progress" : status;
  node.classList.remove("new", "inprogress", "completed", "error");
  node.classList.add("badge", status);
}

async function saveAs(path, name) {
  const response = await api(path);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// -- sign in -------------------------------------------------------------------------

function renderLogin() {
  newView();
  $("#logout").hidden = true;
  const main = mount("#t-login");
  $("#login", main).addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("#token", main).value.trim().replace(/^Bearer\s+/i, "");
    if (!value) { showAlert("Paste a token first."); $("#token", main).focus(); return; }
    sessionStorage.setItem(TOKEN_KEY, value);
    try {
      await api("?limit=1");
    } catch (error) {
      fail(error);
      return;
    }
    showAlert("");
    signedIn = true;
    $("#logout").hidden = false;
    route();
  });
}

// -- the list ------------------------------------------------------------------------

function renderList(params) {
  const current = newView();
  const main = mount("#t-list");
  const status = $("#f-status", main);
  const name = $("#f-name", main);
  status.value = params.get("status") || "";
  name.value = params.get("name") || "";
  let offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  let timer = 0;
  let failed = false;

  const load = async () => {
    clearTimeout(timer);
    const query = new URLSearchParams({
      limit: String(PAGE_SIZE + 1), offset: String(offset), order: "desc",
    });
    if (status.value) query.set("status", status.value);
    if (name.value.trim()) query.set("custom-name", name.value.trim());
    try {
      const found = await (await api("?" + query, { signal: current.abort.signal })).json();
      if (current !== view) return;
      showRows(main, found.slice(0, PAGE_SIZE));
      $("#prev", main).disabled = offset === 0;
      $("#next", main).disabled = found.length <= PAGE_SIZE;
      const shown = Math.min(found.length, PAGE_SIZE);
      $("#range", main).textContent = shown ? `${offset + 1}–${offset + shown}` : "";
      if (failed) showAlert("");
      failed = false;
    } catch (error) {
      failed = true;
      fail(error);
      if (error instanceof ApiError && error.status === 401) return;
    }
    if (current === view) timer = setTimeout(load, LIST_POLL_MS);
  };
  const remember = () => {
    const query = new URLSearchParams();
    if (status.value) query.set("status", status.value);
    if (name.value.trim()) query.set("name", name.value.trim());
    if (offset) query.set("offset", String(offset));
    history.replaceState(null, "", "#/" + (String(query) ? "?" + query : ""));
  };
  let typing = 0;
  status.addEventListener("change", () => { offset = 0; remember(); load(); });
  name.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { offset = 0; remember(); load(); }, 300);
  });
  $("#filters", main).addEventListener("submit", (event) => event.preventDefault());
  $("#prev", main).addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE); remember(); load();
  });
  $("#next", main).addEventListener("click", () => { offset += PAGE_SIZE; remember(); load(); });
  current.abort.signal.addEventListener("abort", () => { clearTimeout(timer); clearTimeout(typing); });
  load();
}

function showRows(main, gatherings) {
  const rows = gatherings.map((g) => {
    const row = $("#t-row").content.firstElementChild.cloneNode(true);
    const link = $(".id", row);
    link.textContent = String(g.id);
    link.href = "#/g/" + encodeURIComponent(g.id);
    setBadge($(".badge", row), g.status);
    $(".name", row).textContent = g["custom-name"];
    $(".who", row).textContent = g["requested-by"];
    $(".when", row).textContent = when(g["created-at"]);
    $(".size", row).textContent = bytes(g["archive-size"]);
    return row;
  });
  $("#rows", main).replaceChildren(...rows);
  $("#empty", main).hidden = rows.length > 0;
}

// -- a new gathering -----------------------------------------------------------------

function renderNew() {
  newView();
  const main = mount("#t-new");
  const form = $("#create", main);
  offerPlans(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const body = {};
    for (const input of form.querySelectorAll("input")) {
      if (input.type === "checkbox") {
        if (input.checked) body[input.name] = true;
      } else if (input.name === "images") {
        const images = input.value.split(",").map((s) => s.trim()).filter(Boolean);
        if (images.length) body.images = images;
      } else if (input.value.trim()) {
        body[input.name] = input.value.trim();
      }
    }
    const button = $("button[type=submit]", form);
    button.disabled = true;
    try {
      const response = await api("", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const created = await response.json();
      showAlert("");
      location.hash = "#/g/" + encodeURIComponent(created.id);
    } catch (error) {
      button.disabled = false;
      const field = error instanceof ApiError && error.field
        ? form.querySelector(`[name="${CSS.escape(error.field.split(".")[0])}"]`) : null;
      if (field) {
        showFieldError(field, error.detail);
        showAlert("The gathering was not started: the field marked below needs a change.");
      } else {
        fail(error);
      }
    }
  });
}

// The Plans (and their VMs) the caller may list; picking one writes the targeted command.
async function offerPlans(form) {
  let found;
  try {
    const response = await call(PLANS);
    found = await response.json();
  } catch (_) {
    return; // the picker is a convenience: the command field still works by hand
  }
  const box = $("#forklift", form);
  const plans = $("#p-plan", form);
  const vms = $("#p-vm", form);
  const command = $("#p-command", form);
  const name = $("#p-custom-name", form);
  if (!found.items || !found.items.length) {
    if (found.note) {
      box.hidden = false;
      plans.disabled = true;
      $("#p-plan-hint", form).textContent = found.note;
    }
    return;
  }
  found.items.forEach((plan, i) => {
    plans.append(el("option", { value: String(i) }, plan.namespace + "/" + plan.name));
  });
  box.hidden = false;
  const chosen = () => (plans.value === "" ? null : found.items[Number(plans.value)]);
  const write = () => {
    const plan = chosen();
    if (!plan) return;
    const vm = vms.value === "" ? null : plan.vms[Number(vms.value)];
    command.value = vm
      ? `NS=${plan.namespace} VM=${vm.name || vm.id} /usr/bin/targeted`
      : `NS=${plan.namespace} PLAN=${plan.name} /usr/bin/targeted`;
    name.value = vm ? `vm:${vm.name || vm.id}` : `plan:${plan.name}`;
  };
  plans.addEventListener("change", () => {
    vms.replaceChildren(el("option", { value: "" }, "(the whole plan)"));
    const plan = chosen();
    vms.disabled = !plan || !plan.vms.length;
    if (plan) plan.vms.forEach((vm, i) => vms.append(el("option", { value: String(i) }, vm.name || vm.id)));
    write();
  });
  vms.addEventListener("change", write);
}

function showFieldError(input, message) {
  const id = input.id + "-error";
  const note = el("p", { id, class: "error-text" }, message);
  input.closest(".field").append(note);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
  input.focus();
}

function clearFieldErrors(form) {
  for (const note of form.querySelectorAll(".error-text")) note.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

// -- one gathering -------------------------------------------------------------------

function renderDetail(id) {
  const current = newView();
  const main = mount("#t-detail");
  $(".g-id", main).textContent = id;
  const files = $(".g-files", main);
  files.href = "#/g/" + encodeURIComponent(id) + "/files";
  let gathering = null;
  let timer = 0;
  let summaryShown = false;

  const refresh = async () => {
    clearTimeout(timer);
    try {
      const response = await api("/" + encodeURIComponent(id), { signal: current.abort.signal });
      gathering = await response.json();
    } catch (error) {
      fail(error);
      return;
    }
    if (current !== view) return;
    showGathering(main, gathering);
    const finished = gathering.status === "completed" || gathering.status === "error";
    if (finished && gathering["archive-size"] > 0 && !summaryShown) {
      summaryShown = true;
      showFindings(main, id, current);
    }
    if (!finished) timer = setTimeout(refresh, DETAIL_POLL_MS);
  };
  current.abort.signal.addEventListener("abort", () => clearTimeout(timer));

  $(".g-download", main).addEventListener("click", async () => {
    try {
      await saveAs("/" + encodeURIComponent(id) + "/data", gathering["archive-name"] || "must-gather.tar.gz");
    } catch (error) { fail(error); }
  });
  $(".g-cancel", main).addEventListener("click", async () => {
    try {
      await api("/" + encodeURIComponent(id), { method: "DELETE" });
      showAlert("Gathering " + id + " was cancelled.", "info");
      refresh();
    } catch (error) { fail(error); }
  });
  $(".g-delete", main).addEventListener("click", async () => {
    if (!confirm("Delete gathering " + id + " and its archive?")) return;
    try {
      await api("/" + encodeURIComponent(id), { method: "DELETE" });
      showAlert("Gathering " + id + " was deleted.", "info");
      location.hash = "#/";
    } catch (error) { fail(error); }
  });
  refresh();
  followOutput(main, id, current).then(() => { if (current === view) refresh(); });
}

function showGathering(main, g) {
  setBadge($(".g-status", main), g.status);
  $(".g-name", main).textContent = g["custom-name"];
  const finished = g.status === "completed" || g.status === "error";
  const hasArchive = finished && g["archive-size"] > 0 && !g["archive-removed"];
  $(".g-download", main).hidden = !hasArchive;
  $(".g-files", main).hidden = !hasArchive;
  $(".g-cancel", main).hidden = finished;
  $(".g-delete", main).hidden = !finished;
  const facts = [
    ["Status", g.status],
    ["Why it failed", g["error-reason"]],
    ["Requested by", g["requested-by"]],
    ["Image", [g.image, ...(g.images || [])].filter(Boolean).join(", ")],
    ["Image stream", g["image-stream"]],
    ["Command", g.command],
    ["Node selector", g["node-selector"]],
    ["Since", g.since || g["since-time"]],
    ["Timeout", g.timeout],
    ["Created", when(g["created-at"])],
    ["Started", when(g["started-at"])],
    ["Finished", when(g["finished-at"])],
    ["Archive", g["archive-size"] ? `${g["archive-name"]}, ${bytes(g["archive-size"])} (${g["archive-size"]} bytes)` : ""],
    ["SHA-256", g["archive-sha256"]],
    ["Archive removed", g["archive-removed"]],
  ];
  const nodes = [];
  for (const [label, value] of facts) {
    if (!value) continue;
    nodes.push(el("dt", {}, label));
    const dd = el("dd", label === "SHA-256" || label === "Command" ? { class: "mono" } : {}, value);
    if (label === "SHA-256") dd.dataset.sha256 = value;
    nodes.push(dd);
  }
  $(".g-facts", main).replaceChildren(...nodes);
}

// Streams /logs?follow=true into the page. Text is appended in batches once per frame,
// as text nodes; beyond OUTPUT_MAX_CHARS the oldest nodes are dropped.
async function followOutput(main, id, current) {
  const pre = $(".g-output", main);
  const state = $(".g-follow", main);
  const decoder = new TextDecoder();
  let pending = "";
  let scheduled = false;
  let total = 0;
  const flush = () => {
    scheduled = false;
    if (!pending) return;
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
    pre.append(document.createTextNode(pending));
    total += pending.length;
    pending = "";
    while (total > OUTPUT_MAX_CHARS && pre.firstChild) {
      total -= pre.firstChild.textContent.length;
      pre.firstChild.remove();
    }
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  };
  state.textContent = "(following)";
  try {
    const response = await api("/" + encodeURIComponent(id) + "/logs?follow=true",
      { signal: current.abort.signal });
    const reader = response.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      if (!scheduled) { scheduled = true; requestAnimationFrame(flush); }
    }
    pending += decoder.decode();
    flush();
    state.textContent = "(complete)";
  } catch (error) {
    if (error.name === "AbortError") return;
    state.textContent = "";
    fail(error);
  }
}

async function showFindings(main, id, current) {
  let summary;
  try {
    summary = await (await api("/" + encodeURIComponent(id) + "/summary",
      { signal: current.abort.signal })).json();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return;
    fail(error);
    return;
  }
  if (current !== view) return;
  const section = $(".g-findings-section", main);
  const counts = summary.counts || {};
  $(".g-counts", main).textContent = Object.keys(counts).length
    ? Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ") : "Nothing found to report.";
  const items = (summary.findings || []).map((finding) => {
    const item = el("li");
    item.append(el("span", { class: "sev " + finding.severity }, finding.severity));
    const where = [finding.area, finding.object].filter(Boolean).join(" ");
    item.append(document.createTextNode((where ? where + ": " : "") + (finding.message || finding.reason || "")));
    for (const path of finding.evidence || []) {
      item.append(document.createTextNode(" "));
      item.append(el("a", { href: "#/g/" + encodeURIComponent(id) + "/files/" + filePath(path) }, path));
    }
    return item;
  });
  const products = (summary.products || []).map((p) => p.product + " " + p.version).join(", ");
  if (products) {
    const item = el("li");
    item.append(el("span", { class: "sev info" }, "product"), document.createTextNode(products));
    items.unshift(item);
  }
  $(".g-findings", main).replaceChildren(...items);
  section.hidden = false;
}

// -- the files of an archive ---------------------------------------------------------

function renderFiles(id, path) {
  const current = newView();
  const main = mount("#t-files");
  const back = $(".f-back", main);
  back.textContent = id;
  back.href = "#/g/" + encodeURIComponent(id);
  const prefix = $("#f-prefix", main);
  let typing = 0;
  const list = async () => {
    const query = new URLSearchParams({ limit: "1000" });
    if (prefix.value) query.set("prefix", prefix.value);
    try {
      const found = await (await api("/" + encodeURIComponent(id) + "/files?" + query,
        { signal: current.abort.signal })).json();
      if (current !== view) return;
      const items = found.items.filter((item) => item.type === "file").map((item) => {
        const li = el("li");
        const link = el("a", { href: "#/g/" + encodeURIComponent(id) + "/files/" + filePath(item.path) }, item.path);
        if (item.path === path) link.setAttribute("aria-current", "true");
        li.append(link, el("span", { class: "muted num" }, bytes(item.size) || "0 B"));
        return li;
      });
      $(".f-list", main).replaceChildren(...items);
      $(".f-total", main).textContent = `${items.length} files` +
        (found.total > found.items.length ? ` among the first ${found.items.length} of ${found.total} entries` : "");
    } catch (error) { fail(error); }
  };
  prefix.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(list, 250); });
  list();
  if (path) showFile(main, id, path, current);
}

async function showFile(main, id, path, current) {
  $(".f-path", main).textContent = path;
  const url = "/" + encodeURIComponent(id) + "/files/" + filePath(path);
  const download = $(".f-download", main);
  download.hidden = false;
  download.addEventListener("click", async () => {
    try { await saveAs(url + "?download=true", path.split("/").pop()); } catch (error) { fail(error); }
  });
  try {
    const response = await api(url, {
      headers: { Range: `bytes=0-${FILE_PREVIEW_BYTES - 1}` }, signal: current.abort.signal,
    });
    const type = response.headers.get("Content-Type") || "";
    const content = $(".f-content", main);
    if (!type.startsWith("text/") && !type.startsWith("application/json")) {
      $(".f-note", main).textContent = "This file is not text (" + type + "); download it to open it.";
      return;
    }
    const text = await response.text();
    const range = response.headers.get("Content-Range");
    const size = range ? range.split("/")[1] : "";
    if (response.status === 206 && size && Number(size) > FILE_PREVIEW_BYTES) {
      $(".f-note", main).textContent = `The first ${bytes(FILE_PREVIEW_BYTES)} of ${bytes(Number(size))}; download it for the rest.`;
    }
    content.textContent = text;
    content.hidden = false;
  } catch (error) { fail(error); }
}

// -- routing -------------------------------------------------------------------------

function newView() {
  if (view) view.abort.abort();
  view = { abort: new AbortController() };
  return view;
}

function route() {
  const hash = location.hash || "#/";
  if (!hash.startsWith("#/")) return; // in-page anchors such as #main
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  let match;
  if ((match = path.match(/^\/g\/(\d+)\/files(?:\/(.*))?$/))) {
    renderFiles(match[1], match[2] ? match[2].split("/").map(decodeURIComponent).join("/") : "");
  } else if ((match = path.match(/^\/g\/(\d+)$/))) {
    renderDetail(match[1]);
  } else if (path === "/new") {
    renderNew();
  } else {
    renderList(params);
  }
}

let signedIn = false;

async function start() {
  $("#logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    signedIn = false;
    renderLogin();
    showAlert("Signed out.", "info");
  });
  window.addEventListener("hashchange", () => { if (signedIn) route(); });
  // Behind an oauth-proxy or the console the token arrives in a header: no sign-in then.
  try {
    await api("?limit=1");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      const refused = token() !== "";
      sessionStorage.removeItem(TOKEN_KEY);
      renderLogin();
      if (refused) showAlert(describe(error));
      return;
    }
    fail(error);
    return;
  }
  signedIn = true;
  $("#logout").hidden = !token();
  route();
}

start();
