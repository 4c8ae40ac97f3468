// Voces in the browser: search, testimony, upload, themes and review pages over the
// /api/v1 routes, with the same access rules (a page shows what the API gives its key).
// No framework, no build step, nothing fetched from outside this server.
"use strict";

// -- interface language --------------------------------------------------------------------
const TEXT = {
  es: {
    skip: "Saltar al contenido", search: "Buscar", themes: "Temas", upload: "Subir", review: "Revisar",
    signin: "Entrar con clave", signout: "Salir", signedAs: "Sesión: {role}", anonymous: "Sin sesión: solo material público",
    roles: { researcher: "investigador/a", archivist: "archivista", admin: "administrador/a" },
    keyTitle: "Entrar con una clave API", keyHelp: "Pida una clave a quien administra el archivo (voces keys create). Se guarda solo en esta pestaña.",
    keyLabel: "Clave API", keyOk: "Entrar", cancel: "Cancelar", keyBad: "La clave no es válida o fue revocada.",
    searchTitle: "Buscar testimonios", query: "¿Qué busca? (en español o inglés)", queryPlaceholder: "el río se volvió naranja / they took our land",
    region: "Región", community: "Comunidad", theme: "Tema", language: "Idioma", since: "Desde", until: "Hasta", any: "cualquiera",
    dateHint: "AAAA, AAAA-MM o AAAA-MM-DD", go: "Buscar", results: "{n} testimonios", noResults: "No se encontraron pasajes.",
    searching: "Buscando…", playFrom: "Escuchar desde {t}", elsewhere: "La misma historia en otras regiones",
    elsewhereTitle: "Historias parecidas en otras regiones", noElsewhere: "Nada parecido en otras regiones.",
    openTestimony: "Abrir testimonio", matched: "{n} pasajes coinciden", nowPlaying: "Escuchando: {title}",
    consent: { public: "público", restricted: "restringido", private: "privado" }, illustrative: "ilustrativo",
    illustrativeNote: "Testimonio ilustrativo: escrito para la demostración a partir de hechos públicos; no es el relato de una persona real.",
    date: "Fecha", duration: "Duración", source: "Fuente", recording: "grabación", typed: "texto escrito",
    transcript: "Transcripción", themesHere: "Temas de este testimonio", why: "Por qué", seekTo: "Ir a {t}",
    accept: "Aceptar", reject: "Rechazar", addTheme: "Añadir tema", add: "Añadir", correct: "Corregir texto", save: "Guardar",
    noteLabel: "Nota (opcional)", history: "Historial de correcciones ({n})", saved: "Guardado. Los tiempos no cambian.",
    notFound: "No encontrado, o no visible con su sesión.", noAudio: "Sin grabación disponible para su sesión.",
    uploadTitle: "Subir grabaciones y testimonios escritos", needArchivist: "Subir necesita la clave de un/a archivista.",
    dropHere: "Arrastre aquí archivos (audio o .txt/.jsonl/.csv)", chooseFiles: "Elegir archivos", metadata: "Datos del testimonio",
    title: "Título", consentLabel: "Consentimiento", consentHelp: "público: cualquiera; restringido: investigadores; privado: solo archivistas",
    allowNames: "La persona aceptó ser nombrada", manifest: "Manifiesto CSV/JSONL (opcional: datos por archivo)", languageAuto: "detectar",
    send: "Subir", queued: "en cola", running: "procesando", done: "listo", failed: "falló", uploading: "enviando",
    chooseConsent: "Elija un consentimiento.", chooseAFile: "Elija al menos un archivo.", stored: "Guardado: {id}",
    themesTitle: "Temas por región y en el tiempo", groupBy: "Agrupar por", byRegion: "región", byCommunity: "comunidad",
    byLanguage: "idioma", byYear: "año", heatmapLabel: "Mapa de calor: proporción estimada de pasajes por tema y {by}",
    estimated: "proporción estimada", interval: "intervalo 90 %", testimonies: "testimonios", passages: "pasajes",
    downloadCsv: "Descargar CSV", downloadSvg: "Descargar SVG", downloadPng: "Descargar PNG", trend: "Tendencia por año",
    quotesFor: "Citas: {theme} · {group}", noQuotes: "Sin citas visibles.", pickCell: "Elija una celda para ver citas.",
    shareNote: "Proporciones corregidas por los errores medidos del etiquetador, con intervalo del 90 %; «—» cuando el etiquetador apenas distingue el tema.",
    tableView: "Ver como tabla", emergent: "Temas emergentes (archivistas)", discover: "Buscar temas emergentes",
    emergentNone: "Sin grupos: todo está etiquetado o lo no etiquetado está disperso.", nearest: "tema más cercano",
    promoteHint: "Para convertir el grupo {n} en tema: voces themes promote {n} ID_DEL_TEMA",
    reviewTitle: "Cola de revisión", reviewHelp: "Los pasajes cuya revisión más enseña al etiquetador. Teclas: {y} sí, {n} no, {s} saltar.",
    question: "¿Habla este pasaje de «{theme}»?", yes: "Sí", no: "No", skipOne: "Saltar", reviewed: "Revisiones registradas",
    queueEmpty: "No quedan pasajes por revisar.", machineSays: "El etiquetador: {score} ({tagged})", tagged: "lo etiqueta", untagged: "no lo etiqueta",
    voices: "Hablantes", onePassage: "1 pasaje", wordsToCheck: "{n} palabras por revisar", oneToCheck: "1 palabra por revisar", noneToCheck: "Ninguna palabra dudosa",
    nextDoubt: "Siguiente palabra dudosa", doubtTitle: "Whisper no estaba seguro de esta palabra (p={p})", editedWord: "Palabra corregida (tiempo interpolado)",
    checkHelp: "Palabras con subrayado punteado: Whisper dudó al oírlas; revíselas primero.",
    exportAs: "Exportar", loading: "Cargando…", error: "Error: {m}", footer: "Voces — archivo de testimonios, sin conexión. Los testimonios marcados «ilustrativo» fueron escritos para la demostración.",
  },
  en: {
    skip: "Skip to content", search: "Search", themes: "Themes", upload: "Upload", review: "Review",
    signin: "Sign in with key", signout: "Sign out", signedAs: "Signed in: {role}", anonymous: "Signed out: public material only",
    roles: { researcher: "researcher", archivist: "archivist", admin: "admin" },
    keyTitle: "Sign in with an API key", keyHelp: "Ask the archive's administrator for a key (voces keys create). It is kept in this tab only.",
    keyLabel: "API key", keyOk: "Sign in", cancel: "Cancel", keyBad: "The key is not valid or has been revoked.",
    searchTitle: "Search testimonies", query: "What are you looking for? (Spanish or English)", queryPlaceholder: "the river turned orange / nos quitaron la tierra",
    region: "Region", community: "Community", theme: "Theme", language: "Language", since: "From", until: "To", any: "any",
    dateHint: "YYYY, YYYY-MM or YYYY-MM-DD", go: "Search", results: "{n} testimonies", noResults: "No passages found.",
    searching: "Searching…", playFrom: "Play from {t}", elsewhere: "The same story in other regions",
    elsewhereTitle: "Similar stories from other regions", noElsewhere: "Nothing similar in other regions.",
    openTestimony: "Open testimony", matched: "{n} passages match", nowPlaying: "Playing: {title}",
    consent: { public: "public", restricted: "restricted", private: "private" }, illustrative: "illustrative",
    illustrativeNote: "Illustrative testimony: written for the demo from public facts; not a real person's account.",
    date: "Date", duration: "Duration", source: "Source", recording: "recording", typed: "typed text",
    transcript: "Transcript", themesHere: "Themes in this testimony", why: "Why", seekTo: "Go to {t}",
    accept: "Accept", reject: "Reject", addTheme: "Add theme", add: "Add", correct: "Correct text", save: "Save",
    noteLabel: "Note (optional)", history: "Correction history ({n})", saved: "Saved. The times are unchanged.",
    notFound: "Not found, or not visible to you.", noAudio: "No recording available to you.",
    uploadTitle: "Upload recordings and typed testimonies", needArchivist: "Uploading needs an archivist's key.",
    dropHere: "Drop files here (audio or .txt/.jsonl/.csv)", chooseFiles: "Choose files", metadata: "About the testimony",
    title: "Title", consentLabel: "Consent", consentHelp: "public: anyone; restricted: researchers; private: archivists only",
    allowNames: "The witness agreed to be named", manifest: "CSV/JSONL manifest (optional: metadata per file)", languageAuto: "detect",
    send: "Upload", queued: "queued", running: "processing", done: "done", failed: "failed", uploading: "sending",
    chooseConsent: "Choose a consent level.", chooseAFile: "Choose at least one file.", stored: "Stored: {id}",
    themesTitle: "Themes by region and over time", groupBy: "Group by", byRegion: "region", byCommunity: "community",
    byLanguage: "language", byYear: "year", heatmapLabel: "Heatmap: estimated share of passages per theme and {by}",
    estimated: "estimated share", interval: "90% interval", testimonies: "testimonies", passages: "passages",
    downloadCsv: "Download CSV", downloadSvg: "Download SVG", downloadPng: "Download PNG", trend: "Trend by year",
    quotesFor: "Quotes: {theme} · {group}", noQuotes: "No visible quotes.", pickCell: "Pick a cell to see quotes.",
    shareNote: "Shares corrected for the tagger's measured errors, with a 90% interval; \u201c—\u201d where the tagger barely tells the theme apart.",
    tableView: "Show as a table", emergent: "Emergent themes (archivists)", discover: "Look for emergent themes",
    emergentNone: "No clusters: everything is tagged, or the untagged passages are scattered.", nearest: "nearest theme",
    promoteHint: "To make cluster {n} a theme: voces themes promote {n} THEME_ID",
    reviewTitle: "Review queue", reviewHelp: "The passages whose review teaches the tagger most. Keys: {y} yes, {n} no, {s} skip.",
    question: "Is this passage about \u201c{theme}\u201d?", yes: "Yes", no: "No", skipOne: "Skip", reviewed: "Reviews recorded",
    queueEmpty: "Nothing left to review.", machineSays: "The tagger: {score} ({tagged})", tagged: "tags it", untagged: "does not tag it",
    voices: "Speakers", onePassage: "1 passage", wordsToCheck: "{n} words to check", oneToCheck: "1 word to check", noneToCheck: "No doubtful words",
    nextDoubt: "Next word to check", doubtTitle: "Whisper was unsure of this word (p={p})", editedWord: "Corrected word (time interpolated)",
    checkHelp: "Words with a dotted underline: Whisper was unsure when it heard them; check them first.",
    exportAs: "Export", loading: "Loading…", error: "Error: {m}", footer: "Voces — an offline archive of testimonies. Testimonies marked \u201cillustrative\u201d were written for the demo.",
  },
};
const state = {
  lang: localStorage.getItem("voces.lang") === "en" ? "en" : "es",
  key: sessionStorage.getItem("voces.key") || "",
  role: "anonymous",
  taxonomy: null,
  regions: [],
};
function t(name, vars = {}) {
  const value = name.split(".").reduce((o, k) => (o == null ? o : o[k]), TEXT[state.lang]);
  return String(value ?? name).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
}

