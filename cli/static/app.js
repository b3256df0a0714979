// The search page: results as you type, facets, paging, article view with related posts.
// State lives in the URL (?q=&category=&from=&to=&sort=&page= or ?article=ID) so links and Back work.
// With no query the page browses the archive newest first, as a news site does; a query ranks by relevance.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
const LIMIT = 10;
const TYPE_DELAY_MS = 120;

let state = readUrl();
let lastSearch = { ...state, article: null };
let searchSeq = 0, suggestSeq = 0, typingTimer = null, activeOption = -1;

function readUrl() {
  const p = new URLSearchParams(location.search);
  return {
    q: p.get("q") || "", categories: p.getAll("category"), from: p.get("from") || "", to: p.get("to") || "",
    sort: p.get("sort") || "", page: Math.max(1, parseInt(p.get("page") || "1", 10) || 1),
    article: p.get("article"),
  };
}

function stateParams(s) {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  s.categories.forEach((c) => p.append("category", c));
  if (s.from) p.set("from", s.from);
  if (s.to) p.set("to", s.to);
  if (s.sort) p.set("sort", s.sort); // chosen; unset follows the query (effectiveSort)
  if (s.page > 1) p.set("page", String(s.page));
  return p;
}

// The order when none is chosen: relevance for a query, newest first when browsing.
function effectiveSort(s) {
  return s.sort || (s.q.trim() ? "relevance" : "newest");
}

const SORT_WORDS = { relevance: "best match first", newest: "newest first", oldest: "oldest first" };

function writeUrl(push) {
  const p = state.article ? new URLSearchParams({ article: state.article }) : stateParams(state);
  history[push ? "pushState" : "replaceState"](null, "", p.toString() ? "?" + p : location.pathname);
}

