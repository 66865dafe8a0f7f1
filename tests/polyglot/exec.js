// Test fixture for host/tests/all/tools.rs: `ctx.exec` through the JavaScript SDK, running
// the preview1 test tool `p1` (tests/tools/tool_p1.c); the same module as exec.py and exec.c.

import * as pp from 'parproc';

const P1 = { tools: ['p1'], dirs: ['/data'] };
const text = (bytes) => new TextDecoder().decode(bytes);
const answer = (r) => ({
  exit: r.exitCode,
  stdout: text(r.stdout),
  stderr: text(r.stderr),
  truncated: r.truncated,
});

pp.proc({ name: 'echo', needs: P1 }, (ctx) =>
  answer(ctx.exec({ tool: 'p1', args: ['echo', 'a', 'b'], env: { GREETING: 'hi' } })),
);
pp.proc({ name: 'cut', needs: P1 }, (ctx) =>
  answer(ctx.exec({ tool: 'p1', args: ['echo', 'a', 'b'], maxOutput: 4 })),
);
pp.proc({ name: 'stdin', needs: P1 }, (ctx) =>
  answer(ctx.exec({ tool: 'p1', args: ['stdin'], stdin: 'piped in' })),
);
pp.proc({ name: 'cat', needs: P1 }, (ctx) =>
  answer(ctx.exec({ tool: 'p1', args: ['cat', '/data/in.txt'], dirs: ['/data'] })),
);
// Has /data but does not pass it on.
pp.proc({ name: 'unpassed', needs: P1 }, (ctx) =>
  answer(ctx.exec({ tool: 'p1', args: ['cat', '/data/in.txt'] })),
);
pp.proc({ name: 'undeclared', needs: P1 }, (ctx) => {
  try {
    ctx.exec({ tool: 'p2', args: ['echo'] });
  } catch (e) {
    return { err: e.message };
  }
  return { err: null };
});
