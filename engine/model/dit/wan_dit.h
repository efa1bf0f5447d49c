#pragma once
// The Wan2.1 diffusion transformer (text-to-video DiT) with the published state-dict names
// (patch_embedding, text_embedding.{0,2}, time_embedding.{0,2}, time_projection.1, blocks.N.*,
// head.*), for any configuration. Numerics follow the reference under autocast: the residual
// stream, norms, modulation, time embedding and head run in float32; the projections, attention and
// FFN in the module's compute dtype (fp32, bf16 or fp16).
//
// Two ways in:
//  - forward(): bidirectional over a whole clip (optionally with an attention mask and explicit
//    frame positions, which is how the block-causal equivalence is tested);
//  - forward_tokens(): the token-level core the causal streaming path (dit/causal.h) and the LIPAR
//    pruned path use: any subset of tokens with their own positions, and a KvProvider that decides
//    which keys/values self-attention sees (a KV cache, attention recovery, ...).
//
// Not thread-safe: one engine thread owns a model instance and calls it.

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "model/dit/layer_runner.h"
#include "model/dit/token_group.h"
#include "model/common/rope.h"
#include "model/dit/dit_config.h"

namespace lipar::model {

// RMSNorm over the last dimension with a learned scale: x * rsqrt(mean(x^2) + eps) in float32,
// cast back, times weight (Wan's WanRMSNorm).
class RmsNormImpl : public torch::nn::Module {
public:
    RmsNormImpl(int64_t dim, double eps, torch::TensorOptions options);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight;
    double eps() const { return m_eps; }

private:
    double m_eps;
};
TORCH_MODULE(RmsNorm);

// LayerNorm computed in float32; with affine weight/bias when `affine`.
class WanLayerNormImpl : public torch::nn::Module {
public:
    WanLayerNormImpl(int64_t dim, double eps, bool affine, torch::TensorOptions options);
    torch::Tensor forward(const torch::Tensor& x);  // returns float32
    torch::Tensor weight, bias;