async function getJson(path, params) {
  const res = await fetch(path + (params && params.toString() ? "?" + params : ""));
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

// ---- search ----------------------------------------------------------------------------------------
async function runSearch(push = false) {
  state.article = null;
  lastSearch = { ...state, categories: [...state.categories] };
  writeUrl(push);
  showView("results");
  const seq = ++searchSeq;
  $("results").setAttribute("aria-busy", "true");
  $("sort").value = effectiveSort(state);
  updateFiltersToggle();
  const params = stateParams(state);
  params.set("sort", effectiveSort(state));
  params.set("limit", String(LIMIT));
  if (state.typing) params.set("prefix", "true"); // the word being typed counts as its completions
  try {
    const result = await getJson("/search", params);
    if (seq === searchSeq) renderResults(result);
  } catch (err) {
    if (seq === searchSeq) {
      $("status").textContent = err.message;
      $("hits").replaceChildren();
      $("pager").hidden = true;
    }
  } finally {
    if (seq === searchSeq) $("results").setAttribute("aria-busy", "false");
  }
}

function formatDate(iso, interval) {
  if (!iso) return "undated";
  return interval === "year" ? iso.slice(0, 4) : iso.slice(0, 10);
}

function renderResults(r) {
  const first = (r.page - 1) * r.limit + 1;
  $("status").textContent = r.total
    ? `${r.total.toLocaleString()} result${r.total === 1 ? "" : "s"}` +
      (r.folded && r.stories !== r.total ? ` in ${r.stories.toLocaleString()} stories` : "") +
      (r.hits.length ? ` · ${first}–${first + r.hits.length - 1}` : "") + ` · ${SORT_WORDS[r.sort] || r.sort}` +
      ` · ${r.took_ms} ms`
    : r.query ? `No articles match “${r.query}”.` : "No articles.";
  // A word the archive does not hold: offer the query corrected (the hits already include its corrections).
  $("did-you-mean").hidden = !r.did_you_mean;
  if (r.did_you_mean) {
    const fix = $("did-you-mean-link");
    fix.textContent = r.did_you_mean;
    fix.href = "?" + new URLSearchParams({ q: r.did_you_mean });
  }
  $("hits").replaceChildren(...r.hits.map((h) => {
    const link = el("a", { href: "?article=" + encodeURIComponent(h.id), textContent: h.title || h.id });
    link.addEventListener("click", (e) => { e.preventDefault(); openArticle(h.id, true); });
    const snippet = el("p", { className: "snippet" });
    snippet.innerHTML = h.snippet; // server-escaped text with <b> highlights
    const meta = [formatDate(h.date), h.categories.join(", "), h.site, h.authors.join(", ")].filter(Boolean);
    const copies = h.copies ? [el("p", { className: "meta copies", textContent:
      `+${h.copies} ${h.copies === 1 ? "copy" : "copies"} of this story elsewhere` })] : [];
    return el("li", { className: "hit" }, el("h3", {}, link), el("p", { className: "meta", textContent: meta.join(" · ") }),
      snippet, ...copies);
  }));
  $("pager").hidden = r.pages <= 1;
  $("prev").disabled = r.page <= 1;
  $("next").disabled = r.page >= r.pages;
  $("page-info").textContent = `Page ${r.page} of ${r.pages.toLocaleString()}`;
  if (r.facets) renderFacets(r.facets);
}

$("did-you-mean-link").addEventListener("click", (e) => {
  e.preventDefault();
  const text = $("did-you-mean-link").textContent;
  $("q").value = text;
  Object.assign(state, { q: text, page: 1, typing: false });
  runSearch(true);
});

function renderFacets(f) {
  const chosen = new Set(state.categories);
  const shown = f.categories.filter((c) => c.count > 0 || chosen.has(c.category));
  const items = shown.map((c, i) => {
    const box = el("input", { type: "checkbox", id: "cat-" + i, checked: chosen.has(c.category), value: c.category });
    box.addEventListener("change", () => {
      state.categories = box.checked ? [...state.categories, c.category]
        : state.categories.filter((x) => x !== c.category);
      state.page = 1;
      runSearch(true);
    });
    const label = el("label", { htmlFor: box.id }, el("span", { textContent: c.category }),
      el("span", { className: "count", textContent: c.count.toLocaleString() }));
    return el("li", { className: "category" }, box, label);
  });
  if (f.uncategorised) { // counted, so the numbers add up; no filter picks them
    items.push(el("li", { className: "category none", title: "Articles with no category" },
      el("span", { textContent: "Uncategorised" }), el("span", { className: "count", textContent: f.uncategorised.toLocaleString() })));
  }
  $("category-facet").replaceChildren(...items);
  renderHistogram(f);
  $("clear-dates").hidden = !(state.from || state.to);
  updateFiltersToggle();
}

// "1987-03" -> "Mar 1987"; a year stays as it is.
function periodLabel(start) {
  if (start.length < 7) return start;
  const [y, m] = start.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, 1)).toLocaleString("en", { month: "short", year: "numeric", timeZone: "UTC" });
}

// Periods as rows (label, bar, count), each a button that filters to it; runs of three or more empty
// periods fold into one row, and the undated matches, which no period holds, get a row of their own.
function renderHistogram(f) {
  const top = Math.max(1, f.undated || 0, ...f.dates.map((b) => b.count));
  const bar = (count) => {
    const b = el("span", { className: "bar" });
    b.style.width = (count ? Math.max(2, Math.round((100 * count) / top)) : 0) + "%";
    return b;
  };
  const rows = [];
  for (let i = 0; i < f.dates.length;) {
    let j = i;
    while (j < f.dates.length && f.dates[j].count === 0) j++;
    if (j - i >= 3) {
      rows.push(el("li", { className: "gap", textContent: `${periodLabel(f.dates[i].start)} – ${periodLabel(f.dates[j - 1].start)}: none` }));
      i = j;
      continue;
    }
    const b = f.dates[i++];
    const picked = state.from === b.start && state.to === b.start;
    const button = el("button", { type: "button", className: "period" },
      el("span", { className: "label", textContent: periodLabel(b.start) }), bar(b.count),
      el("span", { className: "count", textContent: b.count.toLocaleString() }));
    button.dataset.period = b.start;
    button.setAttribute("aria-pressed", String(picked));
    button.setAttribute("aria-label", `${periodLabel(b.start)}: ${b.count.toLocaleString()} articles`);
    button.addEventListener("click", () => {
      // "1987-03": the whole month; picking the chosen period again lets go of it
      state.from = state.to = picked ? "" : b.start;
      state.page = 1;
      syncInputs();
      runSearch(true);
    });
    rows.push(el("li", {}, button));
  }
  if (f.undated) {
    rows.push(el("li", { className: "undated", title: "Articles with no date: in no period, so no date filter picks them" },
      el("span", { className: "label", textContent: "Undated" }), bar(f.undated),
      el("span", { className: "count", textContent: f.undated.toLocaleString() })));
  }
  $("histogram").replaceChildren(...rows);
}

