/**
 * The error classes of spottune3d. Each has a stable `code` callers can branch on.
 * @module
 */

/** A failure inside LibTorch or the addon, raised as a JS error at the caller's stack. */
export class TorchError extends Error {
  /** Stable code: ERR_TORCH, ERR_OUT_OF_MEMORY, ERR_CUDA_UNAVAILABLE, ERR_DISPOSED, ERR_NONFINITE_LOSS, ... */
  readonly code: string;
  constructor(message: string, code = 'ERR_TORCH', options?: ErrorOptions) {
    super(message, options);
    this.name = 'TorchError';
    this.code = code;
  }
}

/** The addon could not be loaded; the message lists every path tried and what to do. */
export class NativeLoadError extends Error {
  readonly code = 'ERR_NATIVE_LOAD';
  /** Every location the loader looked at, with why each failed. */
  readonly tried: readonly string[];
  constructor(message: string, tried: readonly string[], options?: ErrorOptions) {
    super(message, options);
    this.name = 'NativeLoadError';
    this.tried = tried;
  }
}

/** A checkpoint or weights file that cannot be read, is unsafe, or does not fit a network. */
export class CheckpointError extends Error {
  readonly code: string;
  constructor(message: string, code = 'ERR_CHECKPOINT', options?: ErrorOptions) {
    super(message, options);
    this.name = 'CheckpointError';
    this.code = code;
  }
}

/**
 * Converts what a native call threw or rejected with into a TorchError carrying the caller's stack.
 * @param err what the addon threw (an Error with `code` set by native/bridge/common.cc)
 * @param callSite an Error created before the native call, whose stack is the user's
 */
export function fromNative(err: unknown, callSite?: Error): Error {
  if (err instanceof TorchError) return err;
  if (err instanceof TypeError || err instanceof RangeError) return err;
  const e = err as { message?: unknown; code?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : 'ERR_TORCH';
  const out = new TorchError(message, code, { cause: err });
  if (callSite?.stack) out.stack = `TorchError: ${message}\n${callSite.stack.split('\n').slice(1).join('\n')}`;
  return out;
}
