// `lipar tensor edit-loop`: the editor's whole block loop on given clean source latents with the
// noise read from the input file, for end-to-end parity with a reference pipeline
// (docs/PARITY.md, tests/gpu/edit_loop_reference.py). The DiT, schedule, SDEdit noising, x0 from
// flow, re-noising, the t = 0 pass that commits the KV cache, the window and LIPAR are the
// editor's own code paths (pipeline::Editor::edit_latents); only the autoencoder is skipped.
//
// Input (.safetensors): "z" [C, F, h, w] clean source latents; "context" [1, L, text_dim] (or
// [L, text_dim]) the prompt embedding; "noise_b{B}_s{S}" [1, C, f, h, w] for every block B and
// step S (S = 0: the noise of the SDEdit start; S = i: the re-noising before pass i); optional
// "keep_b{B}" [f, h/2, w/2] (uint8 or bool) keep masks that replace LIPAR's detection.
// Output: "x0" [C, F, h, w] (every block's final x0) and, with --flows, "flow_b{B}_p{P}".
#include <cstdio>
#include <map>

#include "cli_common.h"
#include "core/device.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "pipeline/editor.h"
#include "pipeline/model_pack.h"
#include "pipeline/prompt_conditioner.h"
#include "tensor_components.h"

namespace lipar::cli {

namespace {

// The given embedding for any prompt.
class FixedContext : public pipeline::PromptConditioner {
  public:
    explicit FixedContext(torch::Tensor context) : m_context(std::move(context)) {}
    torch::Tensor embed(const std::string&) override { return m_context; }
    std::string kind() const override { return "fixed"; }

