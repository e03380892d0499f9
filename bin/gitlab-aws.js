#!/usr/bin/env node
// Tiny launcher: everything lives in the compiled CLI (built by `npm install` through `prepare`).
// gitlab-aws pins SDK releases that still support Node 20, so the SDK's Node-version notice is
// not actionable for our users; silence it unless they opted in explicitly.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv.slice(2));
