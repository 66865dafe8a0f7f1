// Test fixture for host/tests/all/http.rs: outgoing HTTP from JavaScript with the ordinary
// `fetch` (componentize-js's, over the world's wasi:http), to the test server on
// 127.0.0.1:18631. The same cases as tests/programs/http_jobs (Rust) and http.py (Python):
// a result is {status, body, len} or {err} with the error's message.

import * as pp from 'parproc';

const SERVER = 'http://127.0.0.1:18631';

async function get(url, keep) {
  try {
    // The host never follows redirects; `manual` lets the proc see the 302.
    const r = await fetch(url, { redirect: 'manual' });
    if (keep) {
      const body = await r.text();
      return { status: r.status, body, len: body.length, location: r.headers.get('location') };
    }
    let len = 0;
    const reader = r.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      len += value.length;
    }
    return { status: r.status, len };
  } catch (e) {
    return { err: String(e && e.message ? e.message : e) };
  }
}

pp.proto(
  { name: 'get::[case]', needs: { http: [SERVER] } },
  async (ctx, { case: c }) => {
    switch (c) {
      case 'denied':
        return get('http://127.0.0.1:18632/hello', true);
      case 'redirect': {
        const first = await get(`${SERVER}/redirect`, true);
        if (first.err) return first;
        return { first: first.status, then: await get(first.location, true) };
      }
      case 'stream':
        return get(`${SERVER}/huge`, false);
      case 'huge':
        return get(`${SERVER}/huge`, true);
      default:
        return get(`${SERVER}/${c}`, true);
    }
  },
);

// HTTPS to the test server's TLS port, whose certificate the test's own CA signed.
pp.proc({ name: 'tls', needs: { http: ['https://localhost:18633'] } }, () =>
  get('https://localhost:18633/hello', true),
);

// Declares no origin, asks anyway.
pp.proc({ name: 'nohttp' }, () => get(`${SERVER}/hello`, true));
