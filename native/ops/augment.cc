// Geometric and intensity augmentation of [D, H, W] volumes (lib/data/transforms/). Every op is
// built from LibTorch tensor ops on the volume's own device, so a volume on CUDA is augmented on
// CUDA. Random parameters (angles, displacement grids) are drawn in TypeScript from seeded
// generators and arrive here as plain numbers; only the per-voxel noise is drawn here, from a CPU
// generator seeded by the caller, so the same seed gives the same volume on every device.
//
// Boundary semantics follow scipy.ndimage (lib/data/transforms/*.ts document the parity):
//   'constant'       a sample whose coordinate lies outside [0, n-1] on any axis is 0
//                    (scipy mode='constant'; elasticdeform's 'constant')
//   'grid-constant'  the volume is extended by zeros and interpolated across its edge
//                    (scipy mode='grid-constant'; skimage.transform.rotate/warp's 'constant')
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "bridge/common.h"
#include "bridge/tensor.h"

namespace ops {

using bridge::CodedError;
using bridge::PromiseWorker;
using bridge::TensorWrap;

namespace {

enum class Boundary { kConstant, kGridConstant };

struct Sampling {
  int64_t order = 1;  // 0 nearest, 1 linear
  Boundary boundary = Boundary::kConstant;
};

// {order, mode}: TS allows order 0 or 1 and the two modes; anything else reads as linear / 'constant'.
Sampling read_sampling(const Napi::Object& opts, const char* where) {
  Sampling s;
  s.order = bridge::integer_field(opts, where, "order");
  s.boundary = bridge::string_field(opts, where, "mode") == "grid-constant" ? Boundary::kGridConstant : Boundary::kConstant;
  return s;
}

torch::Tensor volume_arg(const Napi::Value& value, const char* what) {
  torch::Tensor t = TensorWrap::unwrap(value, what);
  if (t.dim() != 3) throw CodedError("ERR_INVALID_ARG_VALUE", std::string(what) + " must have shape [D, H, W]");
  if (t.numel() == 0) throw CodedError("ERR_INVALID_ARG_VALUE", std::string(what) + " must not be empty");
  return t;
}

// The optional mask: same shape and device as the image.
std::optional<torch::Tensor> mask_arg(const Napi::CallbackInfo& info, size_t index, const torch::Tensor& image) {
  if (info.Length() <= index || info[index].IsNull() || info[index].IsUndefined()) return std::nullopt;
  torch::Tensor mask = volume_arg(info[index], "mask");
  if (mask.sizes() != image.sizes()) throw CodedError("ERR_INVALID_ARG_VALUE", "mask must have the image's shape");
  if (mask.device() != image.device()) throw CodedError("ERR_INVALID_ARG_VALUE", "mask must be on the image's device");
  return mask;
}

// Samples `volume` [D, H, W] at voxel coordinates `coords` [3, D', H', W'] (float64, axis order
// D, H, W), as scipy.ndimage.map_coordinates does for orders 0 and 1.
torch::Tensor sample(const torch::Tensor& volume, const torch::Tensor& coords, const Sampling& s) {
  const auto sizes = volume.sizes();
  const auto out_sizes = coords.sizes().slice(1);
  torch::Tensor inside;  // [D', H', W'] bool: every coordinate within [0, n-1]
  if (s.boundary == Boundary::kConstant) {
    inside = torch::ones(out_sizes, coords.options().dtype(torch::kBool));
    for (int64_t a = 0; a < 3; ++a) {
      inside = inside.logical_and(coords[a].ge(0)).logical_and(coords[a].le(static_cast<double>(sizes[a] - 1)));
    }
  }
  if (s.order == 0 && s.boundary == Boundary::kConstant) {
    // scipy rounds half up for order 0 (floor(c + 0.5)); gathering by index keeps any dtype.
    torch::Tensor flat_index = torch::zeros(out_sizes, coords.options().dtype(torch::kLong));
    for (int64_t a = 0; a < 3; ++a) {
      torch::Tensor i = (coords[a] + 0.5).floor().clamp(0, static_cast<double>(sizes[a] - 1)).to(torch::kLong);
      flat_index = flat_index * sizes[a] + i;
    }
    torch::Tensor values = volume.contiguous().reshape({-1}).index_select(0, flat_index.reshape({-1})).reshape(out_sizes);
    return torch::where(inside, values, torch::zeros({}, values.options()));
  }
  // grid_sample wants [N, D', H', W', 3] with the last axis ordered (x=W, y=H, z=D) and
  // normalised so that -1 and 1 are the centres of the edge voxels (align_corners=true).
  std::vector<torch::Tensor> normalised;
  for (int64_t a = 2; a >= 0; --a) {
    const double n = static_cast<double>(sizes[a]);
    normalised.push_back(n > 1 ? coords[a] * (2.0 / (n - 1)) - 1.0 : torch::zeros_like(coords[a]));
  }
  const auto float_type = volume.is_floating_point() ? volume.scalar_type() : torch::kFloat32;
  torch::Tensor grid = torch::stack(normalised, -1).unsqueeze(0).to(float_type);  // [1, D', H', W', 3]
  torch::Tensor input = volume.to(float_type).unsqueeze(0).unsqueeze(0);          // [1, 1, D, H, W]
  const int64_t interpolation = s.order == 0 ? /*nearest=*/1 : /*bilinear=*/0;
  torch::Tensor out = torch::grid_sampler(input, grid, interpolation, /*padding_mode zeros=*/0, /*align_corners=*/true)
                          .squeeze(0)
                          .squeeze(0);  // [1, 1, D', H', W'] -> [D', H', W']
  if (s.boundary == Boundary::kConstant) out = torch::where(inside, out, torch::zeros({}, out.options()));
  return out.to(volume.scalar_type());
}

// Samples every plane of `stack` [C, R, K] at the 2D voxel coordinates `coords` [2, R', K']
// (float64, order row, column): the 2D twin of sample(), for transforms that move voxels within
// planes only.
torch::Tensor sample_planes(const torch::Tensor& stack, const torch::Tensor& coords, const Sampling& s) {
  const int64_t rows = stack.size(1), cols = stack.size(2);
  const auto out_sizes = coords.sizes().slice(1);
  torch::Tensor inside;  // [R', K'] bool
  if (s.boundary == Boundary::kConstant) {
    inside = coords[0]
                 .ge(0)
                 .logical_and(coords[0].le(static_cast<double>(rows - 1)))
                 .logical_and(coords[1].ge(0))
                 .logical_and(coords[1].le(static_cast<double>(cols - 1)));
  }
  if (s.order == 0 && s.boundary == Boundary::kConstant) {
    torch::Tensor r = (coords[0] + 0.5).floor().clamp(0, static_cast<double>(rows - 1)).to(torch::kLong);
    torch::Tensor k = (coords[1] + 0.5).floor().clamp(0, static_cast<double>(cols - 1)).to(torch::kLong);
    torch::Tensor flat_index = (r * cols + k).reshape({-1});
    torch::Tensor values =
        stack.reshape({stack.size(0), -1}).index_select(1, flat_index).reshape({stack.size(0), out_sizes[0], out_sizes[1]});
    return torch::where(inside.unsqueeze(0), values, torch::zeros({}, values.options()));
  }
  auto normalise = [](const torch::Tensor& c, int64_t n) {
    return n > 1 ? c * (2.0 / static_cast<double>(n - 1)) - 1.0 : torch::zeros_like(c);
  };
  const auto float_type = stack.is_floating_point() ? stack.scalar_type() : torch::kFloat32;
  // grid_sample (2D): [1, R', K', 2] with the last axis ordered (x = column, y = row)
  torch::Tensor grid = torch::stack({normalise(coords[1], cols), normalise(coords[0], rows)}, -1).unsqueeze(0).to(float_type);
  const int64_t interpolation = s.order == 0 ? /*nearest=*/1 : /*bilinear=*/0;
  torch::Tensor out = torch::grid_sampler(stack.to(float_type).unsqueeze(0), grid, interpolation, /*padding_mode zeros=*/0,
                                          /*align_corners=*/true)
                          .squeeze(0);  // [1, C, R', K'] -> [C, R', K']
  if (s.boundary == Boundary::kConstant) out = torch::where(inside.unsqueeze(0), out, torch::zeros({}, out.options()));
  return out.to(stack.scalar_type());
}

// The identity coordinates [3, D, H, W] (float64) of a volume of `sizes`.
torch::Tensor identity_coords(c10::IntArrayRef sizes, const torch::Device& device) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  std::vector<torch::Tensor> axes;
  for (int64_t a = 0; a < 3; ++a) axes.push_back(torch::arange(sizes[a], opts));
  auto grids = torch::meshgrid(axes, "ij");
  return torch::stack(grids, 0);
}

// Uniform cubic B-spline.
double bspline3(double x) {
  x = std::abs(x);
  if (x < 1) return 2.0 / 3.0 - x * x + x * x * x / 2.0;
  if (x < 2) return (2 - x) * (2 - x) * (2 - x) / 6.0;
  return 0;
}

// Mirror extension of a coefficient index over [0, p-1] (scipy's 'mirror': ... 2 1 | 0 1 2 | 1 0 ...).
int64_t mirror_index(int64_t j, int64_t p) {
  if (p == 1) return 0;
  const int64_t period = 2 * (p - 1);
  j = ((j % period) + period) % period;
  return j > p - 1 ? period - j : j;
}

// The [n, p] matrix that maps the values at p control points (evenly spread over n voxels,
// including both edges: voxel x sits at t = x (p-1)/(n-1) in grid units) to the cubic B-spline
// interpolant at every voxel. It folds in the interpolation prefilter (scipy.ndimage.spline_filter1d,
// mode 'mirror'): values -> coefficients is the inverse of the p x p collocation matrix.
torch::Tensor upsampling_matrix(int64_t n, int64_t p) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor collocation = torch::zeros({p, p}, opts);  // values = collocation @ coefficients
  auto c = collocation.accessor<double, 2>();
  for (int64_t m = 0; m < p; ++m) {
    for (int64_t j = m - 2; j <= m + 2; ++j) c[m][mirror_index(j, p)] += bspline3(static_cast<double>(m - j));
  }
  torch::Tensor basis = torch::zeros({n, p}, opts);  // interpolant = basis @ coefficients
  auto b = basis.accessor<double, 2>();
  for (int64_t x = 0; x < n; ++x) {
    const double t = n > 1 ? static_cast<double>(x) * static_cast<double>(p - 1) / static_cast<double>(n - 1) : 0.0;
    const auto base = static_cast<int64_t>(std::floor(t));
    for (int64_t j = base - 2; j <= base + 2; ++j) b[x][mirror_index(j, p)] += bspline3(t - static_cast<double>(j));
  }
  return torch::matmul(basis, torch::inverse(collocation));  // [n, p]
}

