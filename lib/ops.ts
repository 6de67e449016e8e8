/**
 * Single LibTorch operations exposed for users and tests.
 * @module
 */
import { fromNative } from './native/errors.js';
import { native } from './native/binding.js';
import { kHandle, Tensor } from './tensor.js';
import { checkInteger } from './util/validate.js';

/** Options of {@link conv3d}, as torch.nn.functional.conv3d. */
export interface Conv3dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
}

/**
 * 3D convolution, computed off the JS thread.
 * @param input [N, C, D, H, W]
 * @param weight [O, C, kD, kH, kW]
 * @param bias [O] or null
 * @returns a new tensor [N, O, D', H', W']
 */
export async function conv3d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv3dOptions = {}): Promise<Tensor> {
  if (!(input instanceof Tensor)) throw new TypeError('Expected input to be a Tensor');
  if (!(weight instanceof Tensor)) throw new TypeError('Expected weight to be a Tensor');
  if (bias !== null && !(bias instanceof Tensor)) throw new TypeError('Expected bias to be a Tensor or null');
  const [ishape, wshape] = [input.shape, weight.shape];
  if (ishape.length !== 5) throw new RangeError(`Expected input to have shape [N, C, D, H, W] but received [${ishape.join(', ')}]`);
  if (wshape.length !== 5) throw new RangeError(`Expected weight to have shape [O, C, kD, kH, kW] but received [${wshape.join(', ')}]`);
  if (wshape[1] !== ishape[1]) throw new RangeError(`Expected weight to have ${ishape[1]} input channels (input is [${ishape.join(', ')}]) but it has ${wshape[1]}`);
  const stride = checkInteger(options.stride ?? 1, 'options.stride', { min: 1 });
  const padding = checkInteger(options.padding ?? 0, 'options.padding', { min: 0 });
  const dilation = checkInteger(options.dilation ?? 1, 'options.dilation', { min: 1 });
  const callSite = new Error();
  try {
    const out = await native().conv3d(input[kHandle], weight[kHandle], bias ? bias[kHandle] : null, { stride, padding, dilation });
    return new Tensor(out);
  } catch (err) {
    throw fromNative(err, callSite);
  }
}
