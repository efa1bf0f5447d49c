"""LIPAR's naive and lipar modes written out in Python on Self-Forcing's CausalWanModel, for the
end-to-end parity of `lipar tensor edit-loop --mode naive|lipar` (edit_loop_reference.py --pruned).

Self-Forcing has no pruning and the LIPAR authors' code is not on these machines, so this is a
second, independent implementation of the semantics the product documents (../shared/docs/LIPAR.md
sections 2-3 and docs/LIPAR_DETECTION.md), built from the reference model's own submodules
(patch embedding, time embedding and projection, text embedding, each block's norms, q/k/v/o,
q/k RMS norms, cross-attention and FFN, the head) and its RoPE frequency table:

- the keep mask of a block [f, h, w] (given, the same file the C++ side reads) selects the kept
  tokens right after patch embedding; every block and the head run on them alone, RoPE at each
  kept token's own (frame, h, w);
- naive: the block's K/V are the kept tokens' alone (committed frames then hold fewer tokens);
- lipar (Attention Recovery): when every pruned location has a clean reference, the block's K/V
  are full length: kept slots computed, pruned slots filled with the reference's clean pre-RoPE
  key rotated at the slot's own position and its clean value; the reference holds, per location
  and layer, the post-norm_k pre-RoPE key and the value of the last t = 0 pass that kept the
  location (a block's last kept frame wins), refreshed after that pass's fill;
- the KV cache keeps the sink frames and the most recent frames (committed frames counted, the
  current block on top), as the pipeline's local_attn_size does;
- restoration: after each denoising pass, a pruned token's x0 is the x0 at the same location of
  the previous latent frame (the block's first frame: the previous block's last x0).

The denoising loop itself stays Self-Forcing's CausalInferencePipeline: install() replaces only
the generator's model call (and restores x0 after its flow -> x0 conversion).
"""
import torch

from wan.modules.model import sinusoidal_embedding_1d