// Voxel displacement field [3, D, H, W] from control-point displacements [3, p0, p1, p2].
torch::Tensor displacement_field(const torch::Tensor& grid, c10::IntArrayRef sizes) {
  const auto device = grid.device();
  torch::Tensor wd = upsampling_matrix(sizes[0], grid.size(1)).to(device);
  torch::Tensor wh = upsampling_matrix(sizes[1], grid.size(2)).to(device);
  torch::Tensor ww = upsampling_matrix(sizes[2], grid.size(3)).to(device);
  return torch::einsum("cijk,xi,yj,zk->cxyz", {grid, wd, wh, ww});
}

using Volumes = std::vector<torch::Tensor>;

Napi::Value wrap_all(Napi::Env env, Volumes& volumes) {
  Napi::Array out = Napi::Array::New(env, volumes.size());
  for (size_t i = 0; i < volumes.size(); ++i) out.Set(static_cast<uint32_t>(i), TensorWrap::wrap(env, std::move(volumes[i])));
  return out;
}

// augmentFlip(image, mask | null, dims): reverses the listed axes.
Napi::Value augment_flip(const Napi::CallbackInfo& info) {
  return bridge::guard(info, [&]() -> Napi::Value {
    torch::Tensor image = volume_arg(info[0], "image");
    auto mask = mask_arg(info, 1, image);
    std::vector<int64_t> dims = bridge::to_shape(info[2], "dims");  // an axis beyond 2 is LibTorch's error
    return PromiseWorker<Volumes>::start(
        info.Env(),
        [=]() {
          torch::NoGradGuard no_grad;
          Volumes out{dims.empty() ? image.clone() : torch::flip(image, dims)};
          if (mask) out.push_back(dims.empty() ? mask->clone() : torch::flip(*mask, dims));
          return out;
        },
        wrap_all);
  });
}