// -- small helpers --------------------------------------------------------------------------
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function clock(seconds) {
  if (seconds == null) return "";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}
const pct = (x) => (x == null ? "—" : `${Math.round(x * 100)}%`);
function themeLabel(id) {
  const th = state.taxonomy && state.taxonomy.themes.find((x) => x.id === id);
  return th ? th.label[state.lang] || th.label.en || id : id;
}
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (state.key) headers.set("Authorization", `Bearer ${state.key}`);
  const response = await fetch(path, { ...options, headers });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    throw new ApiError(response.status, message);
  }
  return body;
}
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url; a.download = name; document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
function highlight(text, spans) {
  let out = "", at = 0;
  for (const [a, b] of [...(spans || [])].sort((x, y) => x[0] - y[0])) {
    if (a < at) continue;
    out += esc(text.slice(at, a)) + `<mark>${esc(text.slice(a, b))}</mark>`;
    at = b;
  }
  return out + esc(text.slice(at));
}
const options = (items, selected) => items.map(([v, label]) => `<option value="${esc(v)}"${v === selected ? " selected" : ""}>${esc(label)}</option>`).join("");

// -- the shared player ----------------------------------------------------------------------
const player = () => $("#player");
async function mediaUrl(testimonyId) {
  const link = await api(`/api/v1/testimonies/${encodeURIComponent(testimonyId)}/audio-link`);
  return link.url;
}
async function playAt(testimonyId, start, title, audio = player()) {
  const url = await mediaUrl(testimonyId);
  if (audio === player()) {
    $("#playerbar").hidden = false;
    $("#now-playing").textContent = t("nowPlaying", { title });
  }
  if (audio.dataset.testimony !== testimonyId) {
    audio.dataset.testimony = testimonyId;
    audio.src = url;
    await new Promise((resolve) => {
      audio.addEventListener("loadedmetadata", resolve, { once: true });
      audio.load();
    });
  }
  audio.currentTime = start || 0;
  try { await audio.play(); } catch (e) { /* a browser may refuse to start sound; the position is set */ }
}

// -- session and chrome ---------------------------------------------------------------------
async function loadSession() {
  try {
    const health = await api("/api/v1/health");
    state.role = health.role;
  } catch (e) {
    if (e.status === 401) { state.key = ""; sessionStorage.removeItem("voces.key"); state.role = "anonymous"; }
  }
  const themes = await api("/api/v1/themes?by=region");
  state.taxonomy = { version: themes.version, themes: themes.themes };
  state.regions = [...new Set(themes.counts.map((c) => c.group).filter(Boolean))].sort();
}
const canWrite = () => state.role === "archivist" || state.role === "admin";
function chrome() {
  document.documentElement.lang = state.lang;
  $$("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  const pages = [["/", "search"], ["/themes", "themes"]];
  if (canWrite()) pages.push(["/upload", "upload"], ["/review", "review"]);
  const here = location.pathname === "/search" ? "/" : location.pathname;
  $("#nav").innerHTML = pages.map(([href, name]) => `<a href="${href}" data-link${here === href ? ' aria-current="page"' : ""}>${esc(t(name))}</a>`).join("");
  $("#who").textContent = state.role === "anonymous" ? t("anonymous") : t("signedAs", { role: t(`roles.${state.role}`) });
  $("#signin-button").textContent = state.role === "anonymous" ? t("signin") : t("signout");
  const other = state.lang === "es" ? "en" : "es";
  $("#lang-button").textContent = other === "en" ? "English" : "Español";
  $("#lang-button").lang = other;
  $("#foot").textContent = t("footer");
  for (const [id, name] of [["signin-title", "keyTitle"], ["signin-help", "keyHelp"], ["signin-label", "keyLabel"], ["signin-ok", "keyOk"], ["signin-cancel", "cancel"]]) $(`#${id}`).textContent = t(name);
}
function setupChrome() {
  $("#lang-button").addEventListener("click", () => {
    state.lang = state.lang === "es" ? "en" : "es";
    localStorage.setItem("voces.lang", state.lang);
    render();
  });
  $("#signin-button").addEventListener("click", async () => {
    if (state.role !== "anonymous") {
      state.key = ""; sessionStorage.removeItem("voces.key");
      player().pause(); player().removeAttribute("src"); delete player().dataset.testimony; $("#playerbar").hidden = true;
      await loadSession(); render(); return;
    }
    $("#signin-error").textContent = ""; $("#signin-key").value = "";
    $("#signin").showModal();
  });
  $("#signin-cancel").addEventListener("click", () => $("#signin").close());
  $("#signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const previous = state.key;
    state.key = $("#signin-key").value.trim();
    try {
      const health = await api("/api/v1/health");
      state.role = health.role;
      sessionStorage.setItem("voces.key", state.key);
      $("#signin").close();
      await loadSession(); render();
    } catch (e) {
      state.key = previous;
      $("#signin-error").textContent = t("keyBad");
    }
  });
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-link]");
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || a.target) return;
    ev.preventDefault();
    navigate(a.getAttribute("href"));
  });
  window.addEventListener("popstate", () => render());
}
function navigate(href, replace = false) {
  history[replace ? "replaceState" : "pushState"](null, "", href);
  render();
}

