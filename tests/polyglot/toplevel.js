// Test fixture for host/tests/all/polyglot.rs: toplevel.py in JavaScript.
import { proc, proto, create, setParams } from 'parproc';

proto({ name: 'child::[n]', types: { n: 'integer' } }, (ctx, { n }) => n);

proc({ name: 'top_create' }, () => {
  create('child::1');
});

proc({ name: 'top_params' }, () => {
  setParams({ x: 1 });
});

proc({ name: 'ctx_create' }, (ctx) => {
  const names = ctx.create('child::2');
  ctx.start(...names);
  ctx.wait(...names);
  return names;
});