// ---- filters on a phone: behind a button at the top, so they come first ------------------------------
function setFiltersOpen(open) {
  document.body.classList.toggle("filters-open", open);
  $("filters-toggle").setAttribute("aria-expanded", String(open));
}

function updateFiltersToggle() {
  const n = state.categories.length + (state.from || state.to ? 1 : 0);
  $("filters-toggle").textContent = n ? `Filters (${n})` : "Filters";
}

// ---- search as you type --------------------------------------------------------------------------
async function runSuggest() {
  const q = $("q").value;
  const seq = ++suggestSeq;
  if (!q.trim()) return closeSuggestions();
  try {
    const s = await getJson("/suggest", new URLSearchParams({ q, limit: "6", titles: "4" }));
    if (seq === suggestSeq && q === $("q").value) renderSuggestions(s);
  } catch { closeSuggestions(); }
}

function renderSuggestions(s) {
  const list = $("suggestions");
  const options = [];
  s.completions.forEach((c) => options.push(option(c.text, c.count.toLocaleString(), () => pickText(c.text))));
  if (s.titles.length) {
    options.push(el("li", { className: "group", role: "presentation", textContent: "Articles" }));
    s.titles.forEach((t) => options.push(option(t.title, t.date ? t.date.slice(0, 4) : "", () => openArticle(t.id, true))));
  }
  activeOption = -1;
  list.replaceChildren(...options);
  list.hidden = options.length === 0;
  $("q").setAttribute("aria-expanded", String(!list.hidden));
  $("q").removeAttribute("aria-activedescendant");
}

function option(text, aside, pick) {
  const li = el("li", { role: "option", id: "opt-" + Math.random().toString(36).slice(2) },
    el("span", { textContent: text }), el("span", { className: "count", textContent: aside }));
  li.setAttribute("aria-selected", "false");
  li.addEventListener("mousedown", (e) => { e.preventDefault(); closeSuggestions(); pick(); });
  li.pick = pick;
  return li;
}

function closeSuggestions() {
  suggestSeq++;
  $("suggestions").hidden = true;
  $("q").setAttribute("aria-expanded", "false");
  $("q").removeAttribute("aria-activedescendant");
  activeOption = -1;
}

function pickText(text) {
  $("q").value = text + " ";
  state.q = text; state.page = 1; state.typing = false;
  runSearch(true);
  $("q").focus();
}

function moveOption(step) {
  const opts = [...$("suggestions").querySelectorAll('[role="option"]')];
  if ($("suggestions").hidden || !opts.length) return;
  activeOption = (activeOption + step + opts.length) % opts.length;
  opts.forEach((o, i) => o.setAttribute("aria-selected", String(i === activeOption)));
  $("q").setAttribute("aria-activedescendant", opts[activeOption].id);
}