// -- router ---------------------------------------------------------------------------------
const ROUTES = [
  [/^\/(search)?$/, searchPage],
  [/^\/testimonies\/([^/]+)$/, testimonyPage],
  [/^\/upload$/, uploadPage],
  [/^\/themes$/, themesPage],
  [/^\/review$/, reviewPage],
];
let cleanup = [];
async function render() {
  cleanup.forEach((fn) => fn()); cleanup = [];
  chrome();
  const main = $("#main");
  const found = ROUTES.map(([re, fn]) => [location.pathname.match(re), fn]).find(([m]) => m);
  main.innerHTML = `<p>${esc(t("loading"))}</p>`;
  try {
    if (!found) throw new ApiError(404, t("notFound"));
    await found[1](main, ...found[0].slice(1).map(decodeURIComponent));
  } catch (e) {
    main.innerHTML = `<h1>Voces</h1><p class="note" role="alert">${esc(e.status === 404 ? t("notFound") : t("error", { m: e.message }))}</p>`;
  }
}

// -- search ---------------------------------------------------------------------------------
async function searchPage(main) {
  const q = new URLSearchParams(location.search);
  const themes = state.taxonomy.themes.map((th) => [th.id, themeLabel(th.id)]);
  document.title = `${t("search")} — Voces`;
  main.innerHTML = `
    <h1>${esc(t("searchTitle"))}</h1>
    <form id="search" role="search">
      <div class="row">
        <div class="field grow"><label for="q">${esc(t("query"))}</label>
          <input id="q" name="q" type="search" required value="${esc(q.get("q") || "")}" placeholder="${esc(t("queryPlaceholder"))}"></div>
        <button class="primary">${esc(t("go"))}</button>
      </div>
      <div class="row">
        <div class="field"><label for="f-region">${esc(t("region"))}</label>
          <select id="f-region" name="region"><option value="">${esc(t("any"))}</option>${options(state.regions.map((r) => [r, r]), q.get("region") || "")}</select></div>
        <div class="field"><label for="f-community">${esc(t("community"))}</label>
          <input id="f-community" name="community" value="${esc(q.get("community") || "")}"></div>
        <div class="field"><label for="f-theme">${esc(t("theme"))}</label>
          <select id="f-theme" name="theme"><option value="">${esc(t("any"))}</option>${options(themes, q.get("theme") || "")}</select></div>
        <div class="field"><label for="f-language">${esc(t("language"))}</label>
          <select id="f-language" name="language"><option value="">${esc(t("any"))}</option>${options([["es", "español"], ["en", "English"], ["qu", "runasimi"]], q.get("language") || "")}</select></div>
        <div class="field"><label for="f-since">${esc(t("since"))}</label>
          <input id="f-since" name="since" size="14" placeholder="${esc(t("dateHint"))}" value="${esc(q.get("since") || "")}"></div>
        <div class="field"><label for="f-until">${esc(t("until"))}</label>
          <input id="f-until" name="until" size="14" placeholder="${esc(t("dateHint"))}" value="${esc(q.get("until") || "")}"></div>
      </div>
    </form>
    <p id="status" class="muted" aria-live="polite"></p>
    <ol class="hits" id="hits"></ol>`;
  $("#search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams([...new FormData(ev.target)].filter(([, v]) => v));
    navigate(`/search?${params}`);
  });
  $("#hits").addEventListener("click", onHitClick);
  if (q.get("q")) await runSearch(q);
}
async function runSearch(q) {
  const params = new URLSearchParams([...q].filter(([k, v]) => v && ["q", "region", "community", "theme", "language", "since", "until"].includes(k)));
  params.set("k", "10");
  $("#status").textContent = t("searching");
  try {
    const res = await api(`/api/v1/search?${params}`);
    $("#status").textContent = res.hits.length ? t("results", { n: res.hits.length }) : t("noResults");
    $("#hits").innerHTML = res.hits.map(hitHtml).join("");
  } catch (e) {
    $("#status").textContent = t("error", { m: e.message });
  }
}
function hitHtml(h) {
  const where = [h.region, h.community].filter(Boolean).join(", ");
  const when = h.start != null ? ` · ${clock(h.start)}–${clock(h.end)}` : "";
  const href = `/testimonies/${encodeURIComponent(h.testimony_id)}#p${h.passage_id}`;
  const play = h.audio_url
    ? `<button type="button" data-play="${esc(h.testimony_id)}" data-start="${h.start ?? 0}" data-title="${esc(h.title)}">▶ ${esc(t("playFrom", { t: clock(h.start) }))}</button>` : "";
  return `<li class="hit" data-testimony="${esc(h.testimony_id)}">
    <h2><a href="${href}" data-link>${esc(h.title || h.testimony_id)}</a></h2>
    <div class="meta">${esc(where)} · ${esc(h.language)} · ${esc(h.date)}${when}${h.matched > 1 ? " · " + esc(t("matched", { n: h.matched })) : ""}</div>
    <p>${h.context_before ? `<span class="context">${esc(h.context_before)} </span>` : ""}${highlight(h.text, h.highlights)}${h.context_after ? `<span class="context"> ${esc(h.context_after)}</span>` : ""}</p>
    <div>${h.themes.map((th) => `<span class="chip">${esc(themeLabel(th))}</span>`).join("")}</div>
    <div class="actions">${play}<button type="button" data-similar="${esc(h.testimony_id)}" aria-expanded="false">${esc(t("elsewhere"))}</button></div>
    <div class="similar" hidden></div>
  </li>`;
}
async function onHitClick(ev) {
  const playing = ev.target.closest("[data-play]");
  if (playing) {
    await playAt(playing.dataset.play, Number(playing.dataset.start), playing.dataset.title);
    return;
  }
  const similar = ev.target.closest("[data-similar]");
  if (!similar) return;
  const box = similar.closest("li").querySelector(".similar");
  if (!box.hidden) { box.hidden = true; similar.setAttribute("aria-expanded", "false"); return; }
  const res = await api(`/api/v1/testimonies/${encodeURIComponent(similar.dataset.similar)}/similar?other_regions=true&k=5`);
  box.innerHTML = `<h3>${esc(t("elsewhereTitle"))}</h3>` + (res.similar.length
    ? `<ol class="hits">${res.similar.map((s) => hitHtml(s.passage)).join("")}</ol>` : `<p>${esc(t("noElsewhere"))}</p>`);
  box.hidden = false;
  similar.setAttribute("aria-expanded", "true");
}

