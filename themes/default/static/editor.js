/*
 * Casebook — the page editor.
 *
 * Loaded on the edit page only, after casebook.js. Progressive enhancement: the
 * editor is a plain <textarea> in a plain form, and everything here only helps
 * (spell check, screen readers and a browser without JavaScript keep working).
 *
 *   1. Helpers
 *   2. Live preview (beside the text on wide screens, a tab on small ones)
 *   3. Toolbar and formatting shortcuts
 *   4. Completion: [[ pages and @ people
 *   5. Attachments: paste, drop or pick a file
 *   6. Drafts kept in this browser, and leaving with unsaved text
 *   7. Save (Ctrl+S)
 */
(() => {
  'use strict';

  const doc = document;
  const $ = (sel, ctx = doc) => ctx.querySelector(sel);
  const $$ = (sel, ctx = doc) => Array.from(ctx.querySelectorAll(sel));
  const form = $('#cb-editor-form');
  const textarea = form && $('#cb-editor', form);
  if (!form || !textarea) return;

  /* ---------------------------------------------------------------------
     1. Helpers
     --------------------------------------------------------------------- */

  const csrfToken = () => {
    const m = $('meta[name="csrf-token"]');
    return m ? m.content : '';
  };
  const preview = $('#cb-preview');
  const statusLine = $('#cb-editor-status');
  const pagePath = form.dataset.page || '';
  const attachUrl = form.dataset.attachments || '';
  const baseInput = $('input[name="base_revision"]', form);
  const wide = window.matchMedia('(min-width: 64rem)');

  const say = (text) => {
    if (statusLine) statusLine.textContent = text;
  };

  const errorMessage = async (res) => {
    try {
      const data = await res.json();
      if (data && data.error && typeof data.error.message === 'string') return data.error.message;
    } catch (_) {
      /* not JSON */
    }
    return 'the server answered ' + res.status;
  };

  const debounce = (fn, ms) => {
    let timer = 0;
    return (...args) => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => fn(...args), ms);
    };
  };

  /** Replaces the selection with `text` as typing would, so that undo works. */
  const insert = (text, selectFrom, selectTo) => {
    const start = textarea.selectionStart;
    textarea.focus();
    let done = false;
    try {
      done = doc.execCommand('insertText', false, text);
    } catch (_) {
      done = false;
    }
    if (!done) {
      textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, 'end');
      textarea.dispatchEvent(new Event('input', { bubbles: true }));
    }
    if (selectFrom !== undefined) {
      textarea.setSelectionRange(start + selectFrom, start + (selectTo === undefined ? selectFrom : selectTo));
    }
  };

  /** Selects the characters from `from` to the cursor, to be replaced by the next insert. */
  const selectBack = (from) => {
    textarea.setSelectionRange(from, textarea.selectionEnd);
  };

  /** Where the caret is, in the textarea's coordinates (a mirror of the text up to it). */
  const caretPoint = () => {
    const style = window.getComputedStyle(textarea);
    const mirror = doc.createElement('div');
    for (const prop of ['boxSizing', 'width', 'fontFamily', 'fontSize', 'fontWeight', 'lineHeight',
      'letterSpacing', 'paddingTop', 'paddingRight', 'paddingBottom', 'paddingLeft',
      'borderTopWidth', 'borderRightWidth', 'borderBottomWidth', 'borderLeftWidth', 'tabSize']) {
      mirror.style[prop] = style[prop];
    }
    mirror.style.position = 'absolute';
    mirror.style.visibility = 'hidden';
    mirror.style.whiteSpace = 'pre-wrap';
    mirror.style.overflowWrap = 'break-word';
    mirror.textContent = textarea.value.slice(0, textarea.selectionEnd);
    const mark = doc.createElement('span');
    mark.textContent = '\u200b';
    mirror.append(mark);
    doc.body.append(mirror);
    const point = {
      left: mark.offsetLeft - textarea.scrollLeft,
      top: mark.offsetTop - textarea.scrollTop + mark.offsetHeight,
    };
    mirror.remove();
    return point;
  };

  /* ---------------------------------------------------------------------
     2. Live preview
     --------------------------------------------------------------------- */

  const tabs = $$('.editor-tabs .tab', form);
  const previewUrl = form.dataset.preview;
  let renderedFor = null;
  let renderSeq = 0;

  const previewMessage = (text, className) => {
    preview.textContent = '';
    const p = doc.createElement('p');
    p.className = className;
    p.textContent = text;
    preview.append(p);
  };

  const renderPreview = async () => {
    if (!preview || preview.hidden) return;
    const text = textarea.value;
    if (text === renderedFor) return;
    const mine = ++renderSeq;
    preview.setAttribute('aria-busy', 'true');
    try {
      const res = await fetch(previewUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'X-Requested-With': 'casebook',
          'X-CSRF-Token': csrfToken(),
        },
        body: new URLSearchParams({ markdown: text }).toString(),
      });
      if (mine !== renderSeq) return;
      if (!res.ok) throw new Error(await errorMessage(res));
      const html = await res.text();
      if (mine !== renderSeq) return;
      // The server sanitises the preview's HTML before sending it.
      preview.innerHTML = html;
      if (!html.trim()) previewMessage('Nothing to preview yet.', 'preview-status');
      renderedFor = text;
      followScroll();
    } catch (err) {
      if (mine !== renderSeq) return;
      renderedFor = null;
      const why = err && err.message ? err.message : 'network error';
      previewMessage('Could not render the preview (' + why + '). Your text is unchanged.', 'preview-error');
    } finally {
      if (mine === renderSeq) preview.removeAttribute('aria-busy');
    }
  };

  // The preview keeps the same share of its height scrolled as the text.
  const followScroll = () => {
    if (!preview || preview.hidden || !form.classList.contains('split')) return;
    const range = textarea.scrollHeight - textarea.clientHeight;
    const share = range > 0 ? textarea.scrollTop / range : 0;
    preview.scrollTop = share * (preview.scrollHeight - preview.clientHeight);
  };

  const showTab = (name, moveFocus) => {
    if (form.classList.contains('split')) {
      renderPreview();
      return;
    }
    const wantPreview = name === 'preview';
    tabs.forEach((tab) => {
      const on = (tab.dataset.tab === 'preview') === wantPreview;
      tab.classList.toggle('active', on);
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
    });
    textarea.hidden = wantPreview;
    preview.hidden = !wantPreview;
    if (wantPreview) {
      renderPreview();
      if (moveFocus) preview.focus({ preventScroll: true });
    } else if (moveFocus) {
      textarea.focus();
    }
  };

  // Wide screens: text and preview side by side, the tabs hidden. Small: tabs.
  const layout = () => {
    const split = wide.matches;
    form.classList.toggle('split', split);
    if (split) {
      textarea.hidden = false;
      preview.hidden = false;
      renderPreview();
    } else {
      showTab('write', false);
    }
  };

  if (preview) {
    preview.tabIndex = -1;
    tabs.forEach((tab) => {
      const panel = tab.dataset.tab === 'preview' ? preview : textarea;
      tab.setAttribute('aria-controls', panel.id);
      tab.setAttribute('aria-selected', tab.classList.contains('active') ? 'true' : 'false');
      tab.addEventListener('click', (e) => {
        e.preventDefault();
        showTab(tab.dataset.tab, false);
      });
      tab.addEventListener('keydown', (e) => {
        if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
          e.preventDefault();
          const next = tab.dataset.tab === 'write' ? 'preview' : 'write';
          showTab(next, false);
          $('.tab[data-tab="' + next + '"]', form).focus();
        }
      });
    });
    preview.setAttribute('role', 'tabpanel');
    preview.setAttribute('aria-labelledby', 'cb-tab-preview');
    textarea.addEventListener('input', debounce(renderPreview, 350));
    textarea.addEventListener('scroll', followScroll, { passive: true });
    if (typeof wide.addEventListener === 'function') wide.addEventListener('change', layout);
    layout();
  }

  /* ---------------------------------------------------------------------
     3. Toolbar and formatting shortcuts
     --------------------------------------------------------------------- */

  const toolbar = $('.editor-toolbar', form);

  /** Wraps the selection in `before`/`after`, or inserts `placeholder` wrapped and selects it. */
  const wrap = (before, after, placeholder) => {
    const { selectionStart: s, selectionEnd: e, value } = textarea;
    const chosen = value.slice(s, e);
    if (chosen) {
      insert(before + chosen + after, before.length, before.length + chosen.length);
    } else {
      insert(before + placeholder + after, before.length, before.length + placeholder.length);
    }
  };

  /** Puts `prefix(n)` at the start of every line the selection touches. */
  const prefixLines = (prefix) => {
    const { selectionStart: s, selectionEnd: e, value } = textarea;
    const from = value.lastIndexOf('\n', s - 1) + 1;
    let to = value.indexOf('\n', e);
    if (to < 0) to = value.length;
    const lines = value.slice(from, to).split('\n');
    const out = lines.map((line, i) => prefix(i) + line).join('\n');
    textarea.setSelectionRange(from, to);
    insert(out, out.length);
  };

  /** Starts a block on a line of its own, with a blank line before when needed. */
  const block = (text, selectFrom, selectTo) => {
    const { selectionStart: s, value } = textarea;
    const lineStart = value.lastIndexOf('\n', s - 1) + 1;
    let lead = '';
    if (s > lineStart) lead = '\n\n';
    else if (s > 0 && value.charAt(s - 2) !== '\n') lead = '\n';
    insert(lead + text, lead.length + selectFrom, lead.length + selectTo);
  };

  const commands = {
    bold: () => wrap('**', '**', 'bold text'),
    italic: () => wrap('_', '_', 'italic text'),
    code: () => {
      const chosen = textarea.value.slice(textarea.selectionStart, textarea.selectionEnd);
      if (chosen.includes('\n')) wrap('```\n', '\n```', '');
      else wrap('`', '`', 'code');
    },
    heading: () => prefixLines(() => '## '),
    ul: () => prefixLines(() => '- '),
    ol: () => prefixLines((i) => i + 1 + '. '),
    link: () => {
      const chosen = textarea.value.slice(textarea.selectionStart, textarea.selectionEnd);
      if (/^https?:\/\/\S+$/.test(chosen)) {
        insert('[link text](' + chosen + ')', 1, 10);
      } else {
        const text = chosen || 'link text';
        insert('[' + text + '](https://)', text.length + 3, text.length + 11);
      }
    },
    wikilink: () => {
      insert('[[');
      complete.check();
    },
    table: () => block('| Column | Column |\n| --- | --- |\n| Cell | Cell |\n', 2, 8),
    attach: () => picker && picker.click(),
  };

  if (toolbar) {
    toolbar.hidden = false;
    const buttons = $$('button', toolbar);
    toolbar.addEventListener('mousedown', (e) => {
      // Keep the text's selection while a button is pressed.
      if (e.target.closest('button')) e.preventDefault();
    });
    toolbar.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-cmd]');
      if (!button) return;
      const cmd = commands[button.dataset.cmd];
      if (cmd) {
        textarea.focus();
        cmd();
      }
    });
    // One tab stop for the whole toolbar; arrows move along it.
    toolbar.addEventListener('keydown', (e) => {
      const i = buttons.indexOf(doc.activeElement);
      if (i < 0) return;
      let next = -1;
      if (e.key === 'ArrowRight') next = (i + 1) % buttons.length;
      else if (e.key === 'ArrowLeft') next = (i - 1 + buttons.length) % buttons.length;
      else if (e.key === 'Home') next = 0;
      else if (e.key === 'End') next = buttons.length - 1;
      if (next < 0) return;
      e.preventDefault();
      buttons[i].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });
  }

  textarea.addEventListener('keydown', (e) => {
    if (complete.handleKey(e)) return;
    if (!(e.ctrlKey || e.metaKey) || e.isComposing) return;
    const key = e.key.toLowerCase();
    let cmd = null;
    if (!e.shiftKey && !e.altKey) {
      cmd = { b: 'bold', i: 'italic', k: 'link', e: 'code' }[key];
    } else if (e.shiftKey && !e.altKey) {
      if (key === 'k') cmd = 'wikilink';
      else if (e.code === 'Digit8' || key === '*') cmd = 'ul';
      else if (e.code === 'Digit7' || key === '&') cmd = 'ol';
    } else if (e.altKey && !e.shiftKey && (e.code === 'Digit2' || key === '2')) {
      cmd = 'heading';
    }
    if (cmd) {
      e.preventDefault();
      commands[cmd]();
    }
  });

  /* ---------------------------------------------------------------------
     4. Completion: [[ pages and @ people
     --------------------------------------------------------------------- */

  const complete = (() => {
    const list = doc.createElement('ul');
    list.id = 'cb-complete';
    list.className = 'complete';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', 'Suggestions');
    list.hidden = true;
    textarea.parentNode.append(list);
    textarea.setAttribute('aria-autocomplete', 'list');
    textarea.setAttribute('aria-controls', list.id);

    let items = [];
    let active = -1;
    let context = null; // { kind: 'page' | 'person', from, query }
    let seq = 0;
    const folder = pagePath.includes('/') ? pagePath.slice(0, pagePath.lastIndexOf('/') + 1) : '';

    const hide = () => {
      list.hidden = true;
      list.textContent = '';
      items = [];
      active = -1;
      textarea.removeAttribute('aria-activedescendant');
      textarea.setAttribute('aria-expanded', 'false');
    };

    const setActive = (i) => {
      active = i;
      $$('li', list).forEach((li, n) => li.setAttribute('aria-selected', n === i ? 'true' : 'false'));
      if (i >= 0) textarea.setAttribute('aria-activedescendant', 'cb-complete-' + i);
      else textarea.removeAttribute('aria-activedescendant');
    };

    /** What the text before the caret asks to complete, if anything. */
    const contextAt = () => {
      const end = textarea.selectionEnd;
      if (textarea.selectionStart !== end) return null;
      const before = textarea.value.slice(Math.max(0, end - 120), end);
      const wiki = before.match(/\[\[([^\]\[\n|#]{0,80})$/);
      if (wiki) return { kind: 'page', from: end - wiki[1].length - 2, query: wiki[1] };
      const person = before.match(/(^|[\s(])@([\p{L}\p{N}._-]{1,40})$/u);
      if (person) return { kind: 'person', from: end - person[2].length - 1, query: person[2] };
      return null;
    };

    const fetchItems = async (ctx) => {
      if (ctx.kind === 'page') {
        if (!ctx.query.trim()) return [];
        const res = await fetch('/api/v1/suggest?q=' + encodeURIComponent(ctx.query.trim()), {
          credentials: 'same-origin',
        });
        if (!res.ok) return [];
        const data = await res.json();
        return (data.suggestions || [])
          .filter((s) => s.path !== pagePath)
          .map((s) => ({ label: s.title, detail: s.path, value: s }));
      }
      const res = await fetch('/api/v1/people?q=' + encodeURIComponent(ctx.query), { credentials: 'same-origin' });
      if (!res.ok) return [];
      const data = await res.json();
      return (data.people || []).map((p) => ({ label: p.name, detail: '', value: p }));
    };

    const render = () => {
      list.textContent = '';
      items.forEach((item, i) => {
        const li = doc.createElement('li');
        li.id = 'cb-complete-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        const label = doc.createElement('span');
        label.className = 'complete-label';
        label.textContent = item.label;
        li.append(label);
        if (item.detail && item.detail !== item.label) {
          const detail = doc.createElement('span');
          detail.className = 'complete-detail';
          detail.textContent = item.detail;
          li.append(detail);
        }
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          choose(i);
        });
        list.append(li);
      });
      const point = caretPoint();
      list.style.left = Math.max(0, Math.min(point.left, textarea.clientWidth - 240)) + textarea.offsetLeft + 'px';
      list.style.top = Math.min(point.top, textarea.clientHeight) + textarea.offsetTop + 4 + 'px';
      list.hidden = false;
      textarea.setAttribute('aria-expanded', 'true');
      setActive(0);
    };

    const check = async () => {
      const ctx = contextAt();
      context = ctx;
      if (!ctx) return hide();
      const mine = ++seq;
      let found = [];
      try {
        found = await fetchItems(ctx);
      } catch (_) {
        found = [];
      }
      if (mine !== seq) return undefined;
      items = found.slice(0, 8);
      if (!items.length) return hide();
      render();
      return undefined;
    };

    const choose = (i) => {
      const item = items[i];
      const ctx = context;
      if (!item || !ctx) return;
      selectBack(ctx.from);
      if (ctx.kind === 'page') {
        const path = item.value.path;
        // The page's own folder is searched first, so a neighbour needs only its name.
        const name = folder && path.startsWith(folder) && !path.slice(folder.length).includes('/')
          ? path.slice(folder.length)
          : path;
        const rest = textarea.value.slice(textarea.selectionEnd, textarea.selectionEnd + 2);
        insert('[[' + name + (rest === ']]' ? '' : ']]'));
        if (rest === ']]') textarea.setSelectionRange(textarea.selectionEnd + 2, textarea.selectionEnd + 2);
      } else {
        insert('[@' + item.value.name + '](/people/' + encodeURIComponent(item.value.name) + ')');
      }
      hide();
      context = null;
    };

    const handleKey = (e) => {
      if (list.hidden || !items.length) return false;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setActive((active + step + items.length) % items.length);
        return true;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && active >= 0) {
        e.preventDefault();
        choose(active);
        return true;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        hide();
        return true;
      }
      return false;
    };

    const later = debounce(check, 150);
    textarea.addEventListener('input', later);
    textarea.addEventListener('blur', () => window.setTimeout(hide, 150));
    textarea.addEventListener('click', later);
    return { check, handleKey };
  })();

  /* ---------------------------------------------------------------------
     5. Attachments: paste, drop or pick a file
     --------------------------------------------------------------------- */

  let picker = null;

  /** The markdown that shows or links the uploaded file, relative to the page. */
  const attachmentMarkdown = (name, isImage) => {
    const leaf = pagePath.slice(pagePath.lastIndexOf('/') + 1);
    const target = '<' + leaf + '.files/' + name + '>';
    const label = name.replace(/\.[^.]+$/, '').replace(/[[\]]/g, '');
    return (isImage ? '!' : '') + '[' + label + '](' + target + ')';
  };

  const cleanName = (file, i) => {
    let name = (file.name || '').split(/[\\/]/).pop().replace(/[\u0000-\u001f]/g, '').trim();
    if (!name || name === 'image.png' || name.startsWith('.')) {
      const ext = (file.type.split('/')[1] || 'bin').replace(/[^a-z0-9]/gi, '').slice(0, 5) || 'bin';
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      name = 'pasted-' + stamp + (i ? '-' + i : '') + '.' + ext;
    }
    return name;
  };

  const upload = async (files) => {
    if (!attachUrl) {
      say('Save the page once, then you can attach files to it.');
      return;
    }
    for (const [i, file] of files.entries()) {
      const name = cleanName(file, i);
      const isImage = file.type.startsWith('image/') && file.type !== 'image/svg+xml';
      const marker = '<!-- uploading ' + name + ' -->';
      insert(marker);
      say('Uploading ' + name + '…');
      let done = '';
      try {
        const res = await fetch(attachUrl + '/' + encodeURIComponent(name), {
          method: 'PUT',
          credentials: 'same-origin',
          headers: {
            'Content-Type': file.type || 'application/octet-stream',
            'X-Requested-With': 'casebook',
            'X-CSRF-Token': csrfToken(),
          },
          body: file,
        });
        if (!res.ok) throw new Error(await errorMessage(res));
        done = attachmentMarkdown(name, isImage);
        say(name + ' is attached.');
        doc.dispatchEvent(new CustomEvent('casebook:attached', { detail: { name } }));
      } catch (err) {
        say('Could not attach ' + name + ': ' + (err && err.message ? err.message : 'network error') + '.');
      }
      const at = textarea.value.indexOf(marker);
      if (at >= 0) {
        const caret = textarea.selectionEnd;
        textarea.setSelectionRange(at, at + marker.length);
        insert(done);
        const shift = done.length - marker.length;
        const back = caret > at ? caret + shift : caret;
        textarea.setSelectionRange(back, back);
      }
    }
  };

  if (attachUrl) {
    picker = doc.createElement('input');
    picker.type = 'file';
    picker.multiple = true;
    picker.hidden = true;
    picker.setAttribute('aria-hidden', 'true');
    picker.tabIndex = -1;
    form.append(picker);
    picker.addEventListener('change', () => {
      const files = Array.from(picker.files || []);
      picker.value = '';
      if (files.length) upload(files);
    });
  }

  textarea.addEventListener('paste', (e) => {
    const files = Array.from((e.clipboardData && e.clipboardData.files) || []);
    if (!files.length) return;
    e.preventDefault();
    upload(files);
  });
  textarea.addEventListener('dragover', (e) => {
    if (e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files')) {
      e.preventDefault();
      textarea.classList.add('dropping');
    }
  });
  textarea.addEventListener('dragleave', () => textarea.classList.remove('dropping'));
  textarea.addEventListener('drop', (e) => {
    textarea.classList.remove('dropping');
    const files = Array.from((e.dataTransfer && e.dataTransfer.files) || []);
    if (!files.length) return;
    e.preventDefault();
    upload(files);
  });

  /* ---------------------------------------------------------------------
     6. Drafts kept in this browser, and leaving with unsaved text
     --------------------------------------------------------------------- */

  const DRAFT_PREFIX = 'casebook-draft:';
  const SUBMITTED = 'casebook-draft-submitted';
  const store = (() => {
    try {
      const s = window.localStorage;
      s.setItem('casebook-probe', '1');
      s.removeItem('casebook-probe');
      return s;
    } catch (_) {
      return null;
    }
  })();
  // One draft per page; it remembers the revision the edit started from, so that restoring it
  // later merges it with what was saved meanwhile instead of overwriting it.
  const draftKey = DRAFT_PREFIX + pagePath;
  const controls = () =>
    $$('input[name], select[name], textarea[name]', form).filter(
      (el) => !['csrf_token', 'base_revision'].includes(el.name) && el.type !== 'file' && el.type !== 'hidden',
    );
  const valueOf = (el) => (el.type === 'checkbox' || el.type === 'radio' ? String(el.checked) : el.value);
  const initialOf = (el) => {
    if (el.type === 'checkbox' || el.type === 'radio') return String(el.defaultChecked);
    if (el.tagName === 'SELECT') {
      const chosen = Array.from(el.options).find((o) => o.defaultSelected) || el.options[0];
      return chosen ? chosen.value : '';
    }
    return el.defaultValue;
  };
  const snapshot = () => {
    const values = {};
    controls().forEach((el) => {
      values[el.name] = valueOf(el);
    });
    return values;
  };
  const isDirty = () => controls().some((el) => valueOf(el) !== initialOf(el));

  const readDraft = () => {
    if (!store) return null;
    try {
      const d = JSON.parse(store.getItem(draftKey) || 'null');
      return d && typeof d === 'object' && d.values ? d : null;
    } catch (_) {
      return null;
    }
  };

  const saveDraft = () => {
    if (!store) return;
    try {
      if (!isDirty()) {
        store.removeItem(draftKey);
        return;
      }
      const d = { values: snapshot(), base: baseInput ? baseInput.value : '', at: Date.now() };
      store.setItem(draftKey, JSON.stringify(d));
    } catch (_) {
      /* storage full or refused: the text is still in the form */
    }
  };

  const dropDraft = () => {
    if (store) store.removeItem(draftKey);
  };

  // A save marks the page in this tab's session storage. A save that went through lands on the
  // page's view, where casebook.js drops the draft; one that did not (a conflict, an expired
  // session) comes back here or to an error page, and the draft stays.
  let cameBackFromSave = false;
  try {
    cameBackFromSave = window.sessionStorage.getItem(SUBMITTED) === pagePath;
    window.sessionStorage.removeItem(SUBMITTED);
  } catch (_) {
    /* no session storage */
  }

  const banner = $('#cb-draft');
  const offerDraft = () => {
    const d = readDraft();
    if (!d || !banner || cameBackFromSave) return;
    const same = controls().every((el) => d.values[el.name] === undefined || d.values[el.name] === valueOf(el));
    if (same) {
      dropDraft();
      return;
    }
    const when = new Date(d.at);
    const time = $('time', banner);
    time.dateTime = when.toISOString();
    const today = new Date().toDateString() === when.toDateString();
    time.textContent = today
      ? when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
      : when.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
    banner.hidden = false;
    $('[data-draft="restore"]', banner).addEventListener('click', () => {
      controls().forEach((el) => {
        const v = d.values[el.name];
        if (v === undefined) return;
        if (el.type === 'checkbox' || el.type === 'radio') el.checked = v === 'true';
        else el.value = v;
      });
      // Saved from where the draft started, the save merges the draft with later edits.
      if (baseInput && d.base) baseInput.value = d.base;
      banner.hidden = true;
      renderedFor = null;
      renderPreview();
      say('Your unsaved text is back.');
      textarea.focus();
    });
    $('[data-draft="discard"]', banner).addEventListener('click', () => {
      dropDraft();
      banner.hidden = true;
      say('The unsaved text was discarded.');
      textarea.focus();
    });
  };

  offerDraft();
  const keepDraft = debounce(saveDraft, 400);
  form.addEventListener('input', keepDraft);
  form.addEventListener('change', keepDraft);
  window.addEventListener('pagehide', saveDraft);

  let submitting = false;
  form.addEventListener('submit', (e) => {
    if (e.defaultPrevented) return;
    saveDraft();
    submitting = true;
    try {
      window.sessionStorage.setItem(SUBMITTED, pagePath);
    } catch (_) {
      /* no session storage: the draft is offered again next time, and can be discarded */
    }
  });
  window.addEventListener('beforeunload', (e) => {
    if (submitting || !isDirty()) return undefined;
    e.preventDefault();
    e.returnValue = '';
    return '';
  });
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) submitting = false;
  });

  /* ---------------------------------------------------------------------
     7. Save (Ctrl+S), preview (Ctrl+Enter)
     --------------------------------------------------------------------- */

  const submitEditor = () => {
    if (submitting) return;
    const button = $('button[type="submit"].primary', form) || $('button[type="submit"]', form);
    if (typeof form.requestSubmit === 'function') form.requestSubmit(button || undefined);
    else {
      form.dispatchEvent(new Event('submit', { cancelable: true }));
      form.submit();
    }
  };

  doc.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.isComposing) return;
    if (e.key === 's' || e.key === 'S') {
      e.preventDefault();
      if (!e.repeat) submitEditor();
    } else if (e.key === 'Enter' && preview && !form.classList.contains('split')) {
      e.preventDefault();
      showTab(preview.hidden ? 'preview' : 'write', true);
    }
  });
})();