// ---- article view ----------------------------------------------------------------------------------
async function openArticle(id, push) {
  state.article = id;
  writeUrl(push);
  showView("article");
  $("article-title").textContent = "Loading…";
  $("article-meta").textContent = "";
  $("article-body").replaceChildren();
  $("related").replaceChildren();
  try {
    const a = await getJson("/articles/" + encodeURIComponent(id));
    $("article-title").textContent = a.title;
    const meta = [formatDate(a.date), a.categories.join(", "), a.site, a.authors.join(", ")].filter(Boolean);
    $("article-meta").replaceChildren(meta.join(" · "));
    if (a.url) $("article-meta").append(" · ", el("a", { href: a.url, textContent: "original", rel: "noopener" }));
    $("article-body").replaceChildren(...a.body.split(/\n\s*\n|\n/).filter((p) => p.trim())
      .map((p) => el("p", { textContent: p })));
    $("article-title").focus(); // for screen readers and the keyboard; no box is drawn (style.css)
    const rel = await getJson("/articles/" + encodeURIComponent(id) + "/related", new URLSearchParams({ k: "8" }));
    $("related").replaceChildren(...(rel.related.length ? rel.related.map((r) => {
      const link = el("a", { href: "?article=" + encodeURIComponent(r.id), textContent: r.title || r.id });
      link.addEventListener("click", (e) => { e.preventDefault(); openArticle(r.id, true); });
      return el("li", { className: "related-item" }, link,
        el("span", { className: "meta", textContent: " · " + formatDate(r.date) }));
    }) : [el("li", { textContent: "No related posts." })]));
  } catch (err) {
    $("article-title").textContent = err.message;
  }
}

// The filters stay beside an article: picking one goes back to the results, filtered.
function showView(which) {
  const article = which === "article";
  $("article").hidden = !article;
  $("results").hidden = article;
}

// ---- wiring ----------------------------------------------------------------------------------------
function syncInputs() {
  $("q").value = state.q;
  $("sort").value = effectiveSort(state);
  $("from").value = state.from;
  $("to").value = state.to;
}

function start() {
  syncInputs();
  $("q").addEventListener("input", () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => {
      state.q = $("q").value; state.page = 1; state.typing = true;
      runSearch(false);
      runSuggest();
    }, TYPE_DELAY_MS);
  });
  $("q").addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); moveOption(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); moveOption(-1); }
    else if (e.key === "Escape" && !$("suggestions").hidden) { e.preventDefault(); closeSuggestions(); }
    else if (e.key === "Enter" && activeOption >= 0) {
      e.preventDefault();
      const opt = $("suggestions").querySelectorAll('[role="option"]')[activeOption];
      closeSuggestions();
      opt.pick();
    }
  });
  $("q").addEventListener("blur", () => setTimeout(closeSuggestions, 100));
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(typingTimer);
    closeSuggestions();
    state.q = $("q").value.trim(); state.page = 1; state.typing = false;
    runSearch(true);
  });
  $("sort").addEventListener("change", () => { state.sort = $("sort").value; state.page = 1; runSearch(true); });
  $("filters-toggle").addEventListener("click", () => setFiltersOpen(!document.body.classList.contains("filters-open")));
  $("filters-done").addEventListener("click", () => { setFiltersOpen(false); $("results").focus(); });
  for (const id of ["from", "to"]) {
    $(id).addEventListener("change", () => { state[id] = $(id).value.trim(); state.page = 1; runSearch(true); });
  }
  $("clear-dates").addEventListener("click", () => { state.from = state.to = ""; syncInputs(); runSearch(true); });
  $("prev").addEventListener("click", () => { state.page--; runSearch(true); $("results").focus(); });
  $("next").addEventListener("click", () => { state.page++; runSearch(true); $("results").focus(); });
  $("back").addEventListener("click", () => { state = { ...lastSearch }; syncInputs(); runSearch(true); });
  window.addEventListener("popstate", () => { state = readUrl(); syncInputs(); route(false); });
  route(false);
}

function route(push) {
  if (state.article) openArticle(state.article, push);
  else runSearch(push);
}

start();