// -- testimony ------------------------------------------------------------------------------
async function testimonyPage(main, id) {
  const doc = await api(`/api/v1/testimonies/${encodeURIComponent(id)}`);
  document.title = `${doc.title || doc.id} — Voces`;
  const voices = pageVoices = voiceBook(doc);
  const writer = canWrite();
  const themeIds = state.taxonomy.themes.map((th) => th.id);
  main.innerHTML = `
    <h1>${esc(doc.title || doc.id)}<span class="badge ${esc(doc.consent)}">${esc(t(`consent.${doc.consent}`))}</span>${doc.illustrative ? `<span class="badge illustrative">${esc(t("illustrative"))}</span>` : ""}</h1>
    ${doc.illustrative ? `<p class="note">${esc(t("illustrativeNote"))}</p>` : ""}
    <div class="layout">
      <aside class="side">
        <dl class="facts">
          <dt>${esc(t("region"))}</dt><dd>${esc(doc.region)}</dd>
          <dt>${esc(t("community"))}</dt><dd>${esc(doc.community)}</dd>
          <dt>${esc(t("date"))}</dt><dd>${esc(doc.date)}</dd>
          <dt>${esc(t("language"))}</dt><dd>${esc(doc.language)}</dd>
          ${doc.duration ? `<dt>${esc(t("duration"))}</dt><dd>${clock(doc.duration)}</dd>` : ""}
          <dt>${esc(t("source"))}</dt><dd>${esc(t(doc.source_kind === "audio" ? "recording" : "typed"))}</dd>
        </dl>
        ${doc.audio_url ? `<audio id="testimony-audio" controls preload="none"></audio>` : doc.source_kind === "audio" ? `<p class="muted">${esc(t("noAudio"))}</p>` : ""}
        ${voices.marked ? `<h2>${esc(t("voices"))}</h2><ul class="voices">${voices.labels.map((l) => `<li><span class="voice-name voice-${voices.index(l)}">${esc(voices.shown[l])}</span> <span class="muted">${voices.shown[l].includes(l) ? "" : `${esc(l)} · `}${voices.count[l] === 1 ? esc(t("onePassage")) : `${voices.count[l]} ${esc(t("passages"))}`}</span></li>`).join("")}</ul>` : ""}
        <h2>${esc(t("exportAs"))}</h2>
        <div class="actions" id="exports">${(doc.source_kind === "audio" ? ["vtt", "srt", "txt", "json", "csv", "ohms", "iiif"] : ["txt", "json", "csv", "jsonl"]).map((f) => `<button type="button" data-export="${f}">${f.toUpperCase()}</button>`).join("")}</div>
        <h2>${esc(t("themesHere"))}</h2>
        <ul>${doc.themes.map((th) => `<li><a href="#p${th.passages[0]}">${esc(themeLabel(th.theme))}</a> <span class="muted">${th.passages.length} ${esc(t("passages"))}</span></li>`).join("")}</ul>
      </aside>
      <section aria-labelledby="transcript-h">
        <h2 id="transcript-h">${esc(t("transcript"))}</h2>
        ${checkBar(doc)}
        <p id="edit-status" class="muted" aria-live="polite"></p>
        <ol class="transcript" id="transcript">${doc.passages.map((p, i) => passageHtml(p, writer, themeIds, i ? doc.passages[i - 1].speaker : null)).join("")}</ol>
      </section>
    </div>`;
  const audio = $("#testimony-audio");
  const items = $$("#transcript > li");
  if (audio) {
    audio.dataset.testimony = "";
    const onTime = () => {
      const now = audio.currentTime;
      for (const li of items) {
        const on = li.dataset.start !== "" && now >= Number(li.dataset.start) && now < Number(li.dataset.end);
        li.classList.toggle("current", on);
        if (on) li.setAttribute("aria-current", "true"); else li.removeAttribute("aria-current");
      }
    };
    audio.addEventListener("timeupdate", onTime);
    audio.addEventListener("seeked", onTime);
    followWords(audio);
    audio.dataset.testimony = "";
    audio.src = await mediaUrl(doc.id);
    audio.dataset.testimony = doc.id;
  }
  $("#transcript").addEventListener("click", (ev) => onTranscriptClick(ev, doc, audio));
  $("#transcript").addEventListener("keydown", (ev) => {
    const word = ev.target.closest(".w[data-seek]");
    if (word && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); word.click(); }
  });
  const next = $("#next-doubt");
  if (next) next.addEventListener("click", () => nextDoubt(audio));
  $("#exports").addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-export]");
    if (!b) return;
    const headers = state.key ? { Authorization: `Bearer ${state.key}` } : {};
    const r = await fetch(`/api/v1/testimonies/${encodeURIComponent(doc.id)}/export?format=${b.dataset.export}`, { headers });
    const name = (r.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
    saveBlob(await r.blob(), name ? name[1] : `${doc.id}.${b.dataset.export}`);
  });
  const target = location.hash.match(/^#p(\d+)$/);
  if (target) {
    const li = document.getElementById(`p${target[1]}`);
    if (li) {
      li.scrollIntoView({ block: "center" });
      if (audio && li.dataset.start !== "") {
        audio.addEventListener("loadedmetadata", () => { audio.currentTime = Number(li.dataset.start); }, { once: true });
        audio.preload = "metadata"; audio.load();
      }
    }
  }
}
// -- voices and words (issue 29) ------------------------------------------------------------
let pageVoices = null; // the voices of the testimony on the page (see voiceBook)
/** The testimony's voices as the page shows them: the name the caller may see (else the
 * label), told apart by label where two read alike ("[nombre] (S1)"); marked only where
 * the recording holds several voices or a named one (every recording is at least "S1"). */
function voiceBook(doc) {
  const named = {};
  for (const s of doc.speakers || []) if (s.name) named[s.label] = s.name;
  for (const p of doc.passages) if (p.speaker && p.speaker_name && !named[p.speaker]) named[p.speaker] = p.speaker_name;
  const count = {};
  for (const p of doc.passages) if (p.speaker) count[p.speaker] = (count[p.speaker] || 0) + 1;
  const order = (l) => (/^S\d+$/.test(l) ? Number(l.slice(1)) : 1e6);
  const labels = Object.keys(count).sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const shown = Object.fromEntries(labels.map((l) => [l, named[l] || l]));
  const same = {};
  Object.values(shown).forEach((n) => { same[n] = (same[n] || 0) + 1; });
  for (const l of labels) if (same[shown[l]] > 1 && shown[l] !== l) shown[l] = `${shown[l]} (${l})`;
  return { labels, shown, count, marked: labels.length > 1 || labels.some((l) => named[l]), index: (l) => Math.max(0, labels.indexOf(l)) % 8 };
}
const isDoubt = (w) => w.doubtful && !w.edited;
function wordsHtml(p) {
  return p.words.map((w) => {
    const cls = isDoubt(w) ? "w doubt" : w.edited ? "w edited" : "w";
    const title = isDoubt(w) ? t("doubtTitle", { p: w.probability.toFixed(2) }) : w.edited ? t("editedWord") : "";
    return `<span class="${cls}" data-seek="${w.start}" data-end="${w.end}"${title ? ` title="${esc(title)}"` : ""}${isDoubt(w) ? ' tabindex="0" role="button"' : ""}>${esc(w.text)}</span>`;
  }).join(" ");
}
function checkBar(doc) {
  if (!doc.passages.some((p) => p.words && p.words.length)) return "";
  const n = doc.doubtful_words || 0;
  const label = n === 0 ? t("noneToCheck") : n === 1 ? t("oneToCheck") : t("wordsToCheck", { n });
  return `<div class="checkbar" role="group" aria-label="${esc(t("nextDoubt"))}"><span id="doubt-count" class="doubt-count${n ? "" : " none"}">${esc(label)}</span>
    ${n ? `<button type="button" id="next-doubt">${esc(t("nextDoubt"))} ▸</button><span class="muted">${esc(t("checkHelp"))}</span>` : ""}</div>`;
}
/** Focus the next doubtful word after the one focused, else after the one this control
 * last reached, else after the word being heard, and put the player there, so an
 * archivist goes through them in order (back to the first after the last). */
