/**
 * The one device type of the library: where a network, a tensor or an augmentation lives. Every
 * TypeScript check of a device string uses {@link DEVICE_PATTERN} or {@link DeviceSchema}; the
 * addon parses the checked string with `torch::Device`.
 * @module
 */
import { z } from 'zod';

/** 'cpu', 'cuda' (the current CUDA device) or 'cuda:N'. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** The device strings the library accepts: `cpu`, `cuda`, `cuda:N`. */
export const DEVICE_PATTERN: RegExp = /^(cpu|cuda(:\d+)?)$/;

/** What a device error says is allowed. */
export const DEVICE_RULE = "'cpu', 'cuda' or 'cuda:N'";

/**
 * A device string, `'cpu'` unless given: the study trained on one GPU, but nothing in its values
 * depends on the device, so the library's default is the one every machine has. Its output is a
 * plain string (a transform to {@link Device} would drop the default from the JSON Schema);
 * {@link isDevice} narrows one.
 */
export const DeviceSchema = z
  .string()
  .regex(DEVICE_PATTERN, `expected ${DEVICE_RULE}`)
  .default('cpu')
  .describe("Where the work runs: 'cpu', 'cuda' or 'cuda:N'");

/** True for a device string the library accepts. */
export function isDevice(value: unknown): value is Device {
  return typeof value === 'string' && DEVICE_PATTERN.test(value);
}
