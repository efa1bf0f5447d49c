#pragma once
// Building blocks shared by the tiny autoencoders (TAESD family and TAEHV). Each model is a stack
// of layers whose parameters are registered under their index in the published nn.Sequential
// ("0.weight", "3.conv.2.bias", "7.conv.weight"), so published state dicts apply by name.
// Parameter-free layers (ReLU, Clamp, Upsample) occupy an index but register nothing.
//
// Modules are not thread-safe: one thread runs a given module at a time.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/tensor_map.h"

namespace lipar::model {

enum class TaeLayerKind { Invalid = 0, Conv, Relu, Clamp, Upsample, Block, MemBlock, TPool, TGrow };

// conv -> ReLU -> conv -> ReLU -> conv, plus skip; ReLU after the sum. With `pool` (FLUX.2
// variant) a global-statistics branch x + conv1x1(n->4n) GroupNorm(4) ReLU conv1x1(4n->n) runs
// first and both the convs and the skip see its output.
class TaeBlock : public torch::nn::Module {
  public:
    TaeBlock(int64_t n_in, int64_t n_out, bool pool, const torch::TensorOptions& options);
    torch::Tensor forward(torch::Tensor x);

  private:
    torch::nn::Sequential m_conv{nullptr};
    torch::nn::Conv2d m_skip{nullptr};
    torch::nn::Sequential m_pool{nullptr};
};

// TAEHV's temporal residual block: convs see cat[x, past] where `past` is this block's input at
// the previous time step (zeros at the first one).
class TaeMemBlock : public torch::nn::Module {
  public:
    TaeMemBlock(int64_t n_in, int64_t n_out, const torch::TensorOptions& options);
    // x, past: [M, n_in, H, W] (M = frames of all batch items).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& past);

  private:
    torch::nn::Sequential m_conv{nullptr};
    torch::nn::Conv2d m_skip{nullptr};
};

// TPool (stride frames -> 1, channel concat then 1x1 conv) or TGrow (1x1 conv to stride * C
// channels, then split into stride frames). Only holds the 1x1 conv ("conv.weight").
class TaeTimeConv : public torch::nn::Module {
  public:
    TaeTimeConv(int64_t channels, int64_t stride, bool grow, const torch::TensorOptions& options);
    torch::nn::Conv2d conv{nullptr};
};

struct TaeLayer {
    TaeLayerKind kind = TaeLayerKind::Invalid;
    int64_t index = -1;  // position in the published nn.Sequential
    int64_t stride = 1;  // TPool/TGrow temporal stride
    torch::nn::Conv2d conv{nullptr};
    std::shared_ptr<TaeBlock> block;
    std::shared_ptr<TaeMemBlock> mem;
    std::shared_ptr<TaeTimeConv> time;
};

// An nn.Sequential-like container that keeps the layer kinds for the models' own forward loops.
class TaeStack : public torch::nn::Module {
  public:
    // Throws Error(Unsupported) when this LibTorch cannot convolve in options' dtype on its
    // device (fp16 on CPU with LibTorch 1.13).
    explicit TaeStack(const torch::TensorOptions& options);

    TaeStack& conv(int64_t n_in, int64_t n_out, int64_t stride = 1, bool bias = true);
    TaeStack& relu();
    TaeStack& clamp();
    TaeStack& upsample();
    TaeStack& block(int64_t n_in, int64_t n_out, bool pool = false);
    TaeStack& mem_block(int64_t n_in, int64_t n_out);
    TaeStack& tpool(int64_t channels, int64_t stride);
    TaeStack& tgrow(int64_t channels, int64_t stride);

    const std::vector<TaeLayer>& layers() const { return m_layers; }
    const torch::TensorOptions& options() const { return m_options; }

    // Runs a stack without temporal layers on [N, C, H, W].
    torch::Tensor forward_frames(torch::Tensor x) const;

  private:
    TaeLayer& push(TaeLayerKind kind);

    torch::TensorOptions m_options;
    std::vector<TaeLayer> m_layers;
};

// Applies one parameter-free or per-frame layer (Conv, Relu, Clamp, Upsample, Block) to
// [M, C, H, W].
torch::Tensor apply_frame_layer(const TaeLayer& layer, const torch::Tensor& x);

// Fills every parameter from a CPU generator seeded with `seed` (so CPU and CUDA copies of a
// random model are identical): conv weights uniform with variance 1/fan_in, biases small, norm
// scales 1. Deterministic for a given module structure and seed.
void randomize_parameters(torch::nn::Module& module, uint64_t seed);

// For a randomized decoder stack ending in a conv to RGB: shrinks that conv's weights and sets its
// bias to 0.5 so that the output sits inside [0, 1] (few clamped pixels; useful comparisons).
void centre_random_image_output(TaeStack& decoder);

// Every parameter by name, as contiguous CPU tensors in `dtype`.
io::TensorMap parameters_to_map(const torch::nn::Module& module,
                                torch::Dtype dtype = torch::kFloat32);

}  // namespace lipar::model