function nextDoubt(audio) {
  const doubts = $$("#transcript .w.doubt");
  if (!doubts.length) return;
  const button = $("#next-doubt");
  let from = doubts.indexOf(document.activeElement);
  if (from < 0 && button.dataset.at) from = doubts.findIndex((w) => w.dataset.seek === button.dataset.at);
  let at = from + 1;
  if (from < 0 && audio && audio.currentTime > 0) {
    at = doubts.findIndex((w) => Number(w.dataset.seek) >= audio.currentTime);
  }
  const word = doubts[at < 0 || at >= doubts.length ? 0 : at];
  button.dataset.at = word.dataset.seek;
  word.focus();
  word.scrollIntoView({ block: "center" });
  if (audio && audio.readyState >= 1) audio.currentTime = Number(word.dataset.seek);
}
/** Mark the word being heard: on every timeupdate (about 4 a second) and, while the
 * recording plays, on every frame, so the mark keeps up with speech. */
function followWords(audio) {
  let shown = null, frame = 0;
  const mark = () => {
    const now = audio.currentTime;
    const li = $("#transcript > li.current");
    let found = null;
    if (li) {
      for (const w of li.querySelectorAll(".w")) {
        if (Number(w.dataset.seek) > now) break;
        found = w;
      }
      if (found && now > Number(found.dataset.end) + 0.3) found = null; // a pause: no word
    }
    if (found !== shown) {
      if (shown) shown.classList.remove("now");
      if (found) found.classList.add("now");
      shown = found;
    }
  };
  const loop = () => { mark(); frame = audio.paused ? 0 : requestAnimationFrame(loop); };
  audio.addEventListener("timeupdate", mark);
  audio.addEventListener("seeked", mark);
  audio.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(loop); });
  cleanup.push(() => cancelAnimationFrame(frame));
}
function passageHtml(p, writer, themeIds, previousSpeaker = null) {
  const timed = p.start != null;
  const voices = pageVoices;
  const voiced = voices && voices.marked && p.speaker;
  const turn = voiced && p.speaker !== previousSpeaker ? `<p class="turn voice-name voice-${voices.index(p.speaker)}">${esc(voices.shown[p.speaker])}</p>` : "";
  const words = p.words && p.words.length;
  const tags = p.tags.map((g) => `<span class="chip${g.source === "human" ? " human" : ""}" title="${esc(g.evidence.join("; "))}">${esc(themeLabel(g.theme))}</span>${writer ? `<button type="button" data-verdict="accept" data-theme="${esc(g.theme)}" aria-label="${esc(t("accept"))}: ${esc(themeLabel(g.theme))}">✓</button><button type="button" data-verdict="reject" data-theme="${esc(g.theme)}" aria-label="${esc(t("reject"))}: ${esc(themeLabel(g.theme))}">✗</button>` : ""}`).join(" ");
  const why = p.tags.filter((g) => g.evidence.length).map((g) => `<li><strong>${esc(themeLabel(g.theme))}</strong>: ${esc(g.evidence.join("; "))}</li>`).join("");
  const missing = themeIds.filter((id) => !p.tags.some((g) => g.theme === id));
  const adder = writer && missing.length ? `<label class="visually-hidden" for="add-${p.id}">${esc(t("addTheme"))}</label><select id="add-${p.id}">${options(missing.map((id) => [id, themeLabel(id)]))}</select><button type="button" data-add="${p.id}">${esc(t("add"))}</button>` : "";
  const edit = writer ? `<button type="button" data-edit="${p.id}">${esc(t("correct"))}</button>` : "";
  return `<li id="p${p.id}" data-id="${p.id}" data-start="${timed ? p.start : ""}" data-end="${timed ? p.end : ""}" data-speaker="${esc(p.speaker || "")}"${voiced ? ` class="voiced voice-${voices.index(p.speaker)}"` : ""}>
    ${timed ? `<button type="button" class="seek" data-seek="${p.start}" aria-label="${esc(t("seekTo", { t: clock(p.start) }))}">${clock(p.start)}</button>` : "<span></span>"}
    <div>
      ${turn}
      <p class="passage-text${words ? " words" : ""}"${timed && !words ? ` data-seek="${p.start}"` : ""}>${words ? wordsHtml(p) : esc(p.text)}</p>
      <div class="tagline">${tags} ${adder} ${edit}</div>
      ${why ? `<details><summary>${esc(t("why"))}</summary><ul>${why}</ul></details>` : ""}
      <div class="history"></div>
    </div>
  </li>`;
}
async function onTranscriptClick(ev, doc, audio) {
  const li = ev.target.closest("li[data-id]");
  if (!li) return;
  const pid = Number(li.dataset.id);
  const seek = ev.target.closest("[data-seek]");
  if (seek && audio && !li.querySelector("textarea")) {
    await playAt(doc.id, Number(seek.dataset.seek), doc.title, audio);
    return;
  }
  const verdict = ev.target.closest("[data-verdict]");
  const add = ev.target.closest("[data-add]");
  if (verdict || add) {
    const body = verdict ? { theme: verdict.dataset.theme, verdict: verdict.dataset.verdict } : { theme: $(`#add-${pid}`).value, verdict: "add" };
    const res = await api(`/api/v1/passages/${pid}/reviews`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    replacePassage(li, res);
    $("#edit-status").textContent = `${themeLabel(body.theme)}: ${t(body.verdict === "reject" ? "reject" : body.verdict === "add" ? "add" : "accept")} ✓`;
    return;
  }
  const edit = ev.target.closest("[data-edit]");
  if (edit) {
    const text = li.querySelector(".passage-text");
    const box = document.createElement("form");
    box.innerHTML = `<label for="edit-${pid}">${esc(t("correct"))}</label><textarea id="edit-${pid}" required>${esc(text.textContent)}</textarea>
      <label for="note-${pid}">${esc(t("noteLabel"))}</label><input id="note-${pid}">
      <div class="actions"><button class="primary">${esc(t("save"))}</button><button type="button" data-cancel>${esc(t("cancel"))}</button></div>`;
    text.replaceWith(box);
    edit.disabled = true;
    box.querySelector("textarea").focus();
    box.querySelector("[data-cancel]").addEventListener("click", () => { box.replaceWith(text); edit.disabled = false; });
    box.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const res = await api(`/api/v1/passages/${pid}`, { method: "PATCH", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ text: box.querySelector("textarea").value, note: box.querySelector("input").value }) });
        replacePassage(li, res);
        $("#edit-status").textContent = t("saved");
      } catch (err) {
        $("#edit-status").textContent = t("error", { m: err.message });
      }
    });
  }
}
function replacePassage(li, detail) {
  const themeIds = state.taxonomy.themes.map((th) => th.id);
  const holder = document.createElement("ol");
  const before = li.previousElementSibling;
  holder.innerHTML = passageHtml(detail, canWrite(), themeIds, before ? before.dataset.speaker : null);
  const fresh = holder.firstElementChild;
  if (detail.edits && detail.edits.length) {
    fresh.querySelector(".history").innerHTML = `<details><summary>${esc(t("history", { n: detail.edits.length }))}</summary><ol>${detail.edits.map((e) => `<li><span class="muted">${esc(e.edited_at.slice(0, 16).replace("T", " "))} · ${esc(e.editor)}${e.note ? " · " + esc(e.note) : ""}</span><br><del>${esc(e.old_text)}</del><br><ins>${esc(e.new_text)}</ins></li>`).join("")}</ol></details>`;
  }
  fresh.classList.toggle("current", li.classList.contains("current"));
  li.replaceWith(fresh);
}

