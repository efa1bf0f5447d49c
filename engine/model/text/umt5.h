#pragma once
// The UMT5 encoder (Wan's text encoder, google/umt5-xxl): T5 blocks with a relative-position
// bias table per layer, gated-GELU (tanh) feed-forward, RMS norms in fp32, no biases, no q.k
// scaling, unscaled token embedding.
//
// Parameter names follow Hugging Face's UMT5EncoderModel (shared.weight,
// encoder.block.N.layer.0.SelfAttention.q.weight, ...); umt5_weights.h maps Wan's .pth names onto
// them. Modules take TensorOptions at construction; weights are created uninitialized and filled
// by apply_weights or randomize().
//
// Threading: a module is used by one thread at a time (the engine thread).

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace lipar::model {

struct Umt5Config {
    int64_t vocab_size = 256384;
    int64_t d_model = 4096;
    int64_t num_heads = 64;
    int64_t d_kv = 64;  // per-head width; inner attention width = num_heads * d_kv
    int64_t num_layers = 24;
    int64_t d_ff = 10240;
    int64_t num_buckets = 32;
    int64_t max_distance = 128;
    double eps = 1e-6;

    // Error(InvalidArgument) naming the first bad field.
    void validate() const;
    // "vocab 256384, d_model 4096, 64 heads x 64, 24 layers, d_ff 10240, 32 buckets"
    std::string to_string() const;
    int64_t parameter_count() const;
};

// Error(Unsupported) unless f32 or bf16 (T5's feed-forward activations overflow float16).
void check_umt5_dtype(torch::Dtype dtype);

// T5's bucketing of relative positions (memory index - query index) for a bidirectional encoder:
// half of the buckets per direction (positive distances offset by num_buckets / 2); within a half,
// distances below max_exact = num_buckets / 4 get their own bucket, larger ones share buckets on a
// log scale up to max_distance, clamped to the last bucket. Computed in float32 exactly as the
// reference does, so boundaries match bit for bit. Int64 in, int64 out, same shape.
torch::Tensor relative_position_bucket(const torch::Tensor& relative_position,
                                       int64_t num_buckets,
                                       int64_t max_distance);

// RMS norm without mean subtraction, computed in float32, cast to the weight's dtype, scaled.
torch::Tensor t5_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// A module holding a single `weight` parameter (linear layers without bias, norms, embeddings).
class Umt5WeightImpl : public torch::nn::Module {
  public:
    Umt5WeightImpl(c10::IntArrayRef shape, const torch::TensorOptions& options);
    torch::Tensor weight;
};
TORCH_MODULE(Umt5Weight);

class Umt5AttentionImpl : public torch::nn::Module {
  public:
    Umt5AttentionImpl(const Umt5Config& config, const torch::TensorOptions& options);
    // x: [B, L, d_model] (already normed); buckets: int64 [L, L]; key_padding: bool [B, 1, 1, L]
    // (true for padding keys).
    torch::Tensor forward(const torch::Tensor& x,
                          const torch::Tensor& buckets,
                          const torch::Tensor& key_padding);
    // [1, heads, L, L] float32 bias for the given buckets.
    torch::Tensor position_bias(const torch::Tensor& buckets);

    Umt5Weight q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, relative_attention_bias{nullptr};

  private:
    int64_t m_heads = 0;
    int64_t m_d_kv = 0;
};
TORCH_MODULE(Umt5Attention);

class Umt5BlockImpl : public torch::nn::Module {
  public:
    Umt5BlockImpl(const Umt5Config& config, const torch::TensorOptions& options);
    torch::Tensor forward(const torch::Tensor& x,
                          const torch::Tensor& buckets,
                          const torch::Tensor& key_padding);

    Umt5Attention attention{nullptr};                      // layer.0.SelfAttention
    Umt5Weight attention_norm{nullptr};                    // layer.0.layer_norm
    Umt5Weight wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};  // layer.1.DenseReluDense.*
    Umt5Weight ffn_norm{nullptr};                          // layer.1.layer_norm

  private:
    double m_eps = 1e-6;
};
TORCH_MODULE(Umt5Block);

class Umt5EncoderImpl : public torch::nn::Module {
  public:
    // Uninitialized weights of the given device and dtype (f32 or bf16; f16 overflows in T5's
    // feed-forward and is refused with Error(Unsupported)).
    Umt5EncoderImpl(const Umt5Config& config, const torch::TensorOptions& options);

    // ids: integer [B, L] in [0, vocab); mask: integer or bool [B, L], 1 for real tokens (undefined
    // = all real). Returns the last hidden state [B, L, d_model] in the module dtype on the module
    // device. Rows of padding positions are computed (as the reference does), not zeroed.
    // Error(InvalidArgument/ShapeMismatch) for bad inputs, Error(Internal) after release().
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask = {});

    // Deterministic random weights (same values on every device for a seed), scaled so that
    // activations stay O(1); for tests and random model packs.
    void randomize(uint64_t seed);

    // Frees the weights (each parameter becomes an empty tensor) so that device memory goes back to
    // LibTorch's allocator once encoding is done. forward() then throws; load again to reuse.
    void release();
    bool released() const { return m_released; }

    const Umt5Config& config() const { return m_config; }
    torch::Device device() const { return m_options.device(); }
    torch::Dtype dtype() const { return torch::typeMetaToScalarType(m_options.dtype()); }

    Umt5Weight shared{nullptr};            // token embedding [vocab, d_model]
    std::vector<Umt5Block> blocks;         // encoder.block.N
    Umt5Weight final_layer_norm{nullptr};  // encoder.final_layer_norm

  private:
    Umt5Config m_config;
    torch::TensorOptions m_options;
    bool m_released = false;
};
TORCH_MODULE(Umt5Encoder);

// A module with random weights (Umt5EncoderImpl::randomize).
Umt5Encoder make_random_umt5(const Umt5Config& config,
                             const torch::TensorOptions& options,
                             uint64_t seed);

}  // namespace lipar::model
