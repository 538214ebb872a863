// Loads uWebSockets.js's native binary, and only it.
//
// The package we install (@trufflesuite/uws-js-unofficial, the one build of uWebSockets.js on
// the npm registry that loads on Debian 12's glibc) silently falls back to a slow pure-JS server
// when its binary fails to load. A broker quietly serving HTTP at a fraction of its speed is a
// production incident, so we require the binary file ourselves and fail start-up loudly instead.
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Uws from '@trufflesuite/uws-js-unofficial';
import { GatewayError } from './errors.js';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket as ListenSocket } from '@trufflesuite/uws-js-unofficial';
export type UwsModule = typeof Uws;

const PACKAGE = '@trufflesuite/uws-js-unofficial';
let loaded: UwsModule | undefined;

/** The native uWebSockets.js module. @throws GatewayError UWS_NATIVE_UNAVAILABLE */
export function loadUws(): UwsModule {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  let file: string;
  try {
    file = path.join(path.dirname(require.resolve(`${PACKAGE}/package.json`)), 'binaries', binary);
  } catch (error) {
    throw new GatewayError('UWS_NATIVE_UNAVAILABLE', `${PACKAGE} is not installed (npm ci installs it)`, { cause: error });
  }
  try {
    loaded = require(file) as UwsModule;
  } catch (error) {
    throw new GatewayError(
      'UWS_NATIVE_UNAVAILABLE',
      `uWebSockets.js native binary ${binary} did not load (${error instanceof Error ? error.message : String(error)}); ` +
        'refusing the slow JavaScript fallback. Set gatewayEnable=false to run the broker without the gateway.',
      { cause: error },
    );
  }
  if (typeof loaded.App !== 'function' || typeof loaded.us_listen_socket_close !== 'function') {
    throw new GatewayError('UWS_NATIVE_UNAVAILABLE', `${file} is not the uWebSockets.js native module`);
  }
  return loaded;
}