// -- upload ---------------------------------------------------------------------------------
async function uploadPage(main) {
  document.title = `${t("upload")} — Voces`;
  if (!canWrite()) { main.innerHTML = `<h1>${esc(t("uploadTitle"))}</h1><p class="note">${esc(t("needArchivist"))}</p>`; return; }
  main.innerHTML = `
    <h1>${esc(t("uploadTitle"))}</h1>
    <form id="upload" novalidate>
      <div class="drop" id="drop">
        <p>${esc(t("dropHere"))}</p>
        <label for="files">${esc(t("chooseFiles"))}</label>
        <input id="files" name="files" type="file" multiple accept="audio/*,video/mp4,video/webm,.txt,.jsonl,.csv,.opus,.m4a">
        <p class="muted" id="chosen" aria-live="polite"></p>
      </div>
      <fieldset><legend>${esc(t("metadata"))}</legend>
        <div class="row">
          <div class="field grow"><label for="u-title">${esc(t("title"))}</label><input id="u-title" name="title"></div>
          <div class="field"><label for="u-region">${esc(t("region"))}</label><input id="u-region" name="region" list="regions"></div>
          <div class="field"><label for="u-community">${esc(t("community"))}</label><input id="u-community" name="community"></div>
          <div class="field"><label for="u-date">${esc(t("date"))}</label><input id="u-date" name="date" placeholder="${esc(t("dateHint"))}" size="14"></div>
          <div class="field"><label for="u-language">${esc(t("language"))}</label><select id="u-language" name="language">${options([["auto", t("languageAuto")], ["es", "español"], ["en", "English"], ["qu", "runasimi"]], "auto")}</select></div>
        </div>
        <datalist id="regions">${state.regions.map((r) => `<option value="${esc(r)}">`).join("")}</datalist>
        <fieldset><legend>${esc(t("consentLabel"))}</legend>
          <div class="radio">${["public", "restricted", "private"].map((c) => `<span><input type="radio" name="consent" id="c-${c}" value="${c}"> <label for="c-${c}">${esc(t(`consent.${c}`))}</label></span>`).join("")}</div>
          <p class="muted">${esc(t("consentHelp"))}</p>
        </fieldset>
        <p><input type="checkbox" id="u-names" name="allow_names" value="true"> <label for="u-names" style="display:inline">${esc(t("allowNames"))}</label></p>
      </fieldset>
      <div class="field"><label for="manifest">${esc(t("manifest"))}</label><input id="manifest" name="manifest" type="file" accept=".csv,.jsonl"></div>
      <p class="error" id="upload-error" role="alert"></p>
      <button class="primary">${esc(t("send"))}</button>
    </form>
    <ul class="uploads" id="uploads" aria-live="polite"></ul>`;
  const input = $("#files"), drop = $("#drop");
  let chosen = [];
  const show = () => { $("#chosen").textContent = chosen.map((f) => f.name).join(", "); };
  input.addEventListener("change", () => { chosen = [...input.files]; show(); });
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => { ev.preventDefault(); drop.classList.remove("over"); chosen = [...chosen, ...ev.dataTransfer.files]; show(); });
  $("#upload").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    const manifest = $("#manifest").files[0];
    $("#upload-error").textContent = "";
    if (!chosen.length) { $("#upload-error").textContent = t("chooseAFile"); return; }
    if (!form.get("consent") && !manifest) { $("#upload-error").textContent = t("chooseConsent"); return; }
    const files = chosen; chosen = []; show(); input.value = "";
    const rows = Object.fromEntries(files.map((f) => [f.name, uploadRow(f.name)]));
    if (manifest) {
      const body = new FormData();
      files.forEach((f) => body.append("files", f));
      body.append("manifest", manifest);
      if (form.get("consent")) body.append("consent", form.get("consent"));
      const res = await send("/api/v1/testimonies/bulk", body, (f) => Object.values(rows).forEach((r) => r.sent(f)));
      for (const u of res.uploads || []) (rows[u.file] || uploadRow(u.file)).result(u);
      if (res.error) Object.values(rows).forEach((r) => r.fail(res.error.message));
      return;
    }
    await Promise.all(files.map(async (file) => {
      const body = new FormData();
      body.append("file", file);
      for (const name of ["title", "region", "community", "date", "language", "consent"]) if (form.get(name)) body.append(name, form.get(name));
      body.append("allow_names", form.get("allow_names") ? "true" : "false");
      if (!form.get("title") && files.length > 1) body.set("title", "");
      const res = await send("/api/v1/testimonies", body, (f) => rows[file.name].sent(f));
      if (res.uploads) rows[file.name].result(res.uploads[0]);
      else rows[file.name].fail(res.error ? res.error.message : String(res));
    }));
  });
}
function send(url, body, onProgress) {
  // XMLHttpRequest, not fetch: it reports upload progress
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    if (state.key) xhr.setRequestHeader("Authorization", `Bearer ${state.key}`);
    xhr.upload.addEventListener("progress", (e) => e.lengthComputable && onProgress(e.loaded / e.total));
    xhr.addEventListener("load", () => { try { resolve(JSON.parse(xhr.responseText)); } catch (e) { resolve({ error: { message: xhr.statusText } }); } });
    xhr.addEventListener("error", () => resolve({ error: { message: "network error" } }));
    xhr.send(body);
  });
}
function uploadRow(name) {
  const li = document.createElement("li");
  li.innerHTML = `<strong>${esc(name)}</strong> <span class="state muted">${esc(t("uploading"))}</span>
    <progress max="100" value="0" aria-label="${esc(name)}"></progress><div class="detail muted"></div>`;
  $("#uploads").append(li);
  const bar = li.querySelector("progress"), label = li.querySelector(".state"), detail = li.querySelector(".detail");
  const row = {
    sent(fraction) { bar.value = Math.round(fraction * 20); },
    fail(message) { label.textContent = t("failed"); label.className = "state error"; detail.className = "detail error"; detail.setAttribute("role", "alert"); detail.textContent = message; },
    result(u) {
      if (!u.accepted) { row.fail(u.error ? u.error.message : t("failed")); return; }
      row.follow(u.job.id);
    },
    async follow(jobId) {
      for (;;) {
        let job;
        try { job = await api(`/api/v1/jobs/${encodeURIComponent(jobId)}`); } catch (e) { row.fail(e.message); return; }
        bar.value = 20 + Math.round(job.progress * 80);
        label.textContent = t(job.state);
        detail.textContent = job.message || "";
        if (job.state === "failed") { row.fail(job.error || job.message); return; }
        if (job.state === "done") {
          bar.value = 100;
          const ids = (job.results || []).map((r) => r.id).filter(Boolean);
          detail.innerHTML = ids.map((id) => `<a href="/testimonies/${encodeURIComponent(id)}" data-link>${esc(t("stored", { id }))}</a>`).join(" · ") || esc(job.message);
          return;
        }
        await new Promise((r) => setTimeout(r, 700));
        if (!li.isConnected) return;
      }
    },
  };
  return row;
}