// augmentRotate(image, mask | null, {angleDeg, axes: [a, b], order, mode}): rotates every plane
// spanned by axes a (rows) and b (columns) about its centre, as skimage.transform.rotate does for
// a 2D image: positive angles turn counter-clockwise when row 0 is drawn at the top.
Napi::Value augment_rotate(const Napi::CallbackInfo& info) {
  return bridge::guard(info, [&]() -> Napi::Value {
    torch::Tensor image = volume_arg(info[0], "image");
    auto mask = mask_arg(info, 1, image);
    Napi::Object opts = bridge::object_arg(info, 2, "augmentRotate options");
    const Sampling sampling = read_sampling(opts, "augmentRotate options");
    const double angle = bridge::number_field(opts, "augmentRotate options", "angleDeg");
    std::vector<int64_t> axes = bridge::shape_field(opts, "augmentRotate options", "axes");
    // Kept here although TS checks it: the axes index `back` below, so a bad pair would write out of bounds.
    if (axes.size() != 2 || axes[0] > 2 || axes[1] > 2 || axes[0] == axes[1]) {
      throw CodedError("ERR_INVALID_ARG_VALUE", "augmentRotate options.axes must be two different axes of [D, H, W]");
    }
    return PromiseWorker<Volumes>::start(
        info.Env(),
        [=]() {
          torch::NoGradGuard no_grad;
          const int64_t row = axes[0], col = axes[1], other = 3 - row - col;
          // The rotation moves voxels within planes only, so it is a 2D resampling of a stack of
          // planes: [D, H, W] -> [other, row, col], each plane sampled at the same 2D coordinates.
          const double cy = static_cast<double>(image.size(row) - 1) / 2, cx = static_cast<double>(image.size(col) - 1) / 2;
          const double theta = angle * M_PI / 180.0, cos_t = std::cos(theta), sin_t = std::sin(theta);
          auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(image.device());
          auto grids = torch::meshgrid({torch::arange(image.size(row), opts), torch::arange(image.size(col), opts)}, "ij");
          torch::Tensor dy = grids[0] - cy, dx = grids[1] - cx;  // [rows, cols]
          // skimage's inverse map in (x = column, y = row): x_in = c dx - s dy + cx, y_in = s dx + c dy + cy
          torch::Tensor source =
              torch::stack({dx * sin_t + dy * cos_t + cy, dx * cos_t - dy * sin_t + cx}, 0);  // [2, rows, cols]
          auto planes = [&](const torch::Tensor& v) { return v.permute({other, row, col}); };
          // inverse of the permutation above
          std::vector<int64_t> back(3);
          back[other] = 0;
          back[row] = 1;
          back[col] = 2;
          Volumes out{sample_planes(planes(image), source, sampling).permute(back).contiguous()};
          if (mask)
            out.push_back(sample_planes(planes(*mask), source, Sampling{0, sampling.boundary}).permute(back).contiguous());
          return out;
        },
        wrap_all);
  });
}

