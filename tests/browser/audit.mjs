// What one page says about itself, measured inside chromium (run with page.evaluate, so every
// helper lives inside the function): headings, labels, table headers, language, links and the
// contrast of its text from computed colours (WCAG 2.x relative luminance and contrast ratio,
// https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio).

/** Audits the page it runs in; returns plain JSON. */
export function auditPage() {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const g = canvas.getContext('2d', { willReadFrequently: true });

  // any CSS colour (rgb(), oklch(), color-mix(), named…) as sRGB bytes and an alpha in 0..1
  const seen = new Map();
  function rgba(css) {
    if (seen.has(css)) return seen.get(css);
    g.clearRect(0, 0, 1, 1);
    g.fillStyle = '#000';
    g.fillStyle = css;
    g.fillRect(0, 0, 1, 1);
    const d = g.getImageData(0, 0, 1, 1).data;
    seen.set(css, [d[0], d[1], d[2], d[3] / 255]);
    return seen.get(css);
  }
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
  };
  const lum = (c) => {
    const [r, gg, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * gg + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const hex = (c) => '#' + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');

  // the canvas behind the page: white, or dark when the page opts into a dark scheme
  const root = document.documentElement;
  const dark = /dark/.test(getComputedStyle(root).colorScheme) && matchMedia('(prefers-color-scheme: dark)').matches;
  const canvasColour = dark ? [18, 18, 18, 1] : [255, 255, 255, 1];

  // the colour behind an element: its and its ancestors' backgrounds composed over the canvas
  function backdrop(el) {
    const layers = [];
    let image = false;
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.backgroundImage && cs.backgroundImage !== 'none') image = true;
      layers.push(rgba(cs.backgroundColor));
    }
    let bg = canvasColour;
    for (const l of layers.reverse()) bg = over(l, bg);
    return { bg, image };
  }

  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.classList.length) s += '.' + [...el.classList].join('.');
    const row = el.closest('tr[data-variant]');
    if (row) s = `tr[data-variant=${row.dataset.variant}] ` + s;
    return s;
  };

  const categories = { body: [], link: [], cell: [], badge: [] };
  let imageBackdrops = 0;
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(el.tagName)) continue;
    const { bg, image } = backdrop(el);
    if (image) imageBackdrops++;
    const fg = over(rgba(getComputedStyle(el).color), bg);
    const r = ratio(fg, bg);
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim().slice(0, 40);
    const m = { el: describe(el), text, fg: hex(fg), bg: hex(bg), ratio: Math.round(r * 100) / 100 };
    categories.body.push(m);
    if (el.closest('a')) categories.link.push(m);
    if (el.closest('td, th')) categories.cell.push(m);
    if (el.closest('.badge')) categories.badge.push(m);
  }
  const contrast = {};
  for (const [k, list] of Object.entries(categories)) {
    const min = list.reduce((a, m) => Math.min(a, m.ratio), Infinity);
    const failures = list.filter((m) => m.ratio < 4.5);
    contrast[k] = { checked: list.length, min: list.length ? min : null, failing: failures.length, failures: failures.slice(0, 20) };
  }

  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => ({ level: +h.tagName[1], text: h.textContent.trim().slice(0, 60) }));
  const headingSkips = [];
  let prev = 0;
  for (const h of headings) {
    if (h.level > prev + 1) headingSkips.push(`h${prev || '(start)'} -> h${h.level} "${h.text}"`);
    prev = h.level;
  }

  const named = (el) => el.labels?.length || el.getAttribute('aria-label')?.trim() || (el.getAttribute('aria-labelledby') || '').split(/\s+/).some((id) => id && document.getElementById(id));
  const unlabeled = [...document.querySelectorAll('input, select, textarea')].filter((el) => el.type !== 'hidden' && !named(el)).map(describe);

  const thWithoutScope = [...document.querySelectorAll('th')].filter((th) => !th.hasAttribute('scope')).map((th) => `${th.closest('table')?.id || 'table'}: ${th.textContent.trim().slice(0, 30)}`);
  const fleetTh = [...document.querySelectorAll('#fleet th')].map((th) => th.getAttribute('scope'));

  const refs = [
    ...[...document.querySelectorAll('a[href]')].map((a) => ({ kind: 'a', href: a.getAttribute('href'), url: a.href })),
    ...[...document.querySelectorAll('link[href]')].map((l) => ({ kind: 'link', href: l.getAttribute('href'), url: l.href })),
    ...[...document.querySelectorAll('script[src], img[src]')].map((s) => ({ kind: s.tagName.toLowerCase(), href: s.getAttribute('src'), url: s.src })),
  ];
  const ids = [...document.querySelectorAll('[id], a[name]')].map((e) => e.id || e.getAttribute('name'));
  const imagesWithoutAlt = [...document.querySelectorAll('img:not([alt])')].map(describe);
  const emptyLinks = [...document.querySelectorAll('a[href]')].filter((a) => !a.textContent.trim() && !a.getAttribute('aria-label')).map((a) => a.getAttribute('href'));

  return {
    title: document.title,
    lang: root.getAttribute('lang'),
    h1: headings.filter((h) => h.level === 1).length,
    headings,
    headingSkips,
    unlabeled,
    thWithoutScope,
    fleetTh,
    main: document.querySelectorAll('main').length,
    imagesWithoutAlt,
    emptyLinks,
    contrast,
    imageBackdrops,
    refs,
    ids,
  };
}

/** What has the focus, and whether it shows (computed outline or box-shadow). */
export function focused() {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id || null,
    href: el.getAttribute('href'),
    text: (el.textContent || '').trim().slice(0, 40),
    outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
    boxShadow: cs.boxShadow,
    visible: outline || (cs.boxShadow && cs.boxShadow !== 'none'),
    onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.left < innerWidth && r.top < innerHeight,
    inMain: !!el.closest('main'),
  };
}
