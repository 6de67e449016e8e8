/**
 * Single LibTorch operations exposed for users and tests.
 * @module
 */
import { fromNative } from './native/errors.js';
import { native, type NativeConv3dOptions } from './native/binding.js';
import { kHandle, Tensor } from './tensor.js';
import { checkInteger } from './util/validate.js';

/** Options of {@link conv3d}, as torch.nn.functional.conv3d (one value for all three axes). */
export interface Conv3dOptions {
  /** At least 1, at most the padded input's largest extent (a longer step gives the same single output). Default 1. */
  stride?: number;
  /** At least 0, at most dilation x (kernel - 1) of the largest kernel axis (more only adds outputs that see no input). Default 0. */
  padding?: number;
  /** At least 1, at most the input's largest spatial extent. Default 1. */
  dilation?: number;
}

/**
 * 3D convolution, computed off the JS thread.
 *
 * Every size-like option is bounded by what the input can mean before LibTorch sees it: an
 * unbounded padding (say 2^61) would make LibTorch size a buffer it cannot allocate, and crash.
 * @param input [N, C, D, H, W]
 * @param weight [O, C, kD, kH, kW]
 * @param bias [O] or null
 * @returns a new tensor [N, O, D', H', W']
 * @throws TypeError for a non-Tensor argument; RangeError for a wrong shape or an option out of its bounds (named)
 */
export async function conv3d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv3dOptions = {}): Promise<Tensor> {
  if (!(input instanceof Tensor)) throw new TypeError('Expected input to be a Tensor');
  if (!(weight instanceof Tensor)) throw new TypeError('Expected weight to be a Tensor');
  if (bias !== null && !(bias instanceof Tensor)) throw new TypeError('Expected bias to be a Tensor or null');
  const [ishape, wshape] = [input.shape, weight.shape];
  if (ishape.length !== 5) throw new RangeError(`Expected input to have shape [N, C, D, H, W] but received [${ishape.join(', ')}]`);
  if (wshape.length !== 5) throw new RangeError(`Expected weight to have shape [O, C, kD, kH, kW] but received [${wshape.join(', ')}]`);
  if (wshape[1] !== ishape[1])
    throw new RangeError(`Expected weight to have ${ishape[1]} input channels (input is [${ishape.join(', ')}]) but it has ${wshape[1]}`);
  const bounds = conv3dBounds(ishape, wshape, options ?? {});
  const callSite = new Error();
  try {
    const out = await native().conv3d(input[kHandle], weight[kHandle], bias ? bias[kHandle] : null, bounds);
    return new Tensor(out);
  } catch (err) {
    throw fromNative(err, callSite);
  }
}

/**
 * The options of a convolution of `input` [N, C, D, H, W] by `weight` [O, C, kD, kH, kW], resolved and
 * bounded: dilation first (by the input's extent), then padding (by the dilated kernel), then stride
 * (by the padded input).
 */
function conv3dBounds(input: readonly number[], weight: readonly number[], options: Conv3dOptions): NativeConv3dOptions {
  const extent = Math.max(1, ...input.slice(2));
  const kernel = Math.max(1, ...weight.slice(2));
  const dilation = checkInteger(options.dilation ?? 1, 'options.dilation', { min: 1 });
  if (dilation > extent) {
    throw new RangeError(`Expected options.dilation to be at most ${extent} (the input's largest spatial extent) but received ${dilation}`);
  }
  const padding = checkInteger(options.padding ?? 0, 'options.padding', { min: 0 });
  const maxPadding = dilation * (kernel - 1);
  if (padding > maxPadding) {
    throw new RangeError(
      `Expected options.padding to be at most ${maxPadding} (dilation ${dilation} x (kernel ${kernel} - 1): more adds only outputs that see no input) but received ${padding}`,
    );
  }
  const stride = checkInteger(options.stride ?? 1, 'options.stride', { min: 1 });
  const maxStride = extent + 2 * padding;
  if (stride > maxStride) {
    throw new RangeError(`Expected options.stride to be at most ${maxStride} (the padded input's largest extent) but received ${stride}`);
  }
  return { stride, padding, dilation };
}