// augmentElastic(image, mask | null, displacement: Float64Array, points: [p0, p1, p2], {order, mode}):
// elasticdeform.deform_grid over all three axes: the control-point displacements (voxels) are
// interpolated by a cubic B-spline to every voxel, and the volume is sampled at x + d(x).
Napi::Value augment_elastic(const Napi::CallbackInfo& info) {
  return bridge::guard(info, [&]() -> Napi::Value {
    torch::Tensor image = volume_arg(info[0], "image");
    auto mask = mask_arg(info, 1, image);
    Napi::TypedArray displacement = bridge::typed_array_arg(info, 2, "displacement");
    std::vector<int64_t> points = bridge::to_shape(info[3], "points");
    // Kept here although TS bounds them: the B-spline matrices index [0, p-1] per axis, so a zero
    // count would write out of bounds. The upper bound is TS's (lib/data/transforms/elastic-deform.ts).
    if (points.size() != 3 || points[0] < 1 || points[1] < 1 || points[2] < 1) {
      throw CodedError("ERR_INVALID_ARG_VALUE", "points must hold three positive counts");
    }
    torch::Tensor grid = bridge::tensor_from_typed_array(displacement, {3, points[0], points[1], points[2]}, torch::kFloat64);
    const Sampling sampling = read_sampling(bridge::object_arg(info, 4, "augmentElastic options"), "augmentElastic options");
    return PromiseWorker<Volumes>::start(
        info.Env(),
        [=]() {
          torch::NoGradGuard no_grad;
          torch::Tensor field = displacement_field(grid.to(image.device()), image.sizes());  // [3, D, H, W]
          torch::Tensor source = identity_coords(image.sizes(), image.device()) + field;
          Volumes out{sample(image, source, sampling)};
          if (mask) out.push_back(sample(*mask, source, Sampling{0, sampling.boundary}));
          return out;
        },
        wrap_all);
  });
}

