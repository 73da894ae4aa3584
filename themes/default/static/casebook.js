/*
 * Casebook — default theme script.
 *
 * Progressive enhancement only: every page works without it. Loaded with
 * `defer`, so the document is parsed when this runs. No inline code, no eval.
 *
 *   1. Helpers
 *   2. Theme (light / dark / auto)
 *   3. Confirmations (form[data-confirm])
 *   4. Mobile navigation
 *   5. Shortcuts dialog
 *   6. Search suggestions
 *   7. Drafts of the editor (editor.js) dropped once saved
 *   8. History (compare button)
 *   9. Global keyboard shortcuts
 */
(() => {
  'use strict';

  /* ---------------------------------------------------------------------
     1. Helpers
     --------------------------------------------------------------------- */

  const doc = document;
  const root = doc.documentElement;
  const $ = (sel, ctx = doc) => ctx.querySelector(sel);
  const $$ = (sel, ctx = doc) => Array.from(ctx.querySelectorAll(sel));

  root.classList.add('js');

  /** True when keystrokes should go to the focused control, not to shortcuts. */
  function isTypingTarget(el) {
    if (!el || el.nodeType !== 1) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
  }

  /** Only same-origin paths ("/x", not "//host" or "javascript:"). */
  function isLocalPath(url) {
    return typeof url === 'string' && url.charAt(0) === '/' && url.charAt(1) !== '/' && url.charAt(1) !== '\\';
  }

  function go(url) {
    window.location.assign(url);
  }

  /* ---------------------------------------------------------------------
     2. Theme
     --------------------------------------------------------------------- */

  const THEME_KEY = 'casebook-theme';
  const THEME_CYCLE = ['light', 'dark', 'auto'];

  function readTheme() {
    try {
      const v = window.localStorage.getItem(THEME_KEY);
      return v === 'light' || v === 'dark' ? v : 'auto';
    } catch (_) {
      return 'auto';
    }
  }

  function storeTheme(mode) {
    try {
      window.localStorage.setItem(THEME_KEY, mode);
    } catch (_) {
      /* storage may be unavailable (private mode); the choice lasts for this page */
    }
  }

  let themeMode = readTheme();

  function applyTheme(mode) {
    if (mode === 'light' || mode === 'dark') root.dataset.theme = mode;
    else delete root.dataset.theme;
    $$('[data-theme-toggle]').forEach((btn) => {
      btn.dataset.themeState = mode;
      btn.title = 'Theme: ' + mode + ' (click to change)';
    });
  }

  applyTheme(themeMode);

  doc.addEventListener('click', (e) => {
    const btn = e.target instanceof Element ? e.target.closest('[data-theme-toggle]') : null;
    if (!btn) return;
    e.preventDefault();
    themeMode = THEME_CYCLE[(THEME_CYCLE.indexOf(themeMode) + 1) % THEME_CYCLE.length];
    storeTheme(themeMode);
    applyTheme(themeMode);
  });

  // Keep several open tabs in step.
  window.addEventListener('storage', (e) => {
    if (e.key !== THEME_KEY) return;
    themeMode = readTheme();
    applyTheme(themeMode);
  });

  /* ---------------------------------------------------------------------
     3. Confirmations: <form data-confirm="Really delete?">
     Runs in the capture phase so it answers before other submit handlers.
     --------------------------------------------------------------------- */

  doc.addEventListener('submit', (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    const message = form.getAttribute('data-confirm');
    if (message && !window.confirm(message)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  /* ---------------------------------------------------------------------
     4. Mobile navigation
     --------------------------------------------------------------------- */

  const header = $('.site-header');
  const navToggle = $('.nav-toggle');

  function setNavOpen(open) {
    if (!header || !navToggle) return;
    header.classList.toggle('open', open);
    navToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  if (header && navToggle) {
    navToggle.addEventListener('click', () => {
      setNavOpen(!header.classList.contains('open'));
    });
  }

  /* ---------------------------------------------------------------------
     5. Shortcuts dialog
     --------------------------------------------------------------------- */

  const shortcutsDialog = $('#cb-shortcuts');
  const dialogOpen = () => !!shortcutsDialog && shortcutsDialog.hasAttribute('open');

  function openShortcuts() {
    if (!shortcutsDialog || dialogOpen()) return;
    if (typeof shortcutsDialog.showModal === 'function') {
      try {
        shortcutsDialog.showModal();
        return;
      } catch (_) {
        /* fall through to the plain attribute */
      }
    }
    shortcutsDialog.setAttribute('open', '');
  }

  function closeShortcuts() {
    if (!shortcutsDialog) return;
    if (typeof shortcutsDialog.close === 'function') shortcutsDialog.close();
    else shortcutsDialog.removeAttribute('open');
  }

  if (shortcutsDialog) {
    // A click on the backdrop (outside the dialog's box) closes it.
    shortcutsDialog.addEventListener('click', (e) => {
      if (e.target !== shortcutsDialog) return;
      const r = shortcutsDialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) closeShortcuts();
    });
    // Browsers without <dialog> support ignore method="dialog".
    if (typeof shortcutsDialog.close !== 'function') {
      $$('form[method="dialog"]', shortcutsDialog).forEach((f) => {
        f.addEventListener('submit', (e) => {
          e.preventDefault();
          closeShortcuts();
        });
      });
    }
  }

  /* ---------------------------------------------------------------------
     6. Search suggestions
     --------------------------------------------------------------------- */

  const searchInput = $('#cb-search');
  const suggestList = $('#cb-suggest');
  const suggest = { hide() {}, visible: () => false };

  if (searchInput && suggestList) {
    const MAX_ITEMS = 8;
    const DEBOUNCE_MS = 120;
    let timer = 0;
    let seq = 0;
    let activeIndex = -1;
    let lastQuery = '';

    searchInput.setAttribute('role', 'combobox');
    searchInput.setAttribute('aria-autocomplete', 'list');
    searchInput.setAttribute('aria-controls', suggestList.id);
    searchInput.setAttribute('aria-expanded', 'false');

    const links = () => $$('a', suggestList);
    const visible = () => !suggestList.hidden && suggestList.childElementCount > 0;

    function setActive(index) {
      const items = links();
      activeIndex = items.length ? index : -1;
      items.forEach((a, i) => {
        const on = i === activeIndex;
        a.classList.toggle('active', on);
        a.setAttribute('aria-selected', on ? 'true' : 'false');
        if (on) {
          searchInput.setAttribute('aria-activedescendant', a.id);
          a.scrollIntoView({ block: 'nearest' });
        }
      });
      if (activeIndex < 0) searchInput.removeAttribute('aria-activedescendant');
    }

    function show() {
      if (!suggestList.childElementCount) return;
      suggestList.hidden = false;
      searchInput.setAttribute('aria-expanded', 'true');
    }

    function hide() {
      suggestList.hidden = true;
      searchInput.setAttribute('aria-expanded', 'false');
      setActive(-1);
    }

    function render(suggestions) {
      suggestList.textContent = '';
      activeIndex = -1;
      suggestions
        .filter((s) => s && isLocalPath(s.url))
        .slice(0, MAX_ITEMS)
        .forEach((s, i) => {
          const li = doc.createElement('li');
          li.setAttribute('role', 'none');
          const a = doc.createElement('a');
          a.href = s.url;
          a.id = 'cb-suggest-' + i;
          a.setAttribute('role', 'option');
          a.setAttribute('aria-selected', 'false');
          a.tabIndex = -1;
          const title = doc.createElement('span');
          title.className = 'suggest-title';
          title.textContent = s.title || s.path || s.url;
          const path = doc.createElement('span');
          path.className = 'suggest-path';
          path.textContent = s.path || '';
          a.append(title, path);
          li.append(a);
          suggestList.append(li);
        });
      if (suggestList.childElementCount && doc.activeElement === searchInput) show();
      else hide();
    }

    function clear() {
      seq += 1; // drop any answer still on its way
      lastQuery = '';
      suggestList.textContent = '';
      hide();
    }

    async function lookup(query) {
      const mine = ++seq;
      try {
        const res = await fetch('/api/v1/suggest?q=' + encodeURIComponent(query), {
          credentials: 'same-origin',
          headers: { Accept: 'application/json' },
        });
        if (mine !== seq) return;
        if (!res.ok) throw new Error('HTTP ' + res.status);
        const data = await res.json();
        if (mine !== seq) return;
        lastQuery = query;
        render(data && Array.isArray(data.suggestions) ? data.suggestions : []);
      } catch (_) {
        if (mine === seq) clear();
      }
    }

    searchInput.addEventListener('input', () => {
      window.clearTimeout(timer);
      const query = searchInput.value.trim();
      if (query.length < 2) {
        clear();
        return;
      }
      timer = window.setTimeout(() => lookup(query), DEBOUNCE_MS);
    });

    searchInput.addEventListener('keydown', (e) => {
      if (e.isComposing) return;
      const items = links();
      switch (e.key) {
        case 'ArrowDown':
        case 'ArrowUp': {
          if (!items.length) return;
          e.preventDefault();
          if (!visible()) {
            show();
            setActive(e.key === 'ArrowDown' ? 0 : items.length - 1);
            return;
          }
          const step = e.key === 'ArrowDown' ? 1 : -1;
          const next = activeIndex < 0 && step < 0 ? items.length - 1 : (activeIndex + step + items.length) % items.length;
          setActive(next);
          break;
        }
        case 'Enter':
          if (visible() && activeIndex >= 0 && items[activeIndex]) {
            e.preventDefault();
            go(items[activeIndex].href);
          }
          // otherwise the form submits normally
          break;
        case 'Escape':
          e.preventDefault();
          window.clearTimeout(timer);
          if (visible()) hide();
          else searchInput.blur();
          break;
        default:
          break;
      }
    });

    searchInput.addEventListener('focus', () => {
      if (lastQuery && searchInput.value.trim() === lastQuery) show();
    });

    // Delay so that a click on a suggestion lands before the list goes away.
    searchInput.addEventListener('blur', () => {
      window.setTimeout(() => {
        if (doc.activeElement !== searchInput) hide();
      }, 150);
    });

    // Keep focus in the box while the pointer is on the list.
    suggestList.addEventListener('mousedown', (e) => e.preventDefault());

    suggest.hide = hide;
    suggest.visible = visible;
  }

  /* ---------------------------------------------------------------------
     7. Drafts (the editor itself is editor.js, loaded on the edit page)
     --------------------------------------------------------------------- */

  // The editor keeps unsaved text in this browser and marks a save in the tab's session
  // storage. Landing on the saved page's view means the save went through: its draft is done.
  // Anywhere else (an error page, a sign-in form) the draft stays to be offered again.
  if (!$('#cb-editor-form')) {
    try {
      const saved = window.sessionStorage.getItem('casebook-draft-submitted');
      if (saved !== null) {
        window.sessionStorage.removeItem('casebook-draft-submitted');
        if (decodeURIComponent(window.location.pathname) === '/wiki/' + saved) {
          window.localStorage.removeItem('casebook-draft:' + saved);
        }
      }
    } catch (_) {
      /* no storage, or an address that does not decode: nothing to drop */
    }
  }

  /* ---------------------------------------------------------------------
     8. History: compare needs one "from" and one "to"
     --------------------------------------------------------------------- */

  const compareButton = $('#cb-compare');
  if (compareButton) {
    const scope = compareButton.form || compareButton.closest('form') || doc;
    const update = () => {
      const from = $('input[name="from"]:checked', scope);
      const to = $('input[name="to"]:checked', scope);
      compareButton.disabled = !(from && to);
    };
    scope.addEventListener('change', update);
    // Browsers may restore radio states after a reload or a back navigation.
    window.addEventListener('pageshow', update);
    update();
  }

  /* ---------------------------------------------------------------------
     9. Global keyboard shortcuts
     --------------------------------------------------------------------- */

  const CHORD_MS = 1000;
  let gPressedAt = 0;

  doc.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.isComposing) return;
    const key = e.key;

    if (key === 'Escape') {
      if (suggest.visible()) suggest.hide();
      if (header && header.classList.contains('open')) {
        setNavOpen(false);
        if (navToggle) navToggle.focus();
      }
      gPressedAt = 0;
      return;
    }

    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (key === 'Shift' || key === 'Control' || key === 'Alt' || key === 'Meta') return;
    if (isTypingTarget(e.target) || dialogOpen()) return;

    const chord = gPressedAt && Date.now() - gPressedAt <= CHORD_MS;
    gPressedAt = 0;
    if (chord) {
      if (key === 'h') {
        e.preventDefault();
        go('/');
        return;
      }
      if (key === 'c') {
        e.preventDefault();
        go('/changes');
        return;
      }
      if (key === 'd') {
        e.preventDefault();
        go('/discussions');
        return;
      }
    }

    switch (key) {
      case '/':
        if (searchInput) {
          e.preventDefault();
          searchInput.focus();
          searchInput.select();
        }
        break;
      case 'e': {
        const edit = $('a[data-shortcut="edit"]');
        if (edit && edit.href) {
          e.preventDefault();
          go(edit.href);
        }
        break;
      }
      case 'g':
        gPressedAt = Date.now();
        break;
      case 'n':
        e.preventDefault();
        go('/new');
        break;
      case '?':
        if (shortcutsDialog) {
          e.preventDefault();
          openShortcuts();
        }
        break;
      default:
        break;
    }
  });

  // New page: the kind chosen suggests its folder (the server files it there when the folder
  // is left empty).
  const newPage = doc.getElementById('cb-new-page');
  const newFolder = doc.getElementById('new-folder');
  if (newPage && newFolder) {
    const suggest = () => {
      const kind = newPage.querySelector('input[name="kind"]:checked');
      const folder = kind ? kind.dataset.folder || '' : '';
      newFolder.placeholder = folder ? `${folder} (this kind's folder)` : 'the top of the wiki';
    };
    newPage.addEventListener('change', suggest);
    suggest();
  }

  // Comment boxes: Ctrl+Enter (or Cmd+Enter) sends the form.
  doc.querySelectorAll('textarea[data-submit-shortcut]').forEach((box) => {
    box.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && !e.isComposing && box.form) {
        e.preventDefault();
        if (box.value.trim() && !e.repeat) box.form.requestSubmit();
      }
    });
  });
})();
