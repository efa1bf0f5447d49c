#pragma once
// Prompts for training the Nano pack's text path: every style's phrasings placed in sentence
// templates, optionally with a description of the scene, plus scene descriptions that name no
// style (they mean "keep the video as it is": the documented behaviour of an unknown prompt).
// Held-out phrasings and templates are never sampled for training; tests use them as paraphrases.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "train/styles.h"

namespace lipar::train {

struct StylePrompt {
    std::string text;
    Style style = Style::Invalid;
};

class PromptSampler {
public:
    explicit PromptSampler(uint64_t seed);
    // A random training prompt for `style` (Original also draws scene-only prompts).
    StylePrompt sample(Style style);
    // Every prompt the sampler can produce for one style (for the tokenizer corpus).
    static std::vector<std::string> all_training_prompts();
    // Prompts that never occur in training, with the style they should give.
    static std::vector<StylePrompt> held_out_prompts();

private:
    std::mt19937_64 m_rng;
};

// Scene descriptions without a style word ("a dog running on grass").
const std::vector<std::string>& scene_descriptions();

}  // namespace lipar::train