// augmentNoise(image, {seed, mean, std, clip}): image + N(mean, std^2), drawn from a CPU generator
// seeded with `seed` (so identical on every device) and, when clip is set, clipped as
// skimage.util.random_noise does: to [-1, 1] when the image has negative values, else [0, 1].
Napi::Value augment_noise(const Napi::CallbackInfo& info) {
  return bridge::guard(info, [&]() -> Napi::Value {
    torch::Tensor image = volume_arg(info[0], "image");
    if (!image.is_floating_point()) throw CodedError("ERR_INVALID_ARG_VALUE", "image must be a floating-point tensor");
    Napi::Object opts = bridge::object_arg(info, 1, "augmentNoise options");
    // The seed's range and the finite mean and std are checked in lib/data/transforms/random-noise.ts.
    const auto seed = static_cast<uint64_t>(bridge::integer_field(opts, "augmentNoise options", "seed"));
    const double mean = bridge::number_field(opts, "augmentNoise options", "mean");
    const double std_dev = bridge::number_field(opts, "augmentNoise options", "std");
    const bool clip = bridge::bool_field(opts, "augmentNoise options", "clip");
    return PromiseWorker<torch::Tensor>::start(
        info.Env(),
        [=]() {
          torch::NoGradGuard no_grad;
          auto generator = at::detail::createCPUGenerator(seed);
          torch::Tensor noise = at::randn(image.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32));
          noise = (noise.to(torch::kFloat64) * std_dev + mean).to(image.device(), image.scalar_type());
          torch::Tensor out = image + noise;
          if (clip) {
            const double low = image.min().item<double>() < 0 ? -1.0 : 0.0;
            out = out.clamp(low, 1.0);
          }
          return out;
        },
        [](Napi::Env env, torch::Tensor& out) -> Napi::Value { return TensorWrap::wrap(env, std::move(out)); });
  });
}

}  // namespace

void init_augment(Napi::Env env, Napi::Object exports) {
  exports.Set("augmentFlip", Napi::Function::New(env, augment_flip, "augmentFlip"));
  exports.Set("augmentRotate", Napi::Function::New(env, augment_rotate, "augmentRotate"));
  exports.Set("augmentElastic", Napi::Function::New(env, augment_elastic, "augmentElastic"));
  exports.Set("augmentNoise", Napi::Function::New(env, augment_noise, "augmentNoise"));
}

}  // namespace ops