    // norm(x) * scale + shift, x float32 and the result float32; scale and shift [B, 1 or N, dim].
    // One LayerNorm kernel when they are a single row (batch 1, one timestep): they become its
    // weight and bias.
    torch::Tensor modulated(const torch::Tensor& x, const torch::Tensor& scale,
                            const torch::Tensor& shift);
    // forward(x) in out_dtype (one fused pass on CUDA: model/common/fused_ops.h)
    torch::Tensor normalized(const torch::Tensor& x, torch::Dtype out_dtype);
    double eps() const { return m_eps; }

private:
    // float32 copies of a lower-precision affine weight and bias, remade when they change.
    std::pair<c10::optional<torch::Tensor>, c10::optional<torch::Tensor>> affine_f32();
    int64_t m_dim;
    double m_eps;
    torch::Tensor m_w32, m_b32;
    uint32_t m_w_version = 0, m_b_version = 0;
};
TORCH_MODULE(WanLayerNorm);

// q, k, v, o projections with RMS-normalised q and k (self- and cross-attention alike).
// With `fused_qkv` (self-attention) the q, k and v weights and biases are consecutive rows of one
// tensor each, so that one matrix product can compute all three (qkv_weight()); each still loads,
// trains and saves under its own name.
class WanAttentionImpl : public torch::nn::Module {
public:
    WanAttentionImpl(int64_t dim, int64_t heads, double eps, torch::TensorOptions options,
                     bool fused_qkv = false);
    torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
    RmsNorm norm_q{nullptr}, norm_k{nullptr};
    int64_t heads = 0;
    // [3 * dim, dim] and [3 * dim] views over q, k, v's weights and biases while they are still
    // consecutive in one storage (a module moved with to() or cloned loses that); else undefined.
    torch::Tensor qkv_weight() const;
    torch::Tensor qkv_bias() const;
};
TORCH_MODULE(WanAttention);

// Cross-attention keys/values of one prompt for every block, computed once per prompt.
struct CrossAttnCache {
    std::vector<torch::Tensor> k;  // per layer [B, L, H, D] compute dtype
    std::vector<torch::Tensor> v;
    bool empty() const { return k.empty(); }
};

// Decides which keys/values a block's self-attention attends to, given the present tokens'
// projections. Implementations: the KV cache of the causal stream, LIPAR's attention recovery.
class KvProvider {
public:
    virtual ~KvProvider() = default;
    // k_pre: keys after norm_k, before RoPE; k: after RoPE; v: values. All [B, N, H, D] in the
    // compute dtype. Returns the keys and values to attend to, [B, M, H, D].
    virtual std::pair<torch::Tensor, torch::Tensor> keys_values(int64_t layer,
                                                                const torch::Tensor& k_pre,
                                                                const torch::Tensor& k,
                                                                const torch::Tensor& v) = 0;
    // Where this layer's k and v of n tokens may be written directly ([B, N, H, D] views, e.g. the
    // cache's staging slot), so that keys_values() has nothing to copy; undefined when the
    // provider places them itself. Called before keys_values() of the same layer.
    virtual std::pair<torch::Tensor, torch::Tensor> write_slots(int64_t /*layer*/, int64_t /*batch*/,
                                                                int64_t /*n*/) {
        return {};
    }
};

// A sequence of tokens entering the blocks.
struct DitTokens {
    torch::Tensor x;               // [B, N, dim] residual stream (WanDitImpl::residual_dtype())
    torch::Tensor frame_of_token;  // int64 [N]: row of the per-frame modulation; undefined when
                                   // the modulation has a single frame (uniform timestep)
    RopeTable rope;                // [N, head_dim/2] at each token's own (frame, h, w)
};

// Per-frame time conditioning: e [B, F, dim] (head) and e0 [B, F, 6, dim] (blocks), float32.
struct TimeConditioning {
    torch::Tensor e;
    torch::Tensor e0;
    // Inference: each block's modulation rows (WanBlockImpl::modulation_rows) made once with the
    // conditioning, so that a pass does not rebuild them; empty when training. They are the rows
    // of block_mod_all [layers, B, F, 6, dim] (one tensor to copy for a CUDA graph's input).
    std::vector<torch::Tensor> block_mod;
    torch::Tensor block_mod_all;
    int64_t frames() const { return e.size(1); }
};

class WanBlockImpl : public torch::nn::Module {
public:
    WanBlockImpl(const DitConfig& c, torch::TensorOptions options);
    // x [B, N, dim] float32 -> float32. e0 [B, F, 6, dim]. kv == nullptr: attend to the tokens
    // themselves (under `mask` [N, N] when given).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& e0,
                          const torch::Tensor& frame_of_token, const RopeTable& rope,
                          const torch::Tensor& cross_k, const torch::Tensor& cross_v,
                          KvProvider* kv, int64_t layer, const c10::optional<torch::Tensor>& mask,
                          const torch::Tensor& mod_rows = {});
    // e0 [B, F, 6, dim] + modulation, with the two scale rows (1 and 4) already 1 + scale:
    // shift, 1 + scale, gate of self-attention, then of the FFN. Passed to forward() as mod_rows
    // when made ahead (TimeConditioning::block_mod); else forward() makes it.
    torch::Tensor modulation_rows(const torch::Tensor& e0) const;

    torch::Tensor modulation;  // [1, 6, dim] float32
    WanAttention self_attn{nullptr}, cross_attn{nullptr};
    WanLayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
    torch::nn::Sequential ffn{nullptr};

private:
    torch::Tensor self_attention(const torch::Tensor& h, const RopeTable& rope, KvProvider* kv,
                                 int64_t layer, const c10::optional<torch::Tensor>& mask);
    torch::Tensor cross_attention(const torch::Tensor& h, const torch::Tensor& k,
                                  const torch::Tensor& v);
    torch::Tensor ffn_forward(const torch::Tensor& h);
    torch::Dtype m_dtype;
    int64_t m_heads;
};
TORCH_MODULE(WanBlock);

