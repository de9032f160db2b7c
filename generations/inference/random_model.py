"""Z-Image pipelines with random weights, built locally: a tiny one for the CPU
tests and the CI benchmark, and the published full-size architecture for GPU
timing (speed does not depend on the weight values). Nothing is downloaded.

The tokenizer is byte-level BPE without merges (one token per UTF-8 byte), so
any prompt tokenizes and different prompts give different tokens; it carries a
chat template because the pipeline wraps every prompt in one.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3Model

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Shapes from diffusers' own z_image pipeline tests, except the VAE: two
# levels make its scale factor 2, so a multiple-of-16 size decodes to exactly
# that size. axes_lens[0] covers a caption of 512 tokens (the pipeline's
# max_sequence_length); axes_lens[1:] allow 64 latent patches a side (256 px).
TINY = {
    "transformer": dict(
        dim=32,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        cap_feat_dim=16,
        axes_dims=[8, 4, 4],
        axes_lens=[1024, 64, 64],
    ),
    "text_encoder": dict(
        hidden_size=16,
        intermediate_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
    ),
    "vae": dict(
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        block_out_channels=[32, 64],
        layers_per_block=1,
    ),
}

# The published Z-Image-Turbo configs: the transformer's defaults are the 6B
# model (dim 3840, 30 layers); the text encoder is Qwen3-4B (its real vocabulary
# size, so memory is right, though the byte tokenizer uses only 261 ids); the
# VAE is Flux's.
FULL = {
    "transformer": {},
    "text_encoder": dict(
        vocab_size=151936,
        hidden_size=2560,
        intermediate_size=9728,
        num_hidden_layers=36,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=40960,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
    ),
    "vae": dict(
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        block_out_channels=[128, 256, 512, 512],
        layers_per_block=2,
        sample_size=1024,
        use_quant_conv=False,
        use_post_quant_conv=False,
    ),
}


def byte_tokenizer() -> PreTrainedTokenizerFast:
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIAL_TOKENS)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<|endoftext|>", eos_token="<|im_end|>", chat_template=CHAT_TEMPLATE
    )


def build_pipeline(
    config: dict, device: str = "cpu", dtype: torch.dtype = torch.float32, seed: int = 0
) -> ZImagePipeline:
    """Construct every module directly on `device` in `dtype`, so a full-size
    model is initialised by the GPU instead of being copied there."""
    tokenizer = byte_tokenizer()
    torch.manual_seed(seed)
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            transformer = ZImageTransformer2DModel(**config["transformer"])
            # The pad tokens are created with torch.empty; garbage there can be NaN.
            with torch.no_grad():
                transformer.x_pad_token.normal_(std=0.02)
                transformer.cap_pad_token.normal_(std=0.02)
            text_encoder = Qwen3Model(Qwen3Config(**{"vocab_size": len(tokenizer), **config["text_encoder"]}))
            vae = AutoencoderKL(
                latent_channels=16, scaling_factor=0.3611, shift_factor=0.1159, **config["vae"]
            )
    finally:
        torch.set_default_dtype(default_dtype)
    scheduler = FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False
    )
    return ZImagePipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )
