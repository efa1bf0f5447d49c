#!/usr/bin/env python3
"""Reference tensors for the UMT5 text-encoder parity check (tests/gpu/t5_parity.sh).

Builds a small random UMT5EncoderModel with Hugging Face transformers (vocab 512, d_model 64,
4 heads x 16, 3 layers, d_ff 128, 32 buckets, seed 0) and writes into DIR (argv[1]):
  hf/                        save_pretrained (safetensors, sharded: model.safetensors.index.json)
  umt5.safetensors           one file; the embedding saved as encoder.embed_tokens.weight
  wan_t5.pth                 torch.save of the same weights under Wan's T5Encoder names (f32)
  wan_t5_bf16.pth            the same in bf16, as Wan releases models_t5_umt5-xxl-enc-bf16.pth
  IN.safetensors             ids int64 [2, 200], mask int64 [2, 200] (row 1: 77 real tokens)
  REF.safetensors            hidden = last_hidden_state (f32) of the f32 model
  REF_BF16W.safetensors      hidden of the model whose weights were rounded to bf16 (computed f32)
"""
import os
import sys
from collections import OrderedDict

import torch
from safetensors.torch import save_file
from transformers import UMT5Config, UMT5EncoderModel


def wan_name(hf: str) -> str:
    if hf in ("shared.weight", "encoder.embed_tokens.weight"):
        return "token_embedding.weight"
    if hf == "encoder.final_layer_norm.weight":
        return "norm.weight"
    parts = hf.split(".")  # encoder.block.N.<rest>
    assert parts[0] == "encoder" and parts[1] == "block", hf
    index, rest = parts[2], ".".join(parts[3:])
    table = {
        "layer.0.layer_norm.weight": "norm1.weight",
        "layer.0.SelfAttention.q.weight": "attn.q.weight",
        "layer.0.SelfAttention.k.weight": "attn.k.weight",
        "layer.0.SelfAttention.v.weight": "attn.v.weight",
        "layer.0.SelfAttention.o.weight": "attn.o.weight",
        "layer.0.SelfAttention.relative_attention_bias.weight": "pos_embedding.embedding.weight",
        "layer.1.layer_norm.weight": "norm2.weight",
        "layer.1.DenseReluDense.wi_0.weight": "ffn.gate.0.weight",
        "layer.1.DenseReluDense.wi_1.weight": "ffn.fc1.weight",
        "layer.1.DenseReluDense.wo.weight": "ffn.fc2.weight",
    }
    return f"blocks.{index}.{table[rest]}"


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    config = UMT5Config(
        vocab_size=512, d_model=64, num_heads=4, d_kv=16, num_layers=3, num_decoder_layers=3,
        d_ff=128, relative_attention_num_buckets=32, relative_attention_max_distance=128,
        feed_forward_proj="gated-gelu", dropout_rate=0.0, layer_norm_epsilon=1e-6)
    assert config.dense_act_fn == "gelu_new" and config.is_gated_act
    model = UMT5EncoderModel(config).eval()
    with torch.no_grad():
        # Non-trivial norms and position biases, so that a wrong norm or bucket shows.
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif "relative_attention_bias" in name:
                p.copy_(0.5 * torch.randn_like(p))

    batch, length = 2, 200  # longer than max_distance: every bucket is used
    ids = torch.randint(0, config.vocab_size, (batch, length), dtype=torch.int64)
    mask = torch.ones(batch, length, dtype=torch.int64)
    mask[1, 77:] = 0
    save_file({"ids": ids, "mask": mask}, os.path.join(out, "IN.safetensors"))

    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    save_file({"hidden": hidden.contiguous()}, os.path.join(out, "REF.safetensors"))

    model.save_pretrained(os.path.join(out, "hf"), safe_serialization=True, max_shard_size="200KB")
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    single = {k: v for k, v in state.items() if k != "shared.weight"}
    single["encoder.embed_tokens.weight"] = state["shared.weight"]
    save_file(single, os.path.join(out, "umt5.safetensors"))

    wan = OrderedDict()  # torch.save(model.state_dict()) as Wan did
    for k, v in state.items():
        if k == "encoder.embed_tokens.weight":
            continue
        wan[wan_name(k)] = v
    torch.save(wan, os.path.join(out, "wan_t5.pth"))
    torch.save(OrderedDict((k, v.to(torch.bfloat16)) for k, v in wan.items()),
               os.path.join(out, "wan_t5_bf16.pth"))

    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).float())
        hidden_bf16w = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    save_file({"hidden": hidden_bf16w.contiguous()}, os.path.join(out, "REF_BF16W.safetensors"))
    print(f"wrote reference tensors to {out}: hidden {tuple(hidden.shape)}, "
          f"{len(state)} tensors, transformers UMT5EncoderModel")


if __name__ == "__main__":
    main()
