// Small DOM helpers, number and time formats, and the banner under the top bar.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'style') node.style.cssText = v;  // a style attribute would break serve's CSP
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const numberFormat = new Intl.NumberFormat('en-US', {maximumFractionDigits: 3});
export function formatValue(v) {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'number') return numberFormat.format(v);
  return String(v);
}
export function formatTime(ms) {
  return new Date(ms).toLocaleTimeString('en-GB', {hour12: false});
}

let bannerOwner = '';
export function showBanner(text, kind = 'error', owner = '') {
  const b = $('banner');
  b.textContent = text;
  b.dataset.kind = kind;
  b.hidden = false;
  bannerOwner = owner;
}
export function hideBanner(owner = '') {
  if (owner && owner !== bannerOwner) return;
  $('banner').hidden = true;
}

const compactFormat = new Intl.NumberFormat('en-US', {notation: 'compact', maximumFractionDigits: 1});
export function compactNumber(v) { return compactFormat.format(v); }