class WanHeadImpl : public torch::nn::Module {
public:
    WanHeadImpl(const DitConfig& c, torch::TensorOptions options);
    // x [B, N, dim] float32, e [B, F, dim] -> [B, N, out * patch volume] float32
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& e,
                          const torch::Tensor& frame_of_token);
    torch::nn::Linear head{nullptr};  // float32
    torch::Tensor modulation;         // [1, 2, dim] float32
    WanLayerNorm norm{nullptr};
};
TORCH_MODULE(WanHead);

struct DenseOptions {
    // Absolute RoPE frame position of each latent frame of x (default 0..F-1).
    std::vector<int64_t> frame_positions;
    // Optional bool [N, N] self-attention mask over all tokens (true = may attend).
    c10::optional<torch::Tensor> mask;
};

class WanDitImpl : public torch::nn::Module {
public:
    // options: device and compute dtype of the projections (float32/bfloat16/float16).
    WanDitImpl(const DitConfig& config, torch::TensorOptions options);

    const DitConfig& config() const { return m_config; }
    torch::Device device() const { return m_options.device(); }
    torch::Dtype dtype() const { return torch::typeMetaToScalarType(m_options.dtype()); }

    // Bidirectional Wan forward. x [B, C, F, H, W]; t [B] or [B, F] in 0..1000;
    // context [B, L, text_dim]. Returns the flow prediction [B, C_out, F, H, W] in float32.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                          const torch::Tensor& context, const DenseOptions& options = {});

    // --- building blocks of the streaming and pruned paths ---------------------------------
    // Text embedding and every block's cross-attention K/V for a prompt [B, L, text_dim].
    CrossAttnCache encode_context(const torch::Tensor& context);
    // t [B] or [B, F] -> conditioning with F frames (a single frame when all of a row are equal).
    // A single timestep on the CPU in inference is served from a cache (see m_time_cache).
    TimeConditioning time_conditioning(const torch::Tensor& t);
    // Patch embedding: x [B, C, F, H, W] -> [B, F*h*w, dim] in residual_dtype(), frame-major,
    // then h, then w.
    torch::Tensor embed_patches(const torch::Tensor& x);
    // The residual stream's dtype. float32 (default): the reference's autocast numerics. With
    // set_bf16_residual(true) on a bf16 model, inference keeps the stream, norms' outputs and the
    // modulation in bfloat16, as Self-Forcing's own bf16 inference does (half the memory traffic
    // of the elementwise work; statistics of the norms still accumulate in float32). Training
    // always uses float32.
    void set_bf16_residual(bool on) { m_bf16_residual = on; }
    bool bf16_residual() const { return m_bf16_residual; }
    torch::Dtype residual_dtype() const;
    // Several devices (issue 16): block i's weights on devices[i]; the embeddings, the time MLP
    // and the head stay on device(). A block's inputs (activations, conditioning, RoPE tables)
    // are moved to its device, the prompt K/V are made there (encode_context) and the KV cache's
    // layers follow (KvCache::place_layers). Empty: every block on device().
    void place_blocks(const std::vector<torch::Device>& devices);
    torch::Device block_device(int64_t index) const;
    std::vector<torch::Device> block_devices() const;
    // Where the blocks of forward_tokens run (model/dit/layer_runner.h); null: in order here.
    void set_layer_runner(std::shared_ptr<LayerRunner> runner);
    LayerRunner* layer_runner() const { return m_runner.get(); }
    // Token-parallel workers (model/dit/token_group.h): forward_tokens with a KV provider computes
    // this worker's share of the tokens and gathers the rest. Not together with a layer runner.
    void set_token_group(std::shared_ptr<TokenGroup> group);
    TokenGroup* token_group() const { return m_tokens.get(); }
    // Called with each block's index right after that block ran (a committing pass commits the
    // block's K/V there), on the thread that ran it.
    using LayerHook = std::function<void(int64_t layer)>;
    // Runs every block and the head on `tokens`; returns [B, N, out * patch volume] float32.
    torch::Tensor forward_tokens(const DitTokens& tokens, const TimeConditioning& time,
                                 const CrossAttnCache& cross, KvProvider* kv,
                                 const c10::optional<torch::Tensor>& mask = c10::nullopt,
                                 const LayerHook& after_layer = {});
    // Runs every block on `tokens` for what they leave in `kv` alone (a committing pass nobody
    // reads the output of; no head). With pipeline stages it returns once the first stage is done
    // (LayerRunner::run_detached); the pass holds its arguments (and the provider) until its last
    // block ran. kv and whatever after_layer uses must outlive it: drain_layers() waits for it.
    void forward_tokens_detached(const DitTokens& tokens, const TimeConditioning& time,
                                 const CrossAttnCache& cross, std::shared_ptr<KvProvider> kv,
                                 LayerHook after_layer);
    // Waits for a detached pass still in flight (nothing to wait for without pipeline stages).
    void drain_layers() {
        if (m_runner) m_runner->drain();
    }
    // [B, F*h*w, out * patch volume] -> [B, C_out, F, H, W]
    torch::Tensor unpatchify(const torch::Tensor& tokens, int64_t frames, int64_t grid_h,
                             int64_t grid_w) const;

