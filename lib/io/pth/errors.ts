/**
 * The coded errors every part of the .pth reader throws (internal: callers see CheckpointError).
 * @module
 */
import { CheckpointError } from '../../native/errors.js';

/** A file that asks for something outside the allow-list. */
export function unsafe(message: string): CheckpointError {
  return new CheckpointError(message, 'ERR_CHECKPOINT_UNSAFE');
}

/** A file that is truncated or contradicts itself. */
export function corrupt(message: string): CheckpointError {
  return new CheckpointError(message, 'ERR_CHECKPOINT_CORRUPT');
}