class PrunedStream:
    def __init__(self, model, mode, keeps, sink, recent, attention, restore_from="previous_frame"):
        assert mode in ("off", "naive", "lipar")
        # restore_from: "previous_frame" (the product: frame f from frame f - 1, the block's first
        # frame from the previous block's last) or "previous_block" (the later version of the
        # authors' code: every pruned token of the block from the previous block's last frame)
        assert restore_from in ("previous_frame", "previous_block")
        self.restore_from = restore_from
        self.m, self.mode, self.keeps = model, mode, keeps
        self.sink, self.recent, self.attention = sink, recent, attention
        self.frames = []        # committed frames: (per-layer K list, per-layer V list), RoPE'd keys
        self.ref_k = self.ref_v = None   # per layer [B, h*w, H, D]
        self.ref_valid = None   # bool [h*w]
        self.prev_last = None   # previous block's last x0 [B, C, H, W] (pipeline layout frames)
        self.blocks_seen = 0

    # RoPE of Wan at explicit (frame, h, w) positions, in float64 as causal_rope_apply does.
    def rope(self, x, pos):
        c = x.size(3) // 2
        freqs = self.m.freqs.to(x.device)
        fr = freqs.split([c - 2 * (c // 3), c // 3, c // 3], dim=1)
        table = torch.cat([fr[0][pos[:, 0]], fr[1][pos[:, 1]], fr[2][pos[:, 2]]], dim=-1)  # [n, c]
        xc = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:3], c, 2))
        return torch.view_as_real(xc * table.view(1, -1, 1, c)).flatten(3).type_as(x)

    def forward(self, x, t, context, block, commit):
        """x [B, C, f, H, W] at timestep t [B]; returns the flow [B, C, f, H, W] (zero where pruned)."""
        m = self.m
        b = x.size(0)
        keep = self.keeps[block].to(x.device)
        f, gh, gw = keep.shape
        hw = gh * gw
        if self.mode == "off":
            keep = torch.ones_like(keep)
        flat = keep.flatten()
        kept = flat.nonzero().squeeze(1)
        pruned = (~flat).nonzero().squeeze(1)
        fi = torch.arange(f * hw, device=x.device)
        pos = torch.stack([block * f + fi // hw, (fi % hw) // gw, fi % gw], dim=1)
        recover = (self.mode == "lipar" and pruned.numel() > 0 and self.ref_valid is not None
                   and bool(self.ref_valid[pruned % hw].all()))

        tokens = m.patch_embedding(x).flatten(2).transpose(1, 2)  # [B, N, dim]
        xk = tokens[:, kept]
        e = m.time_embedding(sinusoidal_embedding_1d(m.freq_dim, t.flatten()).type_as(xk))  # [B, dim]
        e0 = m.time_projection(e).unflatten(1, (6, m.dim))  # [B, 6, dim]
        ctx = m.text_embedding(torch.stack([torch.cat([u, u.new_zeros(m.text_len - u.size(0), u.size(1))])
                                            for u in context]))
        staged_k, staged_v, fresh_k, fresh_v = [], [], [], []
        for li, blk in enumerate(m.blocks):
            mod = (blk.modulation + e0).chunk(6, dim=1)  # six [B, 1, dim]
            sa = blk.self_attn
            h = blk.norm1(xk) * (1 + mod[1]) + mod[0]
            n, heads, d = h.size(1), sa.num_heads, sa.head_dim
            q = sa.norm_q(sa.q(h)).view(b, n, heads, d)
            k = sa.norm_k(sa.k(h)).view(b, n, heads, d)
            v = sa.v(h).view(b, n, heads, d)
            q_r, k_r = self.rope(q, pos[kept]), self.rope(k, pos[kept])
            if recover:
                loc = pruned % hw
                K = k_r.new_zeros(b, f * hw, heads, d)
                V = v.new_zeros(b, f * hw, heads, d)
                K[:, kept], V[:, kept] = k_r, v
                K[:, pruned] = self.rope(self.ref_k[li][:, loc], pos[pruned])
                V[:, pruned] = self.ref_v[li][:, loc]
            else:
                K, V = k_r, v
            keys = torch.cat([fr[0][li] for fr in self.frames] + [K], dim=1)
            values = torch.cat([fr[1][li] for fr in self.frames] + [V], dim=1)
            y = sa.o(self.attention(q_r, keys, values).flatten(2))
            xk = xk + y * mod[2]
            xk = xk + blk.cross_attn(blk.norm3(xk), ctx, None)
            xk = xk + blk.ffn(blk.norm2(xk) * (1 + mod[4]) + mod[3]) * mod[5]
            staged_k.append(K); staged_v.append(V); fresh_k.append(k); fresh_v.append(v)
        hm = (m.head.modulation + e.unsqueeze(1)).chunk(2, dim=1)  # [B, 1, dim] each
        out_k = m.head.head(m.head.norm(xk) * (1 + hm[1]) + hm[0])
        out = out_k.new_zeros(b, f * hw, out_k.size(2))
        out[:, kept] = out_k
        if commit:
            self.commit(keep, kept, recover or self.mode == "off", staged_k, staged_v, fresh_k, fresh_v, hw)
        return torch.stack(m.unpatchify(out, torch.tensor([[f, gh, gw]] * b)))

    def commit(self, keep, kept, full, staged_k, staged_v, fresh_k, fresh_v, hw):
        f = keep.size(0)
        per_frame = keep.flatten(1).sum(1).tolist()
        offset = 0
        for fr in range(f):
            n = hw if full else int(per_frame[fr])
            self.frames.append(([k[:, offset:offset + n] for k in staged_k],
                                [v[:, offset:offset + n] for v in staged_v]))
            offset += n
        if len(self.frames) > self.sink + self.recent:  # evict the oldest frames after the sink
            self.frames = self.frames[:self.sink] + self.frames[len(self.frames) - self.recent:]
        if self.mode == "off":
            return
        # clean reference: every location kept somewhere in the block, its last kept frame wins
        b, heads, d = fresh_k[0].size(0), fresh_k[0].size(2), fresh_k[0].size(3)
        if self.ref_k is None:
            self.ref_k = [torch.zeros(b, hw, heads, d, dtype=k.dtype, device=k.device) for k in fresh_k]
            self.ref_v = [torch.zeros(b, hw, heads, d, dtype=v.dtype, device=v.device) for v in fresh_v]
            self.ref_valid = torch.zeros(hw, dtype=torch.bool, device=keep.device)
        frame_of_kept, loc_of_kept = kept // hw, kept % hw
        for fr in range(f):  # in frame order: a later kept frame overwrites an earlier one
            rows = (frame_of_kept == fr).nonzero().squeeze(1)
            locs = loc_of_kept[rows]
            for li in range(len(fresh_k)):
                self.ref_k[li][:, locs] = fresh_k[li][:, rows]
                self.ref_v[li][:, locs] = fresh_v[li][:, rows]
        self.ref_valid[loc_of_kept] = True

    def restore(self, x0, block):
        """x0 [B, f, C, H, W] (pipeline layout) of a denoising pass: pruned tokens from the previous frame."""
        keep = self.keeps[block].to(x0.device)
        if self.mode == "off" or bool(keep.all()):
            return x0
        ph = x0.size(3) // keep.size(1)
        pw = x0.size(4) // keep.size(2)
        px = keep.repeat_interleave(ph, 1).repeat_interleave(pw, 2)  # [f, H, W]
        out = x0.clone()
        for fr in range(keep.size(0)):
            if bool(keep[fr].all()):
                continue
            # "previous_block" (the authors' later code): from the previous block's last frame;
            # in the stream's first block there is none, so from the previous frame like ours.
            use_frame = fr > 0 and (self.restore_from == "previous_frame" or self.prev_last is None)
            prev = out[:, fr - 1] if use_frame else self.prev_last
            assert prev is not None, "restoration of a block's first frame needs the previous block"
            out[:, fr] = torch.where(px[fr].view(1, 1, *px.shape[1:]), out[:, fr], prev)
        return out


def install(gen, stream, frames_per_block, frame_seq_length):
    """Routes the generator's model calls through `stream` and restores x0 after denoising passes."""
    wrapper_cls = type(gen)

    def forward(self, noisy_image_or_video, conditional_dict, timestep, kv_cache=None,
                crossattn_cache=None, current_start=None, cache_start=None, **kw):
        block = current_start // (frames_per_block * frame_seq_length)
        t = timestep[:, 0]
        commit = bool((t == 0).all())
        x = noisy_image_or_video.permute(0, 2, 1, 3, 4)  # [B, C, f, H, W]
        flow_pred = stream.forward(x, t, conditional_dict["prompt_embeds"], block, commit).permute(0, 2, 1, 3, 4)
        pred_x0 = self._convert_flow_pred_to_x0(flow_pred=flow_pred.flatten(0, 1),
                                                xt=noisy_image_or_video.flatten(0, 1),
                                                timestep=timestep.flatten(0, 1)).unflatten(0, flow_pred.shape[:2])
        if commit:
            stream.prev_last = noisy_image_or_video[:, -1]  # the block's final (restored) x0
        else:
            pred_x0 = stream.restore(pred_x0, block)
        return flow_pred, pred_x0

    gen.forward = forward.__get__(gen, wrapper_cls)
    return gen