    torch::nn::Conv3d patch_embedding{nullptr};
    torch::nn::Sequential text_embedding{nullptr}, time_embedding{nullptr}, time_projection{nullptr};
    torch::nn::ModuleList blocks{nullptr};
    WanHead head{nullptr};

private:
    // A pass's inputs to the blocks on one device (the originals on device()).
    struct BlockInputs {
        torch::Tensor e0, frame_of_token;
        RopeTable rope;
        c10::optional<torch::Tensor> mask;
    };
    std::vector<BlockInputs> block_inputs(const DitTokens& tokens, const TimeConditioning& time,
                                          const c10::optional<torch::Tensor>& mask) const;
    // The index into block_inputs() of block i's device.
    size_t device_slot(int64_t block) const {
        return m_device_slot.empty() ? 0 : m_device_slot[static_cast<size_t>(block)];
    }
    // Block i of a pass on x (forward_tokens and the detached pass alike), with the inputs on its
    // device; after_layer(i) once it ran.
    torch::Tensor run_block(int64_t i, const torch::Tensor& x, const std::vector<BlockInputs>& inputs,
                            const std::vector<torch::Tensor>& block_mod, const CrossAttnCache& cross,
                            KvProvider* kv, const LayerHook& after_layer);
    std::vector<torch::Device> m_devices;  // distinct block devices, device() first
    std::vector<size_t> m_device_slot;     // per block; empty = all on device()
    // Inference with one timestep given on the CPU (the editor's passes): the conditioning of each
    // value is made once and reused (no device work, no host sync), while the weights it comes
    // from are unchanged (their version counters).
    uint64_t time_weights_version() const;
    TimeConditioning make_time_conditioning(const torch::Tensor& t);
    std::map<double, TimeConditioning> m_time_cache;
    uint64_t m_time_cache_version = 0;
    DitConfig m_config;
    torch::TensorOptions m_options;
    std::vector<WanBlock> m_blocks;
    bool m_bf16_residual = false;
    std::shared_ptr<LayerRunner> m_runner;
    std::shared_ptr<TokenGroup> m_tokens;
    // forward_tokens on this token worker's share of the tokens (see set_token_group).
    torch::Tensor forward_token_share(const DitTokens& tokens, const TimeConditioning& time,
                                      const CrossAttnCache& cross, KvProvider& kv, const LayerHook& after_layer);
};
TORCH_MODULE(WanDit);

// Grid of tokens for latents [B, C, F, H, W]: (F / pt, H / ph, W / pw); throws on indivisible sizes.
std::array<int64_t, 3> token_grid(const DitConfig& c, c10::IntArrayRef latent_shape);

// Sinusoidal timestep features of Wan: cat[cos, sin] of t * 10000^(-i/half), in float64.
torch::Tensor sinusoidal_embedding(const torch::Tensor& t, int64_t dim);

// Fills a model with seeded random weights of the right scale (tests, random packs, benchmarks).
void init_random_weights(WanDitImpl& dit, uint64_t seed);

}  // namespace lipar::model