  private:
    torch::Tensor m_context;
};

}  // namespace

void declare_edit_loop_options(Args& args) {
    args.option("mode", "edit-loop: off, naive or lipar", "off")
        .option("steps", "edit-loop: warped step list, comma-separated", "400,350,250")
        .option("shift", "edit-loop: schedule shift", "5")
        .option("sink", "edit-loop: sink latent frames of the KV window", "1")
        .option("recent", "edit-loop: most recent committed latent frames kept besides the sink", "6")
        .option("frames-per-block", "edit-loop: latent frames per block", "3")
        .option("head-dim", "edit-loop: attention head size", "128")
        .option("tau1", "edit-loop: LIPAR short-term threshold", "0.15")
        .option("tau2", "edit-loop: LIPAR long-term threshold", "0.3")
        .option("detection", "edit-loop: detection's temporal filters, lookahead, causal or authors-stream", "lookahead")
        .option("pack", "edit-loop: a model pack whose DiT weights and head size are used (instead of "
                        "--weights, --head-dim) and whose text encoder encodes --prompt (instead of the "
                        "input's context; the context used is written out)", "")
        .option("prompt", "edit-loop: the prompt for --pack", "")
        .option("residual", "edit-loop: the DiT's residual stream, f32 or bf16 (with --dtype bf16)", "f32")
        .flag("flows", "edit-loop: also write every pass's flow");
}

void run_tensor_edit_loop(TensorRunContext& ctx) {
    torch::NoGradGuard no_grad;
    const auto in = io::read_safetensors(ctx.args.get("in"));
    auto get = [&](const std::string& name) -> const torch::Tensor& {
        auto it = in.find(name);
        LIPAR_CHECK(it != in.end(), StatusCode::NotFound, "input file lacks tensor '", name, "'");
        return it->second;
    };
    const std::string pack_dir = ctx.args.get("pack");
    LIPAR_CHECK(ctx.args.has("weights") || !pack_dir.empty(), StatusCode::InvalidArgument,
                "--weights or --pack is required");
    const auto z = get("z").to(torch::kFloat32);
    LIPAR_CHECK(z.dim() == 4, StatusCode::ShapeMismatch, "z must be [C, F, h, w], got ",
                shape_string(z.sizes()));

    pipeline::ModelPack pack;
    pack.name = "edit-loop";
    pack.dit_weights = ctx.args.get("weights");
    pack.dit_head_dim = ctx.args.get_int("head-dim");
    torch::Tensor context;
    if (!pack_dir.empty()) {
        // A trained pack: its DiT, and the prompt through its own text encoder.
        const auto trained = pipeline::ModelPack::load(pack_dir);
        pack.dit_weights = trained.dit_weights;
        pack.dit_head_dim = trained.dit_head_dim;
        const auto dit_weights = io::read_safetensors(trained.dit_weights);
        const auto te = dit_weights.find("text_embedding.0.weight");
        LIPAR_CHECK(te != dit_weights.end(), StatusCode::FormatError, "'", trained.dit_weights,
                    "' has no text_embedding.0.weight");
        context = pipeline::make_conditioner(trained, te->second.size(1), torch::kCPU, "")
                      ->embed(ctx.args.get("prompt"))
                      .to(torch::kCPU, torch::kFloat32);
    } else {
        context = get("context").to(torch::kFloat32);
    }
    if (context.dim() == 2) context = context.unsqueeze(0);
    pack.shift = ctx.args.get_double("shift");
    pack.steps = number_list(ctx.args.get("steps"), "--steps");
    pack.frames_per_block = ctx.args.get_int("frames-per-block");
    pack.width = static_cast<int>(z.size(3)) * 8;
    pack.height = static_cast<int>(z.size(2)) * 8;
    pack.multiple = 8;
    pipeline::EditorSettings s;
    s.device = ctx.device;
    s.dtype = ctx.dtype;
    s.latents_only = true;
    s.keep_latents = true;  // BlockReport::keep: the masks are written out
    s.bf16_residual = bf16_residual(ctx.args, ctx.dtype);
    s.window = model::KvWindow{ctx.args.get_int("sink"), ctx.args.get_int("recent")};
    s.make_conditioner = [&] { return std::make_unique<FixedContext>(context); };
    s.noise = [&](int64_t block, int64_t step, c10::IntArrayRef sizes) {
        const auto& n = get("noise_b" + std::to_string(block) + "_s" + std::to_string(step));
        LIPAR_CHECK(n.sizes() == sizes, StatusCode::ShapeMismatch, "noise of block ", block,
                    " step ", step, " is ", shape_string(n.sizes()), ", expected ",
                    shape_string(sizes));
        return n;
    };
    s.kept_bucket = 0;  // parity: the masks LIPAR detects, exactly
    s.keep = [&](int64_t block) {
        auto it = in.find("keep_b" + std::to_string(block));
        return it == in.end() ? torch::Tensor() : it->second;
    };
    io::TensorMap out;
    const bool flows = ctx.args.flag_set("flows");
    s.on_flow = [&](int64_t block, int64_t pass, const torch::Tensor& flow) {
        if (flows)
            out["flow_b" + std::to_string(block) + "_p" + std::to_string(pass)] =
                flow.to(torch::kCPU, torch::kFloat32).contiguous();
    };
    pipeline::Editor editor(pack, s);
    EditParams p;
    p.mode = parse_edit_mode(ctx.args.get("mode"));
    LIPAR_CHECK(p.mode == EditMode::Off || p.mode == EditMode::Naive || p.mode == EditMode::Lipar,
                StatusCode::InvalidArgument, "--mode must be off, naive or lipar");
    p.tau1 = ctx.args.get_double("tau1");
    p.tau2 = ctx.args.get_double("tau2");
    p.detection = parse_detection_filters(ctx.args.get("detection"));
    LIPAR_CHECK(p.detection != DetectionFilters::Invalid, StatusCode::InvalidArgument,
                "--detection must be lookahead, causal or authors-stream");
    editor.set_params(p);
    const int64_t fpb = pack.frames_per_block;
    LIPAR_CHECK(z.size(1) % fpb == 0, StatusCode::InvalidArgument, "latent frames (", z.size(1),
                ") must be a multiple of --frames-per-block (", fpb, ")");
    std::vector<torch::Tensor> x0;
    for (int64_t b = 0; b * fpb < z.size(1); ++b) {
        x0.push_back(editor.edit_latents(z.narrow(1, b * fpb, fpb)).squeeze(0).to(torch::kCPU));
        // naive / lipar: the mask the block used (detected, or the given one), so that a
        // reference can be run with LIPAR's own masks
        if (p.mode != EditMode::Off)
            out["keep_b" + std::to_string(b)] = editor.last_report().keep.contiguous();
        // The block's loop (detection, the denoising passes, the cache pass), timed between device
        // synchronisations: tests/gpu/edit_loop_reference.py --time reads these lines.
        std::printf("edit-loop block %lld: %.2f ms\n", static_cast<long long>(b),
                    editor.last_report().detect_ms + editor.last_report().denoise_ms);
    }
    out["x0"] = torch::cat(x0, 1).contiguous();
    out["context"] = context.contiguous();
    io::write_safetensors(ctx.args.get("out"), out);
}

}  // namespace lipar::cli
