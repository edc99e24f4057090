// The JSON API of pivot serve (docs/serve.md): fetch with the bearer token,
// errors as ApiError with the line and column of a query text's error.
import {$, showBanner} from './util.js';

export const auth = {
  token: sessionStorage.getItem('pivot-token') || '',
  headers() { return this.token ? {Authorization: 'Bearer ' + this.token} : {}; },
};

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.line = e.line || 0;
    this.column = e.column || 0;
  }
}

export async function api(path, {method = 'GET', body} = {}) {
  const init = {method, headers: auth.headers()};
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, {error: {message: 'serve is unreachable: ' + e.message}});
  }
  let json = null;
  try { json = await res.json(); } catch { /* not JSON: the status says enough */ }
  if (res.status === 401) askForToken();
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export function askForToken() {
  const button = $('token-button');
  button.hidden = false;
  showBanner('serve wants a bearer token for this (401): press "token…"', 'warn');
}