// -- themes ---------------------------------------------------------------------------------
const BY = [["region", "byRegion"], ["community", "byCommunity"], ["language", "byLanguage"], ["year", "byYear"]];
async function themesPage(main) {
  const q = new URLSearchParams(location.search);
  const by = BY.some(([v]) => v === q.get("by")) ? q.get("by") : "region";
  document.title = `${t("themes")} — Voces`;
  const [data, years] = await Promise.all([api(`/api/v1/themes?by=${by}&quotes=3`), by === "year" ? null : api("/api/v1/themes?by=year")]);
  const byLabel = t(BY.find(([v]) => v === by)[1]);
  main.innerHTML = `
    <h1>${esc(t("themesTitle"))}</h1>
    <div class="row">
      <div class="field"><label for="by">${esc(t("groupBy"))}</label><select id="by">${options(BY.map(([v, k]) => [v, t(k)]), by)}</select></div>
      <button type="button" id="dl-csv">${esc(t("downloadCsv"))}</button>
      <button type="button" id="dl-svg">${esc(t("downloadSvg"))}</button>
      <button type="button" id="dl-png">${esc(t("downloadPng"))}</button>
    </div>
    <p class="muted">${esc(t("shareNote"))}</p>
    <div class="heatmap-wrap" id="heatmap">${heatmapSvg(data, t("heatmapLabel", { by: byLabel }))}</div>
    <details><summary>${esc(t("tableView"))}</summary>${themeTable(data)}</details>
    <section class="quotes" id="quotes" aria-live="polite"><p class="muted">${esc(t("pickCell"))}</p></section>
    ${years ? `<h2>${esc(t("trend"))}</h2><div id="trend">${trendSvg(years)}</div>` : ""}
    ${canWrite() ? `<h2>${esc(t("emergent"))}</h2><button type="button" id="discover">${esc(t("discover"))}</button><div id="emergent" aria-live="polite"></div>` : ""}`;
  $("#by").addEventListener("change", (ev) => navigate(`/themes?by=${ev.target.value}`));
  const showCell = (cell) => {
    const row = data.counts.find((c) => c.theme === cell.dataset.theme && c.group === cell.dataset.group);
    $("#quotes").innerHTML = `<h2>${esc(t("quotesFor", { theme: themeLabel(cell.dataset.theme), group: cell.dataset.group }))}</h2>` +
      (row && row.quotes.length ? row.quotes.map((x) => `<blockquote>${esc(x.text)} <a href="/testimonies/${encodeURIComponent(x.testimony_id)}#p${x.passage_id}" data-link>${x.start != null ? clock(x.start) : "→"}</a></blockquote>`).join("") : `<p>${esc(t("noQuotes"))}</p>`);
  };
  $$("#heatmap .cell").forEach((cell) => {
    cell.addEventListener("click", () => showCell(cell));
    cell.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); showCell(cell); } });
  });
  $("#dl-csv").addEventListener("click", async () => {
    const headers = state.key ? { Authorization: `Bearer ${state.key}` } : {};
    const r = await fetch(`/api/v1/themes.csv?by=${by}`, { headers });
    saveBlob(await r.blob(), `voces-themes-${by}.csv`);
  });
  const svgText = () => new XMLSerializer().serializeToString($("#heatmap svg"));
  $("#dl-svg").addEventListener("click", () => saveBlob(new Blob([svgText()], { type: "image/svg+xml" }), `voces-themes-${by}.svg`));
  $("#dl-png").addEventListener("click", () => {
    const svg = $("#heatmap svg");
    const image = new Image();
    const url = URL.createObjectURL(new Blob([svgText()], { type: "image/svg+xml" }));
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = svg.viewBox.baseVal.width * 2; canvas.height = svg.viewBox.baseVal.height * 2;
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => saveBlob(blob, `voces-themes-${by}.png`), "image/png");
    };
    image.src = url;
  });
  if (canWrite()) {
    $("#discover").addEventListener("click", async () => {
      $("#emergent").textContent = t("loading");
      try {
        const found = await api("/api/v1/themes/emergent?min_size=3&quotes=2", { method: "POST" });
        $("#emergent").innerHTML = found.length ? found.map((e) => `<article class="card"><h3>#${e.number} · ${e.size} ${esc(t("passages"))}</h3>
          <p>${Object.entries(e.keywords).map(([lang, words]) => `<strong>${esc(lang)}</strong>: ${esc(words.join(", "))}`).join(" · ")}</p>
          <p class="muted">${Object.entries(e.regions).map(([r, n]) => `${esc(r)} ${n}`).join(", ")} · ${esc(t("nearest"))}: ${esc(themeLabel(e.nearest_theme))} (${e.nearest_similarity.toFixed(2)})</p>
          ${e.quotes.map((x) => `<blockquote>${esc(x.text)} <a href="/testimonies/${encodeURIComponent(x.testimony_id)}#p${x.passage_id}" data-link>→</a></blockquote>`).join("")}
          <p class="muted"><code>${esc(t("promoteHint", { n: e.number }))}</code></p></article>`).join("") : `<p>${esc(t("emergentNone"))}</p>`;
      } catch (e) { $("#emergent").textContent = t("error", { m: e.message }); }
    });
  }
}
function shareOf(c) { return c.estimated_share ?? null; }
function heatColour(x) {
  // white to the accent teal; text turns white past the middle for contrast
  const v = x == null ? 0 : Math.max(0, Math.min(1, x));
  const mix = (a, b) => Math.round(a + (b - a) * v);
  return `rgb(${mix(247, 11)},${mix(250, 93)},${mix(251, 107)})`;
}
function heatmapSvg(data, label) {
  const groups = [...new Set(data.counts.map((c) => c.group))].sort();
  const themes = data.themes.map((th) => th.id);
  const cellW = 92, cellH = 40, left = 190, top = 70;
  const width = left + groups.length * cellW + 10, height = top + themes.length * cellH + 40;
  const cells = [];
  themes.forEach((th, i) => groups.forEach((g, j) => {
    const c = data.counts.find((x) => x.theme === th && x.group === g);
    const share = c ? shareOf(c) : null;
    const interval = c && c.interval90 ? `${pct(c.interval90[0])}–${pct(c.interval90[1])}` : "—";
    const title = `${themeLabel(th)} · ${g}: ${t("estimated")} ${pct(share)} (${t("interval")} ${interval}); ${c ? c.testimonies : 0} ${t("testimonies")}, ${c ? c.passages : 0} ${t("passages")}`;
    const x = left + j * cellW, y = top + i * cellH;
    cells.push(`<g class="cell" tabindex="0" role="button" aria-label="${esc(title)}" data-theme="${esc(th)}" data-group="${esc(g)}">
      <title>${esc(title)}</title>
      <rect x="${x}" y="${y}" width="${cellW - 2}" height="${cellH - 2}" fill="${heatColour(share)}" stroke="#d5dbe1"></rect>
      <text x="${x + cellW / 2 - 1}" y="${y + 17}" text-anchor="middle" font-size="13" font-weight="600" fill="${share != null && share > 0.45 ? "#ffffff" : "#1d232a"}">${esc(pct(share))}</text>
      <text x="${x + cellW / 2 - 1}" y="${y + 31}" text-anchor="middle" font-size="10" fill="${share != null && share > 0.45 ? "#ffffff" : "#4a5561"}">${esc(interval)}</text></g>`);
  }));
  const colLabels = groups.map((g, j) => `<text x="${left + j * cellW + cellW / 2}" y="${top - 10}" text-anchor="middle" font-size="12" fill="#1d232a">${esc(g.length > 13 ? g.slice(0, 12) + "…" : g)}</text>`).join("");
  const rowLabels = themes.map((th, i) => `<text x="${left - 8}" y="${top + i * cellH + 24}" text-anchor="end" font-size="13" fill="#1d232a">${esc(themeLabel(th))}</text>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="group" aria-label="${esc(label)}">
    <rect width="100%" height="100%" fill="#ffffff"></rect>
    <text x="10" y="24" font-size="15" font-weight="600" fill="#1d232a">${esc(label)}</text>
    ${colLabels}${rowLabels}${cells.join("")}
    <text x="10" y="${height - 12}" font-size="11" fill="#4a5561">Voces · ${esc(t("shareNote"))}</text></svg>`;
}
function themeTable(data) {
  const groups = [...new Set(data.counts.map((c) => c.group))].sort();
  return `<table class="data"><caption class="visually-hidden">${esc(t("estimated"))}</caption><tr><th scope="col">${esc(t("theme"))}</th>${groups.map((g) => `<th scope="col">${esc(g)}</th>`).join("")}</tr>` +
    data.themes.map((th) => `<tr><th scope="row">${esc(themeLabel(th.id))}</th>${groups.map((g) => {
      const c = data.counts.find((x) => x.theme === th.id && x.group === g);
      return `<td>${c ? `${pct(shareOf(c))} · ${c.testimonies}` : "—"}</td>`;
    }).join("")}</tr>`).join("") + "</table>";
}
function trendSvg(data) {
  const years = [...new Set(data.counts.map((c) => c.group).filter((y) => /^\d{4}$/.test(y)))].sort();
  if (years.length < 2) return `<p class="muted">—</p>`;
  const palette = ["#0b5d6b", "#b45309", "#7c3aed", "#be123c", "#15803d", "#1d4ed8", "#4a5561", "#a16207", "#0e7490", "#6d28d9"];
  const W = 640, H = 260, L = 44, R = 170, T = 16, B = 30;
  const x = (i) => L + (i * (W - L - R)) / (years.length - 1);
  const y = (v) => T + (1 - v) * (H - T - B);
  const lines = data.themes.map((th, k) => {
    const pts = years.map((yr, i) => { const c = data.counts.find((z) => z.theme === th.id && z.group === yr); const v = c ? shareOf(c) ?? c.tagged_share : null; return v == null ? null : [x(i), y(v)]; }).filter(Boolean);
    if (!pts.length) return "";
    const colour = palette[k % palette.length];
    return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map((p) => p.join(",")).join(" ")}"></polyline>
      ${pts.map((p) => `<circle cx="${p[0]}" cy="${p[1]}" r="3" fill="${colour}"></circle>`).join("")}
      <text x="${W - R + 8}" y="${T + 14 + k * 18}" font-size="12" fill="${colour}">■ ${esc(themeLabel(th.id))}</text>`;
  }).join("");
  const axis = years.map((yr, i) => `<text x="${x(i)}" y="${H - 10}" text-anchor="middle" font-size="11" fill="#1d232a">${yr}</text>`).join("") +
    [0, 0.5, 1].map((v) => `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11" fill="#1d232a">${pct(v)}</text><line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#d5dbe1"></line>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px" role="img" aria-label="${esc(t("trend"))}">${axis}${lines}</svg>`;
}

// -- review queue ---------------------------------------------------------------------------
async function reviewPage(main) {
  document.title = `${t("review")} — Voces`;
  if (!canWrite()) { main.innerHTML = `<h1>${esc(t("reviewTitle"))}</h1><p class="note">${esc(t("needArchivist"))}</p>`; return; }
  main.innerHTML = `<h1>${esc(t("reviewTitle"))}</h1>
    <p class="muted">${t("reviewHelp", { y: "<kbd>y</kbd>", n: "<kbd>n</kbd>", s: "<kbd>s</kbd>" })}</p>
    <p>${esc(t("reviewed"))}: <strong id="review-total" aria-live="polite">…</strong></p>
    <div id="card"></div>`;
  let queue = [], skipped = new Set();
  const totals = async () => { $("#review-total").textContent = (await api("/api/v1/passages/review-totals")).total; };
  const next = async () => {
    queue = queue.filter((c) => !skipped.has(`${c.passage_id}:${c.theme}`));
    if (!queue.length) {
      queue = (await api("/api/v1/passages/review-queue?limit=10")).filter((c) => !skipped.has(`${c.passage_id}:${c.theme}`));
    }
    const c = queue[0];
    if (!c) { $("#card").innerHTML = `<p>${esc(t("queueEmpty"))}</p>`; return; }
    $("#card").innerHTML = `<article class="card" aria-labelledby="question">
      <p class="question" id="question">${esc(t("question", { theme: themeLabel(c.theme) }))}</p>
      <blockquote lang="${esc(c.language)}">${esc(c.text)}</blockquote>
      <p class="muted"><a href="/testimonies/${encodeURIComponent(c.testimony_id)}#p${c.passage_id}" data-link>${esc(c.testimony_id)}${c.start != null ? " · " + clock(c.start) : ""}</a> · ${esc(t("machineSays", { score: c.score.toFixed(2), tagged: t(c.tagged ? "tagged" : "untagged") }))} · ${esc(c.reason)}</p>
      <div class="actions">
        <button type="button" class="primary" data-answer="yes" aria-keyshortcuts="y">${esc(t("yes"))} <kbd>y</kbd></button>
        <button type="button" data-answer="no" aria-keyshortcuts="n">${esc(t("no"))} <kbd>n</kbd></button>
        <button type="button" data-answer="skip" aria-keyshortcuts="s">${esc(t("skipOne"))} <kbd>s</kbd></button>
      </div></article>`;
  };
  let busy = false;
  const answer = async (kind) => {
    const c = queue[0];
    if (!c || busy) return;
    busy = true;
    try {
      if (kind === "skip") skipped.add(`${c.passage_id}:${c.theme}`);
      else {
        const verdict = kind === "yes" ? (c.tagged ? "accept" : "add") : "reject";
        await api(`/api/v1/passages/${c.passage_id}/reviews`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ theme: c.theme, verdict }) });
        queue.shift();
        await totals();
      }
      await next();
    } finally { busy = false; }
  };
  $("#card").addEventListener("click", (ev) => { const b = ev.target.closest("[data-answer]"); if (b) answer(b.dataset.answer); });
  const onKey = (ev) => {
    if (ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const kind = { y: "yes", n: "no", s: "skip" }[ev.key.toLowerCase()];
    if (kind) { ev.preventDefault(); answer(kind); }
  };
  document.addEventListener("keydown", onKey);
  cleanup.push(() => document.removeEventListener("keydown", onKey));
  await totals();
  await next();
}

// -- start ----------------------------------------------------------------------------------
(async () => {
  setupChrome();
  try { await loadSession(); } catch (e) { /* render shows the error */ }
  await render();
})();
